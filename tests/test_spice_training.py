"""The IR-drop training experiment at toy size (the real one: pulsetrain spice training)."""

from __future__ import annotations

from pathlib import Path

from pulsetrain.spice.circuit import technology_physics
from pulsetrain.spice.training import TrainingStudy, run_study, write_study


def test_the_ir_drop_changes_training_and_the_study_writes_its_table(tmp_path: Path) -> None:
    study = TrainingStudy(hidden=(8,), epochs=1, seeds=1, physics=technology_physics("neurosim_v21"))
    rows = run_study(study)
    assert [(r["hidden"], r["ir_drop"]) for r in rows] == [(8, False), (8, True)]
    # same seed, same data order: only the reads differ, so the pulses written differ too
    assert rows[0]["pulses_per_sample"] != rows[1]["pulses_per_sample"]
    # the ideal run's weights are read once more through the IR drop: a different accuracy figure
    assert 0.0 < rows[0]["test_accuracy_read_with_ir_drop"] <= 1.0
    assert rows[1]["test_accuracy_read_with_ir_drop"] == rows[1]["test_accuracy"]
    write_study(study, rows, tmp_path, "neurosim_v21")
    assert "| 8 | with IR drop |" in (tmp_path / "training.md").read_text()
