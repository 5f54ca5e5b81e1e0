"""The parts of the report: their arithmetic, their honesty when something is missing, and each part
wired end to end on the smallest size that still exercises it."""

from __future__ import annotations

import importlib
import io
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pulsetrain.config import ConfigError, to_plain
from pulsetrain.report.config import ReportConfig, resolve_report_config
from pulsetrain.report.page import Section, Table
from pulsetrain.report.part import Part, PartData, PartOutcome, PartPlan, spec_from_plain, typed_run
from pulsetrain.report.parts import PARTS
from pulsetrain.report.run import run_report
from pulsetrain.report.studies import limit_epochs
from pulsetrain.report.training import layer_weight_counts, pulses_per_weight

ONLY_TRAINING = ("cosim.enabled=false", "cost.enabled=false", "studies.enabled=false")


def report(out: Path, *sets: str) -> dict[str, Any]:
    config = resolve_report_config(quick=True, sets=sets)
    return run_report(
        config,
        out_dir=out,
        workers=1,
        cache_dir=None,
        console=Console(file=io.StringIO(), width=120),
        code_version="pinned-for-this-test",
    ).document


def test_layer_weight_counts_include_bias_lines() -> None:
    assert layer_weight_counts((32,), bias=True) == [32 * 65, 10 * 33]
    assert layer_weight_counts((32, 16), bias=False) == [32 * 64, 16 * 32, 10 * 16]


def test_pulses_per_weight_averages_over_devices_of_each_array() -> None:
    pulses = {"layer0": {"A": 200, "C": 10}, "layer1": {"A": 100, "C": 0}}
    assert pulses_per_weight(pulses, [100, 50]) == {"A": 2.0, "C": pytest.approx(10 / 150)}


@pytest.mark.parametrize(
    ("spec", "cap", "expected_last"),
    [
        ({"kind": "train", "sets": ["algo=sgd", "epochs=8"]}, 2, "epochs=2"),
        ({"kind": "train", "sets": ["algo=sgd", "epochs=1"]}, 2, "epochs=1"),
        ({"kind": "train", "sets": ["algo=sgd", "epochs=8"]}, 0, "epochs=8"),
    ],
    ids=["capped", "already-below", "no-cap"],
)
def test_limit_epochs(spec: dict[str, Any], cap: int, expected_last: str) -> None:
    assert limit_epochs(spec, cap)["sets"][-1] == expected_last


def test_limit_epochs_leaves_other_runs_alone() -> None:
    spec = {"kind": "latency", "depths": [2, 3]}
    assert limit_epochs(spec, 1) == spec


def test_bad_train_override_is_refused_before_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nonsense"):
        report(tmp_path, "training.algorithms=fp", "training.train_set=device.nonsense=1", *ONLY_TRAINING)
    assert not (tmp_path / "index.html").exists()


