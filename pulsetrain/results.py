"""Result files: JSON written atomically, so an interrupted run never leaves a half-written file."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from pulsetrain.config import to_plain


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a result file gets the usual permissions instead
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def finite_or_null(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(item) for item in value]
    return value


def write_json(path: str | Path, document: Any) -> Path:
    """Write ``document`` (configs and NumPy values allowed) as indented, key-sorted JSON, atomically.

    Strict JSON: a NaN or infinite number (a mean over no runs, a ratio to zero) is written as null.
    """
    plain = finite_or_null(to_plain(document))
    text = json.dumps(plain, indent=2, sort_keys=True, allow_nan=False) + "\n"
    return write_atomic(path, text)
