"""The validation layer: every bad input of the hostile-user tour (issue 18) is refused before any work,
with one line on stderr and exit status 2.

"Before any work" is checked three ways: nothing on stdout (every command prints its first result or
progress line there), no output file or folder created, and, for the slow cases of the tour (a scheduler
where nothing listens, a network too large for memory), a refusal within seconds.
"""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_model_data import write_idx, write_mnist  # tests/ is on sys.path under pytest

from pulsetrain.cli import main
from pulsetrain.config import ConfigError
from pulsetrain.validate import (
    check_network_fits,
    check_output_dir,
    check_output_file,
    check_scheduler,
    parse_int_list,
)

BINARY = bytes(range(256)) * 4
NOT_UTF8 = "title = 'caf\xe9'\n".encode("latin-1")


def refused(args: list[str], fragment: str) -> float:
    """Run ``pulsetrain ARGS``; assert exit 2, exactly one stderr line holding ``fragment``, no stdout."""
    started = time.perf_counter()
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    seconds = time.perf_counter() - started
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.stdout)
    assert len(lines) == 1, lines
    assert lines[0].startswith("pulsetrain: error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing ran
    return seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------------------------------
# Files the cases read: written per test into tmp_path
# --------------------------------------------------------------------------------------------------


def _write(folder: Path, name: str, content: bytes | str) -> str:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


FileCase = Callable[[Path], tuple[list[str], str]]

FILE_CASES: dict[str, FileCase] = {
    # binary or non-UTF-8 input files: one line naming the option and the file (was UnicodeDecodeError)
    "train-config-binary": lambda d: (["train", "--config", _write(d, "c.toml", BINARY)], "--config file"),
    "train-config-latin1": lambda d: (["train", "--config", _write(d, "c.toml", NOT_UTF8)], "not UTF-8"),
    "rtl-config-binary": lambda d: (
        ["rtl", "--block", "lfsr", "--config", _write(d, "c.toml", BINARY), "--out", str(d / "o")],
        "--config file",
    ),
    "synth-config-binary": lambda d: (
        ["synth", "--block", "lfsr", "--config", _write(d, "c.toml", BINARY)],
        "--config file",
    ),
    "report-config-latin1": lambda d: (
        ["report", "--quick", "--out", str(d / "r"), "--config", _write(d, "c.toml", NOT_UTF8)],
        "not UTF-8",
    ),
    "estimate-tech-binary": lambda d: (
        ["estimate", "--no-synthesis", "--tech", _write(d, "t.toml", BINARY)],
        "--tech file",
    ),
    "estimate-pulse-counts-binary": lambda d: (
        ["estimate", "--no-synthesis", "--pulse-counts", _write(d, "p.json", BINARY)],
        "--pulse-counts file",
    ),
    # TOML values of the wrong type (were TypeError / coerced)
    "toml-lr-list": lambda d: (
        ["train", "--config", _write(d, "c.toml", "lr = [1, 2]\n")],
        "lr must be float",
    ),
    "toml-hidden-nested": lambda d: (
        ["train", "--config", _write(d, "c.toml", "[network]\nhidden = [[1, 2]]\n")],
        "network.hidden must be int",
    ),
    "toml-epochs-true": lambda d: (
        ["train", "--config", _write(d, "c.toml", "epochs = true\n")],
        "epochs must be int, not True",
    ),
    "toml-title-5": lambda d: (
        ["report", "--quick", "--out", str(d / "r"), "--config", _write(d, "c.toml", "title = 5\n")],
        "title must be text, not 5",
    ),
    "toml-seeds-repeated": lambda d: (
        [
            "report",
            "--quick",
            "--out",
            str(d / "r"),
            "--config",
            _write(d, "c.toml", "[training]\nseeds = [0, 0]\n"),
        ],
        "training.seeds must not repeat",
    ),
    # pulse counts and accuracies outside what they can be (were used: NaN energy, 500 %)
    "pulse-counts-text": lambda d: (
        [
            "estimate",
            "--no-synthesis",
            "--pulse-counts",
            _write(
                d,
                "p.json",
                '{"coincidences_per_sample": [1, 2], "line_pulses_per_sample": [3, 4], '
                '"c_coincidences_per_sample": "abc"}',
            ),
        ],
        "c_coincidences_per_sample",
    ),
    "pulse-counts-negative": lambda d: (
        [
            "estimate",
            "--no-synthesis",
            "--pulse-counts",
            _write(d, "p.json", '{"coincidences_per_sample": [-1, 2], "line_pulses_per_sample": [3, 4]}'),
        ],
        "coincidences_per_sample[0]",
    ),
    "pulse-counts-nan": lambda d: (
        [
            "estimate",
            "--no-synthesis",
            "--pulse-counts",
            _write(d, "p.json", '{"coincidences_per_sample": [NaN, 2], "line_pulses_per_sample": [3, 4]}'),
        ],
        "NaN",
    ),
    "pulse-counts-infinite": lambda d: (
        [
            "estimate",
            "--no-synthesis",
            "--pulse-counts",
            _write(d, "p.json", '{"coincidences_per_sample": [1e999, 2], "line_pulses_per_sample": [3, 4]}'),
        ],
        "finite",
    ),
    "accuracy-5": lambda d: (
        ["estimate", "--no-synthesis", "--accuracy", _write(d, "a.json", '{"sgd": 5}')],
        "--accuracy sgd",
    ),
    "accuracy-nan": lambda d: (
        ["estimate", "--no-synthesis", "--accuracy", _write(d, "a.json", '{"sgd": NaN}')],
        "NaN",
    ),
    # output paths that cannot take the result: refused before the run (four runs lost their results)
    "json-is-a-folder": lambda d: (["train", "--epochs", "1", "--json", str(d)], "is a folder"),
    "json-empty": lambda d: (["train", "--epochs", "1", "--json", ""], "--json must name a file"),
    "json-missing-parent": lambda d: (
        ["train", "--epochs", "1", "--json", str(d / "missing" / "r.json")],
        "does not exist",
    ),
    "checkpoint-dir-is-a-file": lambda d: (
        ["train", "--epochs", "1", "--checkpoint-dir", _write(d, "f", "x")],
        "--checkpoint-dir",
    ),
    "report-cache-dir-is-a-file": lambda d: (
        ["report", "--quick", "--out", str(d / "r"), "--cache-dir", _write(d, "f", "x")],
        "--cache-dir",
    ),
    "experiment-cache-dir-is-a-file": lambda d: (
        ["experiment", "offset-sweep", "--quick", "--cache-dir", _write(d, "f", "x")],
        "--cache-dir",
    ),
    "rtl-out-unwritable": lambda d: (
        ["rtl", "--block", "lfsr", "--out", "/proc/pulsetrain-rtl"],
        "not writable",
    ),
    "rtl-out-under-a-file": lambda d: (
        ["rtl", "--block", "lfsr", "--out", str(Path(_write(d, "f", "x")) / "rtl")],
        "is under the file",
    ),
    "json-nul-byte": lambda d: (["train", "--json", str(d / "a\0b")], "NUL byte"),
    "synth-json-is-a-folder": lambda d: (["synth", "--block", "lfsr", "--json", str(d)], "is a folder"),
    "report-out-is-a-file": lambda d: (["report", "--quick", "--out", _write(d, "f", "x")], "is a file"),
}


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
def test_bad_file_or_path_is_refused_before_work(case: str, tmp_path: Path) -> None:
    args, fragment = FILE_CASES[case](tmp_path)
    before = sorted(tmp_path.rglob("*"))
    refused(args, fragment)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


ARGUMENT_CASES: dict[str, tuple[list[str], str]] = {
    "lr-inf": (["train", "--lr", "inf"], "lr must be float"),
    "lr-nan-by-set": (["train", "--set", "lr=nan"], "lr must be float"),
    "hidden-empty-item": (["train", "--hidden", "32,,32"], "without empty items"),
    "hidden-hex": (["train", "--hidden", "0x10"], "decimal"),
    "hidden-hex-by-set": (["train", "--set", "network.hidden=0x10"], "network.hidden must be int"),
    "hidden-none-by-set": (["train", "--set", "network.hidden="], "at least one hidden layer"),
    "cosim-hidden-none-by-set": (
        ["cosim", "--algo", "sgd", "--set", "network.hidden="],
        "at least one hidden",
    ),
    "config-not-a-regular-file": (["train", "--config", "/dev/null"], "is not a regular file"),
    "hidden-too-large-for-memory": (["train", "--hidden", "100000,100000"], "of memory is available"),
    "data-dir-with-digits": (["train", "--data-dir", "/tmp"], "data_dir is only read for dataset mnist"),
    "batch-larger-than-training-set": (
        ["train", "--batch-size", "5000"],
        "at most the 1437 training samples",
    ),
    "epochs-bool-by-set": (["train", "--set", "epochs=1.5"], "epochs must be int"),
    "seeds-repeated": (["experiment", "offset-sweep", "--quick", "--seeds", "0,0"], "--seeds repeats 0"),
    "seeds-empty-item": (["experiment", "offset-sweep", "--quick", "--seeds", "0,,1"], "empty items"),
    "network-double-dash": (["estimate", "--no-synthesis", "--network", "64--5-10"], "--network"),
    "network-zero-layer": (["estimate", "--no-synthesis", "--network", "64-0-10"], "at least 1"),
    "depths-repeated": (["estimate", "--no-synthesis", "--depths", "2,2"], "--depths"),
    "sweep-zero-and-negative": (["synth", "--block", "lfsr", "--sweep", "array_size=0,-4"], "array_size"),
    "sweep-repeated": (["synth", "--block", "lfsr", "--sweep", "array_size=16,16"], "repeats"),
    "size-0": (["synth", "--block", "lfsr", "--size", "0"], "--size"),
    "size-negative": (["synth", "--block", "lfsr", "--size", "-1"], "--size"),
    "block-empty-items": (["synth", "--block", ","], "--block"),
    "workers-0": (["report", "--quick", "--workers", "0"], "--workers"),
    "scheduler-not-a-url": (["report", "--quick", "--scheduler", "notaurl"], "--scheduler"),
    "scheduler-bad-ipv6-host": (["report", "--quick", "--scheduler", "["], "--scheduler must be an address"),
    "scheduler-port-not-a-number": (["report", "--quick", "--scheduler", "tcp://h:x"], "--scheduler must be"),
    "scheduler-wrong-scheme": (
        ["experiment", "offset-sweep", "--scheduler", "http://127.0.0.1:1/x"],
        "scheme",
    ),
    "report-title-by-set-ok-but-seeds-repeated": (
        ["report", "--quick", "--set", "studies.seeds=1,1"],
        "studies.seeds must not repeat",
    ),
    "report-hidden-empty": (["report", "--quick", "--set", "training.hidden="], "training.hidden"),
    "flow-option-hex": (
        ["synth", "--block", "lfsr", "--flow-set", "clock_period_ns=0x10"],
        "clock_period_ns",
    ),
    "unparsable-click-value": (["synth", "--size", "abc"], "--size"),
    "unknown-option": (["train", "--colour"], "No such option"),
}


@pytest.mark.parametrize("case", list(ARGUMENT_CASES), ids=list(ARGUMENT_CASES))
def test_bad_argument_is_refused_before_work(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # default output folders (report/, build/rtl) would land here
    args, fragment = ARGUMENT_CASES[case]
    refused(args, fragment)
    assert list(tmp_path.iterdir()) == []


def test_a_scheduler_where_nothing_listens_is_refused_within_seconds() -> None:
    seconds = refused(
        ["report", "--quick", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"], "cannot be reached"
    )
    assert seconds < 10.0  # the tour waited 42 s for a traceback


def test_a_silent_scheduler_times_out_in_the_stated_time() -> None:
    # a listening socket that never completes Dask's handshake still accepts TCP: the probe passes it
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert (
            check_scheduler(f"127.0.0.1:{server.getsockname()[1]}") == f"127.0.0.1:{server.getsockname()[1]}"
        )
    # an address that drops packets: the documented time bound holds (TEST-NET-1, never routed)
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="within 0.5 s"):
        check_scheduler("tcp://192.0.2.1:8786", timeout_s=0.5)
    assert time.perf_counter() - started < 5.0


# --------------------------------------------------------------------------------------------------
# MNIST files read and checked before work, the file named in the error
# --------------------------------------------------------------------------------------------------


def _mnist_case(folder: Path, case: str) -> str:
    write_mnist(folder)
    if case == "zero-count":
        write_idx(folder / "train-labels-idx1-ubyte", np.zeros(0))
        write_idx(folder / "train-images-idx3-ubyte", np.zeros((0, 6, 5)))
        return "train-images-idx3-ubyte' has a zero dimension"
    if case == "test-dims-differ":
        write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((20, 7, 5)))
        return "t10k-images-idx3-ubyte"
    if case == "corrupt-gz":
        (folder / "train-images-idx3-ubyte").unlink()
        (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\0" * 4000)[:-30] + b"junk" * 8)
        return "train-images-idx3-ubyte.gz"
    if case == "label-255":
        labels = np.zeros(40)
        labels[3] = 255
        write_idx(folder / "train-labels-idx1-ubyte", labels)
        return "label 255"
    if case == "counts-disagree":
        write_idx(folder / "train-labels-idx1-ubyte", np.zeros(39))
        return "39 labels"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case", ["zero-count", "test-dims-differ", "corrupt-gz", "label-255", "counts-disagree"]
)
def test_bad_mnist_files_are_refused_and_named(case: str, tmp_path: Path) -> None:
    fragment = _mnist_case(tmp_path, case)
    refused(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--no-progress"], fragment)


# --------------------------------------------------------------------------------------------------
# The layer's functions
# --------------------------------------------------------------------------------------------------


def test_int_lists_are_decimal_without_gaps_or_repeats() -> None:
    assert parse_int_list("--x", "1, 2,3") == (1, 2, 3)
    for text in ("1,,2", "0x10", "1.0", "", "1e3"):
        with pytest.raises(ConfigError, match="--x"):
            parse_int_list("--x", text)
    with pytest.raises(ConfigError, match="repeats"):
        parse_int_list("--x", "1,01", unique=True)


def test_seed_lists_may_use_commas_or_spaces() -> None:
    from pulsetrain.validate import validate_command

    for text in ("0,1,2", "0, 1, 2", "0 1 2"):
        validate_command("experiment", {"seeds": text})
    with pytest.raises(ConfigError, match="repeats"):
        validate_command("experiment", {"seeds": "1 1"})


def test_network_size_is_held_against_memory() -> None:
    check_network_fits("sgd", (64, 32, 10), available=2**20)
    with pytest.raises(ConfigError, match=r"network 64-100000-100000-10 needs about 2\.\d TiB"):
        check_network_fits("sgd", (64, 100000, 100000, 10), available=8 * 2**30)


def test_output_checks_refuse_a_nul_byte(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--json must name a file"):
        check_output_file("--json", tmp_path / "a\0b")
    with pytest.raises(ConfigError, match="--out must name a folder"):
        check_output_dir("--out", "a\0b")


def test_output_checks_accept_new_files_and_folders(tmp_path: Path) -> None:
    assert check_output_file("--json", tmp_path / "r.json") == tmp_path / "r.json"
    assert check_output_dir("--out", tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()  # checked, not created
    assert list(tmp_path.iterdir()) == []  # the write probe left nothing


def test_a_valid_config_file_still_runs(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("epochs = 1\nlr = 0.05\n[network]\nhidden = [8]\n")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main,
        ["train", "--config", str(config), "--json", str(out), "--no-progress", "--set", "batch_size=64"],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())["config"]["network"]["hidden"] == [8]
