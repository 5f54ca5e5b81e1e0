"""Running ngspice in batch mode and reading its binary raw file.

Why batch mode (``ngspice -b -r out.raw in.cir``) and not the shared library: measured here with
Debian's ngspice 39.3 / libngspice0 39.3 (see docs/spice/README.md), the batch binary needs no Python
binding, runs each netlist in its own process (the shared library keeps one global circuit per process,
so parallel reads would need one process each anyway), and its raw file is a documented format read
here in a few lines. Debian's build has no KLU solver (``.options klu`` changes nothing), so large
arrays are slow in either mode: the sparse solver's fill-in dominates (measured: 512 rows x 16 columns
2 s, x 32 columns 12 s, x 64 columns 120-140 s, load about 3).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pulsetrain.config import ConfigError

#: Seconds one ngspice run may take before it is stopped.
TIMEOUT_S = 900.0


@dataclass(frozen=True)
class NgspiceInfo:
    """Where ngspice is and which version it is."""

    #: Path of the ``ngspice`` executable.
    path: str
    #: Major version (``39`` for Debian 12's 39.3).
    major: int
    #: The banner line naming the version.
    banner: str


@functools.cache
def ngspice_info() -> NgspiceInfo | None:
    """The ngspice on PATH, or None when there is none (callers skip with a reason)."""
    path = shutil.which("ngspice")
    if path is None:
        return None
    try:
        result = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"ngspice-(\d+)", result.stdout + result.stderr)
    if match is None:
        return None
    banner = next(line for line in (result.stdout + result.stderr).splitlines() if "ngspice-" in line)
    return NgspiceInfo(path=path, major=int(match.group(1)), banner=banner.strip("* ").strip())


def parse_raw(data: bytes) -> dict[str, np.ndarray]:
    """Variables of an ngspice raw file (binary or ASCII, real data), name -> values per point."""
    binary_marker, ascii_marker = b"Binary:\n", b"Values:\n"
    if binary_marker in data:
        header_bytes, body = data.split(binary_marker, 1)
    elif ascii_marker in data:
        header_bytes, body = data.split(ascii_marker, 1)
    else:
        raise ValueError("not an ngspice raw file (no Binary: or Values: section)")
    header = header_bytes.decode("ascii", errors="replace").splitlines()
    fields = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in header if ":" in line}
    if "complex" in fields.get("Flags", ""):
        raise ValueError("complex raw data is not supported (an .op or .dc analysis writes real data)")
    count, points = int(fields["No. Variables"]), int(fields["No. Points"])
    start = header.index("Variables:") + 1
    names = [line.split()[1] for line in header[start : start + count]]
    if binary_marker in data:
        values = np.frombuffer(body, dtype="<f8", count=count * points).reshape(points, count)
    else:
        numbers = [float(token.split()[-1]) for token in body.decode().split("\n") if token.strip()]
        values = np.array(numbers).reshape(points, count)
    return {name: values[:, k].copy() for k, name in enumerate(names)}


def run_netlist(text: str, *, keep_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """Simulate ``text`` with ngspice in batch mode; the saved vectors by name (lower case).

    ``keep_dir``: write the netlist, raw file and log there (for inspection) instead of a temporary
    folder. A missing ngspice is a :class:`~pulsetrain.config.ConfigError`; a failed run a RuntimeError
    with the end of ngspice's log.
    """
    info = ngspice_info()
    if info is None:
        raise ConfigError("ngspice is not installed (Debian: apt-get install ngspice)")
    with tempfile.TemporaryDirectory(prefix="pulsetrain-spice-") as scratch:
        folder = Path(keep_dir) if keep_dir is not None else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        netlist, raw, log = folder / "read.cir", folder / "read.raw", folder / "read.log"
        netlist.write_text(text)
        raw.unlink(missing_ok=True)
        result = subprocess.run(
            [info.path, "-b", "-r", str(raw), str(netlist)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            cwd=folder,
        )
        log.write_text(result.stdout + result.stderr)
        if result.returncode != 0 or not raw.is_file() or "error" in result.stderr.lower():
            tail = (result.stdout + result.stderr)[-800:]
            raise RuntimeError(f"ngspice failed (exit {result.returncode}): {tail}")
        return parse_raw(raw.read_bytes())
