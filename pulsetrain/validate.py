"""The validation layer every command goes through before it does any work.

:mod:`pulsetrain.cli` hands each subcommand's parsed options to :func:`validate_command` before the
command runs. The checks are chosen by option *name*, so a new command gets them by naming its options
like the others (``json_path``, ``out_dir``, ``config_file``, ``scheduler``, ...):

- output files and folders: given, not the wrong kind, their parent folder existing, and writable
  (probed by creating and removing a file, which also catches read-only file systems where ``root``
  passes every permission check);
- input text files (``--config``, ``--tech``, ``--pulse-counts``, ``--accuracy``): readable UTF-8 text,
  then parsed and their numbers checked;
- a Dask scheduler address: parsed, and a TCP connection opened within :data:`SCHEDULER_TIMEOUT_S`;
- lists given on the command line: decimal integers, no empty item, no repeated seed or name.

The per-field checks of configs stay with the configs (``__post_init__``); the type conversion of
``--set`` and TOML values is strict (:func:`pulsetrain.config.apply_overrides`). Every refusal is a
:class:`~pulsetrain.config.ConfigError`, which the CLI prints as one line with exit status 2.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pulsetrain.config import ConfigError

#: seconds a scheduler has to accept a TCP connection before the command is refused
SCHEDULER_TIMEOUT_S = 3.0
#: Dask address schemes whose host and port can be probed with a TCP connection
SCHEDULER_SCHEMES = ("tcp", "tls")
#: largest input text file read (configs, technology tables, pulse counts are a few kB)
MAX_TEXT_BYTES = 16 * 2**20

_DECIMAL_INT = re.compile(r"[+-]?[0-9]+")


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def _probe_writable(option: str, folder: Path, shown: str) -> None:
    """Create and remove a file in ``folder``; refuse ``shown`` if that fails."""
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".pulsetrain-probe-")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"{option} {shown!r} is not writable: {reason}") from None
    os.close(handle)
    os.unlink(name)


def check_output_file(option: str, path: str | Path) -> Path:
    """Refuse an output file path that is empty, a folder, under a missing folder or not writable."""
    text = str(path)
    if not text.strip() or "\0" in text:
        raise ConfigError(f"{option} must name a file, not {text!r}")
    target = Path(text)
    if target.is_dir():
        raise ConfigError(f"{option} {text!r} is a folder; give a file name")
    if target.exists() and not target.is_file():
        raise ConfigError(f"{option} {text!r} exists and is not a regular file")
    parent = target.parent
    if not parent.is_dir():
        raise ConfigError(f"{option} {text!r}: its folder {str(parent)!r} does not exist")
    _probe_writable(option, parent, text)
    return target


def check_output_dir(option: str, path: str | Path) -> Path:
    """Refuse an output folder that is empty, a file (or under one), or not creatable / writable."""
    text = str(path)
    if not text.strip() or "\0" in text:
        raise ConfigError(f"{option} must name a folder, not {text!r}")
    target = Path(text)
    existing = target
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == target else f"is under the file {str(existing)!r}"
        raise ConfigError(f"{option} {text!r} {where}; give a folder")
    _probe_writable(option, existing, text)
    return target


def read_text_file(option: str, path: str | Path) -> str:
    """The content of an input text file: it must exist and be UTF-8 text (no NUL bytes)."""
    file = Path(path)
    if not file.is_file():
        what = "is not a regular file" if file.exists() else "does not exist"
        raise ConfigError(f"{option} file {str(file)!r} {what}")
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_TEXT_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{option} file {str(file)!r} cannot be read: {error.strerror}") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise ConfigError(f"{option} file {str(file)!r} is larger than {MAX_TEXT_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{option} file {str(file)!r} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset "
            f"{error.start})"
        ) from None
    if "\0" in text:
        raise ConfigError(f"{option} file {str(file)!r} is binary (holds NUL bytes), not text")
    return text


def read_toml_file(option: str, path: str | Path) -> dict[str, Any]:
    """An input TOML file as nested tables (UTF-8 checked, syntax errors one line)."""
    text = read_text_file(option, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{option} file {str(path)!r} is not valid TOML: {error}") from None


def read_json_file(option: str, path: str | Path) -> Any:
    """An input JSON file (UTF-8 checked); NaN and infinity literals are refused (not JSON)."""
    text = read_text_file(option, path)

    def refuse_constant(name: str) -> Any:
        raise ConfigError(f"{option} file {str(path)!r} holds {name}, which is not a number")

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{option} file {str(path)!r} is not JSON: {error}") from None


# --------------------------------------------------------------------------------------------------
# Numbers and lists
# --------------------------------------------------------------------------------------------------


def check_number(
    name: str, value: Any, low: float | None = None, high: float | None = None, *, integer: bool = False
) -> float:
    """A real, finite number (no bool, no string) within ``[low, high]``; returned as float."""
    kind = "an integer" if integer else "a finite number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be {kind}, not {value!r}")
    if not math.isfinite(value) or (integer and not float(value).is_integer()):
        raise ConfigError(f"{name} must be {kind}, not {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ConfigError(f"{name} must be in [{lo}, {hi}], not {value!r}")
    return float(value)


def split_items(option: str, text: str, *, unique: bool = False) -> list[str]:
    """``"a,b,c"`` as its items: none empty, and (``unique``) none repeated."""
    items = [item.strip() for item in str(text).split(",")]
    if any(not item for item in items):
        raise ConfigError(f"{option} must be a comma list without empty items, not {text!r}")
    if unique and len(set(items)) != len(items):
        repeated = sorted({item for item in items if items.count(item) > 1})
        raise ConfigError(f"{option} repeats {', '.join(repeated)}: {text!r}")
    return items


def parse_int_list(
    option: str, text: str, *, low: int | None = None, high: int | None = None, unique: bool = False
) -> tuple[int, ...]:
    """A comma list of decimal integers in ``[low, high]`` (no hex, no empty item, ``unique`` if asked)."""
    values = []
    for item in split_items(option, text, unique=unique):
        if not _DECIMAL_INT.fullmatch(item):
            raise ConfigError(f"{option} must be decimal integers separated by commas, not {text!r}")
        value = int(item, 10)
        if (low is not None and value < low) or (high is not None and value > high):
            lo = "-inf" if low is None else str(low)
            hi = "inf" if high is None else str(high)
            raise ConfigError(f"{option} values must be integers in {lo}..{hi}, not {value} (in {text!r})")
        values.append(value)
    if unique and len(set(values)) != len(values):
        raise ConfigError(f"{option} repeats a value: {text!r}")
    return tuple(values)


# --------------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------------

#: peak bytes held per weight while training: tracemalloc's peak over ``create_algorithm`` and three
#: ``train_batch`` calls of 4 samples on a 64-400-10 network, divided by its 30,010 weights (measured
#: 2026-12-04 at commit f7a20dc): fp 24, sgd 229, dfa 259, sbe 230, TTv2 family 458..463. Rounded up;
#: the tiki-taka family holds two arrays (A and C) and H per weight.
BYTES_PER_WEIGHT: dict[str, int] = {"fp": 32, "ttv2": 480, "c-ttv2": 480, "agad": 480}
#: the same for every other (single-array analog) algorithm
BYTES_PER_WEIGHT_DEFAULT = 270


def available_memory_bytes() -> int:
    """Memory this machine can still give (``MemAvailable`` of /proc/meminfo, else free pages)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _size_text(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def check_network_fits(algo: str, sizes: Sequence[int], *, available: int | None = None) -> None:
    """Refuse a network whose training state would not fit in the memory available now."""
    weights = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False))
    per_weight = BYTES_PER_WEIGHT.get(algo, BYTES_PER_WEIGHT_DEFAULT)
    needed = weights * per_weight
    free = available_memory_bytes() if available is None else available
    if needed > free:
        shape = "-".join(str(size) for size in sizes)
        raise ConfigError(
            f"network {shape} needs about {_size_text(needed)} to train with {algo} ({weights:.3g} weights "
            f"x {per_weight} bytes); {_size_text(free)} of memory is available"
        )