def test_missing_module_is_shown_as_not_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def without_experiments(name: str, package: str | None = None) -> Any:
        if name == "pulsetrain.model.experiments":
            raise ImportError("No module named 'pulsetrain.model.experiments'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_experiments)
    document = report(
        tmp_path,
        "training.algorithms=fp",
        "training.epochs=1",
        "training.hidden=4",
        "cosim.enabled=false",
        "cost.enabled=false",
        "studies.studies=sbe-batch",
    )
    page = (tmp_path / "index.html").read_text()
    assert "not available: pulsetrain.model.experiments cannot be imported" in page
    assert document["sections"]["studies"]["status"] == "not available"


def test_cost_part_uses_the_estimator_with_measured_pulses(tmp_path: Path) -> None:
    document = report(
        tmp_path,
        "training.algorithms=fp,sgd",
        "training.epochs=1",
        "training.hidden=8",
        "cosim.enabled=false",
        "studies.enabled=false",
        "cost.use_synthesis=false",
        "cost.targets=",
    )
    sgd, fp = document["algorithms"]["sgd"], document["algorithms"]["fp"]
    assert sgd["area_um2"] > 0 and sgd["energy_per_sample_j"] > 0 and sgd["latency_per_sample_s"] > 0
    assert fp["area_um2"] is None, "fp has no analog tile: the estimator must not invent a cost for it"
    (estimate,) = document["sections"]["cost"]["estimates"]
    assert any("measured by the training run of sgd" in note for note in estimate["notes"])
    depth = document["sections"]["cost"]["depth"]["rows"]
    assert [row["depth"] for row in depth] == [2, 3, 4, 5, 6]
    assert "no synthesis target chosen" in (tmp_path / "index.html").read_text()


def _estimate_without_synthesis(**changes: Any) -> dict[str, Any]:
    import dataclasses

    from pulsetrain.synth.estimator import EstimateConfig, estimate

    result = dataclasses.replace(estimate(EstimateConfig(use_synthesis=False)), **changes)
    return {"algorithm": "sgd", **result.as_dict()}


def test_cost_numbers_convert_the_estimators_units_exactly() -> None:
    from pulsetrain.report.cost import assemble_cost

    estimate = _estimate_without_synthesis()
    outcome = assemble_cost(["sgd"], [], "rpu_45nm", [estimate])
    numbers = outcome.algorithms["sgd"]
    energy_pj, latency_ns = estimate["total_energy_per_sample_pJ"], estimate["total_latency_per_sample_ns"]
    assert numbers.energy_per_sample_j == pytest.approx(energy_pj * 1e-12, rel=1e-12)
    assert numbers.latency_per_sample_s == pytest.approx(latency_ns * 1e-9, rel=1e-12)
    periphery = sum(v for k, v in estimate["area_um2"].items() if k != "arrays")
    assert numbers.area_um2 == pytest.approx(periphery, rel=1e-12)


def test_an_unavailable_estimator_figure_is_said_on_the_page_and_never_becomes_zero() -> None:
    import math

    from pulsetrain.report.cost import assemble_cost

    estimate = _estimate_without_synthesis(unavailable={"digital": "no power report (OpenSTA missing)"})
    assert estimate["total_energy_per_sample_pJ"] is None, "the estimator marks the total unavailable"
    outcome = assemble_cost(["sgd"], [], "rpu_45nm", [estimate])
    assert math.isnan(outcome.algorithms["sgd"].energy_per_sample_j)
    costs = outcome.section.tables[0]
    row = dict(zip(costs.header, costs.rows[0], strict=True))
    assert row["energy / sample pJ"] == "unavailable"
    assert row["energy range pJ"] == "unavailable"
    reason = "digital unavailable (no power report (OpenSTA missing))"
    assert any(reason in note for note in outcome.section.notes)


NO_NGSPICE = shutil.which("ngspice") is None


@pytest.mark.skipif(NO_NGSPICE, reason="ngspice is not installed (Debian package ngspice)")
def test_spice_part_holds_the_model_read_against_ngspice() -> None:
    from pulsetrain.report.spice_check import SpiceSpec, assemble_spice, spice_check_run

    summary = spice_check_run(to_plain(SpiceSpec()))
    outcome = assemble_spice([summary])
    assert outcome.data.status == "ok" and summary["passed"]
    assert summary["ideal_max_error_lsb"] <= summary["tolerance_lsb"]
    table = outcome.section.tables[0]
    assert [row[0] for row in table.rows][0] == "ideal wires" and len(table.rows) == 3
    # the calibrated IR-drop option is closer to ngspice than the plain model once the wires are real
    assert summary["wires_ir_max_error_lsb"] < summary["wires_model_max_error_lsb"]


def test_spice_part_is_unavailable_without_ngspice(monkeypatch: pytest.MonkeyPatch) -> None:
    from pulsetrain.report import spice_check
    from pulsetrain.report.part import Unavailable

    monkeypatch.setattr(spice_check.shutil, "which", lambda name: None)
    with pytest.raises(Unavailable, match="ngspice is not installed"):
        spice_check.plan(resolve_report_config(quick=True))


def test_schedule_part_counts_cycles_of_model_twin_and_rtl() -> None:
    from pulsetrain.report.schedule import schedule_cycles_run

    (row,) = schedule_cycles_run({"depths": [3]})["rows"]
    for mode in ("bp", "dfa"):
        assert row[f"{mode}_model_cycles"] > 0 and row[f"{mode}_rtl_cycles"] > 0
        assert row[f"{mode}_twin_cycles"] > 0
    # DFA skips the sequential backward pass: fewer cycles per sample in every count
    assert row["dfa_rtl_cycles"] < row["bp_rtl_cycles"]
    assert row["dfa_model_cycles"] < row["bp_model_cycles"]


def test_study_part_embeds_the_studys_own_plot(tmp_path: Path) -> None:
    document = report(
        tmp_path,
        "training.enabled=false",
        "cosim.enabled=false",
        "cost.enabled=false",
        "studies.studies=bp-vs-dfa",
        "studies.max_epochs=1",
    )
    section = document["sections"]["study-bp-vs-dfa"]
    assert section["status"] == "ok"
    assert section["summary"]["latency"], "the latency-by-depth rows are missing"
    page = (tmp_path / "index.html").read_text()
    assert page.count('class="plot"') == 1


@pytest.mark.sim
@pytest.mark.slow
def test_cosim_part_shows_rtl_matching_the_model(tmp_path: Path) -> None:
    """The RTL-in-the-loop part on a narrow network (the Verilator build takes minutes: long mode)."""
    document = report(
        tmp_path,
        "training.enabled=false",
        "cost.enabled=false",
        "studies.enabled=false",
        "cosim.samples=20",
        "cosim.hidden=4",
    )
    section = document["sections"]["cosim"]
    assert section["status"] == "ok", section
    assert section["result"]["decisions_compared"] > 0
    assert section["result"]["matches_model"] is True
    assert "RTL versus model agreement" in (tmp_path / "index.html").read_text()


@dataclass(frozen=True, kw_only=True)
class SquareSpec:
    """The example part's run: square one number."""

    #: the number
    value: int


@dataclass(frozen=True, kw_only=True)
class SquaresData(PartData):
    """The example part's results.json entry."""

    #: the squares, in run order
    squares: list[int]


def square_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    spec = spec_from_plain(SquareSpec, plain)
    return {"square": spec.value**2}


def plan_squares(config: ReportConfig) -> list[PartPlan]:
    runs = tuple(typed_run(square_run, SquareSpec(value=value), f"square {value}") for value in (2, 3))

    def assemble(results: list[Any]) -> PartOutcome:
        section = Section("squares", "Squares")
        squares = [result["square"] for result in results]
        section.tables.append(Table(["square"], [[str(square)] for square in squares]))
        return PartOutcome(section=section, data=SquaresData(status="ok", squares=squares))

    return [PartPlan(key="squares", title="Squares", runs=runs, assemble=assemble)]


SQUARES = Part(key="squares", title="Squares", switch="training", plan=plan_squares)


def test_a_new_part_is_one_module_and_one_registration(tmp_path: Path) -> None:
    """A part written as the package docstring says, registered beside the others, runs end to end."""
    sets = ("training.algorithms=fp", "training.epochs=1", "training.hidden=4", *ONLY_TRAINING)
    config = resolve_report_config(quick=True, sets=sets)
    result = run_report(
        config,
        out_dir=tmp_path,
        console=Console(file=io.StringIO(), width=120),
        code_version="pinned-for-this-test",
        parts=(*PARTS, SQUARES),
    )
    assert result.document["sections"]["squares"] == {"status": "ok", "squares": [4, 9]}
    assert list(result.document["sections"])[-1] == "squares"
    assert "<td>9</td>" in (tmp_path / "index.html").read_text()


@pytest.mark.sim
def test_datasheets_part_checks_every_blocks_formulas_in_simulation() -> None:
    from pulsetrain import catalogue
    from pulsetrain.report.datasheets import DatasheetSpec, assemble_datasheets, datasheet_run

    blocks = ("adc-readout", "pulse-generator")
    results = [datasheet_run(to_plain(DatasheetSpec(block=name))) for name in blocks]
    outcome = assemble_datasheets(results)
    assert outcome.data.status == "ok" and set(outcome.data.sheets) == set(blocks)
    (table,) = outcome.section.tables
    checked = [row for row in table.rows if row[5] != "-"]
    assert checked and all(row[5] == "yes" for row in checked)
    assert [plot.media_type for plot in outcome.section.plots] == ["image/svg+xml"] * len(blocks)
    assert all(plot.png.startswith(b"<svg") for plot in outcome.section.plots)
    assert set(blocks) <= set(catalogue.block_names())
