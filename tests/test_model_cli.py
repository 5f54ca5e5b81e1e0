"""``pulsetrain train`` from the command line: results JSON, one-line errors with exit status 2, resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pulsetrain.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point in a subprocess (the error path must print one line, no traceback)."""
    return subprocess.run(
        [sys.executable, "-m", "pulsetrain.cli", "train", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "device.dw_min=-0.002"], "device.dw_min"),
        (["--set", "io.adc_bits=0"], "io.adc_bits"),
        (["--device", "flash"], "device must be one of"),
        (["--set", "device.nonsense=3"], "unknown key 'device.nonsense'"),
        (["--hidden", "0"], "network.hidden"),
        (["--dataset", "mnist", "--data-dir", "/nonexistent/mnist"], "data_dir"),
        (["--batch-size", "0"], "batch_size"),
        (["--resume"], "--resume needs --checkpoint-dir"),
    ],
    ids=[
        "negative-dw_min",
        "adc-0-bits",
        "unknown-device",
        "unknown-key",
        "hidden-0",
        "missing-idx",
        "batch-0",
        "resume-without-folder",
    ],
)
def test_bad_value_fails_with_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(main, ["train", *args, "--epochs", "1", "--no-progress"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]
    assert result.stdout == ""  # nothing ran


def test_the_installed_entry_point_prints_no_traceback() -> None:
    result = run_cli("--set", "device.dw_min=-0.002", "--no-progress")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "pulsetrain: error: device.dw_min must be in (0, inf), not -0.002"
    ]


def test_missing_idx_file_in_existing_folder_is_named(tmp_path: Path) -> None:
    result = run_cli("--dataset", "mnist", "--data-dir", str(tmp_path), "--no-progress")
    assert result.returncode == 2 and "train-images-idx3-ubyte" in result.stderr


def test_train_writes_the_results_json(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--algo",
            "fp",
            "--hidden",
            "16,8",
            "--epochs",
            "1",
            "--seed",
            "3",
            "--lr",
            "0.2",
            "--json",
            str(out),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["config"]["network"]["hidden"] == [16, 8]
    assert document["config"]["seed"] == 3 and document["config"]["algo"] == "fp"
    assert len(document["epochs"]) == 1 and set(document["pulses"]) == {"layer0", "layer1", "layer2"}


def test_config_file_and_set(tmp_path: Path) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text('algo = "sgd"\nepochs = 1\n[device]\nkind = "soft-bounds"\n')
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--config",
            str(toml),
            "--set",
            "device.up_down=0.1",
            "--set",
            "io.adc_bits=6",
            "--json",
            str(out),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    config = json.loads(out.read_text())["config"]
    assert config["device"]["kind"] == "soft-bounds" and config["device"]["up_down"] == 0.1
    assert config["io"]["adc_bits"] == 6


def test_resume_from_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    common = ["train", "--algo", "fp", "--epochs", "2", "--no-progress", "--checkpoint-dir", str(folder)]
    first = CliRunner().invoke(main, [*common, "--json", str(tmp_path / "a.json")])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, [*common, "--resume", "--json", str(tmp_path / "b.json")])
    assert again.exit_code == 0, again.output
    # the checkpoint already holds both epochs: the resumed run trains nothing and reports the same
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a["weights_sha256"] == b["weights_sha256"] and a["test_accuracy"] == b["test_accuracy"]