def check_batch_fits(batch_size: int, n_train: int) -> None:
    """Refuse a batch larger than the training set (every step would repeat a short batch)."""
    if batch_size > n_train:
        raise ConfigError(f"batch_size must be at most the {n_train} training samples, not {batch_size}")


# --------------------------------------------------------------------------------------------------
# Dask scheduler
# --------------------------------------------------------------------------------------------------


def check_scheduler(address: str, *, timeout_s: float = SCHEDULER_TIMEOUT_S) -> str:
    """Refuse a scheduler address that does not parse or does not accept a connection in ``timeout_s``.

    Accepted: ``tcp://host:port`` or ``tls://host:port`` (``host:port`` means tcp). ``inproc://``
    addresses (a scheduler inside this process) are passed through unprobed.
    """
    text = str(address).strip()
    if text.startswith("inproc://"):
        return text
    allowed = "an address such as tcp://127.0.0.1:8786"
    if not text:
        raise ConfigError(f"--scheduler must be {allowed}, not {address!r}")
    try:
        parts = urlsplit(text if "://" in text else f"tcp://{text}")
        port = parts.port
    except ValueError:  # "[" is an unterminated IPv6 host, "tcp://h:x" a port that is no number
        raise ConfigError(f"--scheduler must be {allowed}, not {address!r}") from None
    if parts.scheme not in SCHEDULER_SCHEMES or not parts.hostname or port is None or parts.path:
        raise ConfigError(f"--scheduler must be {allowed} (scheme tcp or tls), not {address!r}")
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            pass
    except OSError as error:
        reason = "timed out" if isinstance(error, TimeoutError) else error.strerror or str(error)
        raise ConfigError(
            f"--scheduler {text!r} cannot be reached within {timeout_s:g} s ({reason}); "
            "is a `dask scheduler` running there?"
        ) from None
    return text


# --------------------------------------------------------------------------------------------------
# Contents of input files
# --------------------------------------------------------------------------------------------------


