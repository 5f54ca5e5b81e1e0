"""``pulsetrain report`` end to end on a tiny config: files, required numbers, cache, honesty of gaps."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib import image as mpimg
from rich.console import Console

from pulsetrain.cli import main
from pulsetrain.report import training as training_part
from pulsetrain.report.config import resolve_report_config
from pulsetrain.report.run import ALGORITHM_FIELDS, run_report

#: the smallest report that still trains: two algorithms, one epoch, a narrow hidden layer
TINY = (
    "training.algorithms=fp,sgd",
    "training.epochs=1",
    "training.hidden=8",
    "cosim.enabled=false",
    "cost.enabled=false",
    "studies.enabled=false",
)


def tiny_report(out: Path, *extra: str, workers: int = 1) -> dict[str, Any]:
    config = resolve_report_config(quick=True, sets=(*TINY, *extra))
    return run_report(
        config,
        out_dir=out,
        workers=workers,
        cache_dir=out / "cache",
        console=Console(file=io.StringIO(), width=120),
        code_version="pinned-for-this-test",
    ).document


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("report")
    return out, tiny_report(out)


def embedded_pngs(page: str) -> list[np.ndarray]:
    return [
        mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
        for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    ]


def test_writes_page_and_results(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, _ = tiny
    assert (out / "index.html").is_file()
    assert json.loads((out / "results.json").read_text())["algorithms"]


def test_results_hold_required_fields_per_algorithm(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, document = tiny
    assert set(document["algorithms"]) == {"fp", "sgd"}
    for values in document["algorithms"].values():
        assert set(ALGORITHM_FIELDS) <= set(values)


def test_accuracy_is_the_models_number(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, document = tiny
    runs = document["sections"]["training"]["runs"]
    for run in runs:
        assert document["algorithms"][run["algo"]]["test_accuracy"] == run["epochs"][-1]["test_accuracy"]
    # one epoch on digits is far above chance (10 %) for floating-point backprop
    assert document["algorithms"]["fp"]["test_accuracy"] > 0.5


def test_parts_not_run_say_so_and_carry_no_numbers(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, document = tiny
    page = (out / "index.html").read_text()
    assert "not available: switched off (cost.enabled = false)" in page
    for values in document["algorithms"].values():
        assert values["area_um2"] is None and values["energy_per_sample_j"] is None


def test_page_is_self_contained(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, _ = tiny
    page = (out / "index.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page


def test_every_embedded_plot_has_content(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, _ = tiny
    images = embedded_pngs((out / "index.html").read_text())
    assert images, "the page embeds no plot"
    for pixels in images:
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert float(np.ptp(pixels[..., :3])) > 0.5, "a plot is blank"


def test_page_shows_the_configuration(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, _ = tiny
    page = (out / "index.html").read_text()
    assert "&quot;train_set&quot;" in page and "&quot;epochs&quot;: 1" in page


def test_second_run_reads_every_run_from_the_cache(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, first = tiny
    second = tiny_report(out)
    part = second["timing"]["parts"]["training"]
    assert (part["computed"], part["cached"]) == (0, 2)
    assert second["algorithms"] == first["algorithms"]


def test_local_workers_give_the_same_numbers(tiny: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, first = tiny
    parallel = tiny_report(tmp_path, "training.algorithms=fp", workers=2)
    for field in ("test_accuracy", "pulses_per_weight"):
        assert parallel["algorithms"]["fp"][field] == first["algorithms"]["fp"][field]


def test_cli_prints_table_and_timing(tmp_path: Path) -> None:
    arguments = ["report", "--quick", "--out", str(tmp_path), "--workers", "1"]
    for setting in (*TINY[:1], "training.algorithms=fp", *TINY[1:]):
        arguments += ["--set", setting]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "pulsetrain report: algorithms" in result.output
    assert "where the time went" in result.output
    assert (tmp_path / "results.json").is_file()


def failing_train_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """A training run that always fails (stands in for a run that crashes on a worker)."""
    raise RuntimeError(f"injected failure for {plain['algo']}")


def _cli_tiny(out: Path, *options: str) -> Any:
    arguments = ["report", "--quick", "--out", str(out), "--workers", "1", "--no-cache", *options]
    for setting in TINY:
        arguments += ["--set", setting]
    return CliRunner().invoke(main, arguments)


def test_failed_run_exits_non_zero_and_names_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_part, "train_run", failing_train_run)
    result = _cli_tiny(tmp_path)
    assert result.exit_code == 1, result.output
    assert "2 runs failed" in result.stderr
    for label in ("train fp seed=0", "train sgd seed=0"):
        assert f"training: {label}: RuntimeError: injected failure" in result.stderr
    # the page and results.json are still written, and show the gap instead of a number
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["algorithms"]["fp"]["test_accuracy"] is None
    assert "not available: train fp seed=0" in (tmp_path / "index.html").read_text()


def test_keep_going_exits_zero_but_still_names_the_failed_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training_part, "train_run", failing_train_run)
    result = _cli_tiny(tmp_path, "--keep-going")
    assert result.exit_code == 0, result.output
    assert "train sgd seed=0" in result.stderr


def test_report_without_failures_lists_none(tiny: tuple[Path, dict[str, Any]]) -> None:
    config = resolve_report_config(quick=True, sets=(*TINY, "training.algorithms=fp"))
    out = tiny[0] / "again"
    result = run_report(config, out_dir=out, console=Console(file=io.StringIO()), code_version="pinned")
    assert result.failed_runs == ()
