"""Checkpoints without pickle: every algorithm resumes bit for bit; damaged, tampered, foreign or
old-format checkpoints are refused with one clear error and never run code."""

from __future__ import annotations

import io
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pulsetrain.model import checkpoint, training
from pulsetrain.model.algorithms import ALGORITHMS
from pulsetrain.model.data import DataSplit, load_digits_split
from pulsetrain.model.training import resolve_train_config, train, without_timing

from pulsetrain.cli import main
from pulsetrain.config import ConfigError


@pytest.fixture(scope="module")
def tiny_digits() -> DataSplit:
    digits = load_digits_split()
    return DataSplit(
        x_train=digits.x_train[:60],
        y_train=digits.y_train[:60],
        x_test=digits.x_test[:40],
        y_test=digits.y_test[:40],
        n_classes=10,
    )


VARIANTS = [[f"algo={algo}"] for algo in ALGORITHMS] + [
    ["algo=c-ttv2", "tiki_taka.periphery=twin"],
    ["algo=sgd", "pulse_source=twin"],
    ["algo=dfa", "dfa.feedback=digital", "batch_size=4"],
]


@pytest.mark.parametrize("sets", VARIANTS, ids=["-".join(s.split("=")[1] for s in v) for v in VARIANTS])
def test_every_algorithm_resumes_identically(tiny_digits: DataSplit, tmp_path: Path, sets: list[str]) -> None:
    config = resolve_train_config(sets=[*sets, "epochs=2", "network.hidden=6", "device.kind=soft-bounds"])
    straight = train(config, data=tiny_digits)
    train(config, data=tiny_digits, checkpoint_dir=tmp_path, stop_after_epoch=1)
    resumed = train(config, data=tiny_digits, checkpoint_dir=tmp_path, resume=True)
    assert without_timing(resumed) == without_timing(straight)


def _checkpoint(tiny_digits: DataSplit, folder: Path) -> tuple[Path, object]:
    config = resolve_train_config(sets=["algo=ttv2", "epochs=2", "network.hidden=6"])
    train(config, data=tiny_digits, checkpoint_dir=folder, stop_after_epoch=1)
    return folder / training.CHECKPOINT_NAME, config


def _rewrite(path: Path, change: dict[str, np.ndarray]) -> None:
    with np.load(path, allow_pickle=False) as archive:
        contents = {name: archive[name] for name in archive.files}
    contents.update(change)
    buffer = io.BytesIO()
    np.savez(buffer, **contents)  # type: ignore[arg-type]
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("damage", ["truncated", "random", "empty"])
def test_damaged_checkpoint_is_refused(tiny_digits: DataSplit, tmp_path: Path, damage: str) -> None:
    path, config = _checkpoint(tiny_digits, tmp_path)
    data = path.read_bytes()
    damaged = {
        "truncated": data[: len(data) // 2],
        "random": np.random.default_rng(0).bytes(len(data)),
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(ConfigError, match="not a readable pulsetrain checkpoint.*remove it to start fresh"):
        train(config, data=tiny_digits, checkpoint_dir=tmp_path, resume=True)  # type: ignore[arg-type]


def test_tampered_array_is_refused(tiny_digits: DataSplit, tmp_path: Path) -> None:
    path, config = _checkpoint(tiny_digits, tmp_path)
    with np.load(path, allow_pickle=False) as archive:
        largest = max((name for name in archive.files if name.startswith("a")), key=lambda n: archive[n].size)
        array = archive[largest].copy()
    array.reshape(-1)[0] = array.reshape(-1)[0] + 1  # one weight changed, the file still a valid npz
    _rewrite(path, {largest: array})
    with pytest.raises(ConfigError, match="does not match its checksum"):
        train(config, data=tiny_digits, checkpoint_dir=tmp_path, resume=True)  # type: ignore[arg-type]


def test_tampered_history_is_refused(tiny_digits: DataSplit, tmp_path: Path) -> None:
    path, config = _checkpoint(tiny_digits, tmp_path)
    with np.load(path, allow_pickle=False) as archive:
        state = archive["__state__"].tobytes().decode()
    # a believable edit: the recorded test accuracy of epoch 1 raised, the JSON still valid
    edited = re.sub(r'\["test_accuracy", [0-9.e-]+\]', '["test_accuracy", 0.925]', state, count=1)
    assert edited != state
    _rewrite(path, {"__state__": np.frombuffer(edited.encode(), dtype=np.uint8)})
    with pytest.raises(ConfigError, match="does not match its checksum"):
        train(config, data=tiny_digits, checkpoint_dir=tmp_path, resume=True)  # type: ignore[arg-type]


def test_checkpoint_of_other_code_is_refused(
    tiny_digits: DataSplit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = _checkpoint(tiny_digits, tmp_path)
    monkeypatch.setattr(training, "_code_version", lambda: "0" * 64)
    with pytest.raises(ConfigError, match="another version of the pulsetrain code"):
        train(config, data=tiny_digits, checkpoint_dir=tmp_path, resume=True)  # type: ignore[arg-type]


def test_a_class_outside_pulsetrain_is_never_instantiated(tmp_path: Path) -> None:
    # A hostile checkpoint can carry a correct checksum (it is not a signature): the allow-list decides.
    path = tmp_path / "hostile.npz"
    checkpoint.save(path, {"x": 1}, code_version="v")
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(archive["__header__"].tobytes())
    marker = tmp_path / "ran"
    hostile = {"$object": "subprocess:Popen", "id": 0, "state": {"args": ["touch", str(marker)]}}
    state_text = json.dumps(hostile).encode()
    header["sha256"] = checkpoint._digest(state_text, [])
    _rewrite(
        path,
        {
            "__state__": np.frombuffer(state_text, dtype=np.uint8),
            "__header__": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        },
    )
    with pytest.raises(checkpoint.CheckpointError, match="not a pulsetrain class"):
        checkpoint.load(path, code_version="v")
    assert not marker.exists()


def test_an_old_pickle_checkpoint_is_not_loaded(tiny_digits: DataSplit, tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, (f"would have created {marker}",))

    (tmp_path / training.LEGACY_CHECKPOINT_NAME).write_bytes(pickle.dumps(Payload()))
    config = resolve_train_config(sets=["epochs=1"])
    with pytest.raises(ConfigError, match="is a pickle of an earlier version"):
        train(config, data=tiny_digits, checkpoint_dir=tmp_path, resume=True)


def test_shared_objects_and_generators_survive_the_round_trip(tmp_path: Path) -> None:
    generator = np.random.default_rng(5)
    array = np.arange(6.0).reshape(2, 3)
    value = {"a": array, "b": [array, generator], "g": generator, (1, 2): {3}, "n": np.int64(7)}
    checkpoint.save(tmp_path / "c.npz", value, code_version="v")
    restored, _ = checkpoint.load(tmp_path / "c.npz", code_version="v")
    assert restored["a"] is restored["b"][0] and restored["g"] is restored["b"][1]
    assert restored[(1, 2)] == {3} and type(restored["n"]) is np.int64
    np.testing.assert_array_equal(restored["a"], array)
    assert restored["g"].random() == generator.random()


def test_resume_without_a_checkpoint_says_it_starts_fresh(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--epochs",
            "1",
            "--hidden",
            "4",
            "--no-progress",
            "--checkpoint-dir",
            str(tmp_path),
            "--resume",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert f"no checkpoint in {tmp_path}: starting fresh" in result.stderr
    assert (tmp_path / training.CHECKPOINT_NAME).is_file()