def _walk_numbers(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk_numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_numbers(item, f"{path}[{index}]")
    else:
        yield path, value


def check_pulse_counts_file(path: str | Path) -> None:
    """Pulse counts: per-layer lists of finite numbers >= 0 under the keys the estimator reads."""
    data = read_json_file("--pulse-counts", path)
    section = data.get("pulse_counts", data) if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise ConfigError(f"--pulse-counts file {str(path)!r} must hold a JSON object")
    required = ("coincidences_per_sample", "line_pulses_per_sample")
    for key in (*required, "c_coincidences_per_sample"):
        if key not in section:
            if key in required:
                raise ConfigError(f"--pulse-counts file {str(path)!r} needs the list {key}")
            continue
        values = section[key]
        if not isinstance(values, list) or (key in required and not values):
            raise ConfigError(
                f"--pulse-counts {key} in {str(path)!r} must be a list of counts per layer, not {values!r}"
            )
        for index, count in enumerate(values):
            check_number(f"--pulse-counts {key}[{index}] in {str(path)!r}", count, 0.0)


def check_accuracy_file(path: str | Path) -> None:
    """Accuracies: a JSON object algorithm -> fraction in [0, 1]."""
    data = read_json_file("--accuracy", path)
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"--accuracy file {str(path)!r} must be a JSON object algorithm -> accuracy")
    for name, value in data.items():
        check_number(f"--accuracy {name} in {str(path)!r}", value, 0.0, 1.0)


def check_network_text(text: str) -> tuple[int, ...]:
    """``64-32-10``: at least two decimal layer sizes >= 1 joined by single dashes; or a named convolutional
    network the estimator maps (``lenet5``, ``vgg8``: no sizes, returns ``()``)."""
    if text.strip() in ("lenet5", "vgg8"):
        return ()
    if not re.fullmatch(r"[0-9]+(-[0-9]+)+", text.strip()):
        raise ConfigError(f"--network must be layer sizes joined by '-', like 64-32-10, not {text!r}")
    sizes = tuple(int(part, 10) for part in text.strip().split("-"))
    if min(sizes) < 1:
        raise ConfigError(f"--network layer sizes must be at least 1, not {text!r}")
    return sizes


def check_technology(value: str) -> None:
    """A ``--tech`` that names a file (has a suffix or a slash) must be a UTF-8 TOML file."""
    if "/" in value or Path(value).suffix:
        read_toml_file("--tech", value)


def _check_sweep(spec: str) -> None:
    knob, equals, values = spec.partition("=")
    if equals:
        parse_int_list(f"--sweep {knob}", values, low=1, unique=True)


# --------------------------------------------------------------------------------------------------
# The layer: checks by option name
# --------------------------------------------------------------------------------------------------

#: option name -> the flag users type, for output files
OUTPUT_FILES = {"json_path": "--json", "plot_path": "--plot"}
#: the same for output folders
OUTPUT_DIRS = {"out_dir": "--out", "checkpoint_dir": "--checkpoint-dir", "cache_dir": "--cache-dir"}
#: option name -> reader of an input file, which reads and checks it whole before any work
INPUT_FILES: dict[str, Callable[[str], Any]] = {
    "config_file": lambda path: read_toml_file("--config", path),
    "pulse_counts": check_pulse_counts_file,
    "accuracy_file": check_accuracy_file,
    "technology": check_technology,
}
#: option name -> check of the option's text (lists given on the command line)
TEXT_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "hidden": lambda values: [parse_int_list("--hidden", value) for value in values],
    # "0,1,2", "0, 1, 2" or "0 1 2"
    "seeds": lambda text: parse_int_list(
        "--seeds", text if "," in text else ",".join(text.split()), low=0, unique=True
    ),
    "network": check_network_text,
    "depths": lambda text: parse_int_list("--depths", text, low=1, unique=True),
    "sweep_spec": _check_sweep,
    "block_name": lambda text: split_items("--block", text, unique=True),
    "size": lambda value: check_number("--size", value, 1, integer=True),
    "workers": lambda value: check_number("--workers", value, 1, 1024, integer=True),
}
#: flags after which a command only lists something and writes nothing
LISTING_FLAGS = ("list_blocks", "list_benches")


def validate_command(name: str, params: Mapping[str, Any]) -> None:
    """Check the parsed options of command ``name`` before it runs (ConfigError on the first problem).

    Cheap checks come first (the text of options), then files are read, then the scheduler is probed.
    """
    del name  # the checks follow option names, which every command shares
    present = {key: value for key, value in params.items() if value is not None and value != ()}
    for key, check in TEXT_OPTIONS.items():
        if key in present:
            check(present[key])
    for key, reader in INPUT_FILES.items():
        if key in present:
            reader(present[key])
    if not any(present.get(flag) for flag in LISTING_FLAGS):
        for key, flag in OUTPUT_FILES.items():
            if key in params and params[key] is not None:
                check_output_file(flag, params[key])
        for key, flag in OUTPUT_DIRS.items():
            if key in params and params[key] is not None:
                check_output_dir(flag, params[key])
    if "scheduler" in present:
        check_scheduler(present["scheduler"])
