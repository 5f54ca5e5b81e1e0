"""What the report page and the estimate command say about figures that cannot be verified here."""

from __future__ import annotations

from typing import Any

from pulsetrain.synth.estimator import EstimateConfig, estimate


def _plain_estimate() -> dict[str, Any]:
    return {"algorithm": "sgd", **estimate(EstimateConfig(use_synthesis=False)).as_dict()}


def test_the_cost_part_labels_every_unverified_technology_figure_not_verified_here() -> None:
    from pulsetrain.report.cost import assemble_cost

    data = _plain_estimate()
    outcome = assemble_cost(["sgd"], [], "rpu_45nm", [data])
    table = next(t for t in outcome.section.tables if t.header == ["technology figure", "status"])
    listed = {row[0]: row[1] for row in table.rows}
    assert set(listed) == set(data["unverified"]) and "driver.dac_power_uW" in listed
    assert all(status.startswith("not verified here") for status in listed.values())
    assert "adc.walden_fom_low_fJ" not in listed, "a figure read off the ADC survey is verified"


def test_the_estimate_command_prints_the_unverified_entries() -> None:
    from click.testing import CliRunner

    from pulsetrain.cli import main

    done = CliRunner().invoke(main, ["estimate", "--algo", "sgd", "--no-synthesis"])
    assert done.exit_code == 0, done.output
    line = next(line for line in done.output.splitlines() if line.startswith("not verified here"))
    assert "adc.enob_loss_bits" in line and "driver.dac_power_uW" in line


def test_the_cost_table_shows_the_recorded_digital_energy_beside_the_random_bound(
    monkeypatch: Any,
) -> None:
    import pulsetrain.synth.flows as flows
    from pulsetrain.synth.reports import PowerReport, SynthesisReport
    from pulsetrain.synth.tools import ToolVersions

    from pulsetrain.report.cost import assemble_cost

    def fixed(design: Any, options: Any, *, use_cache: bool = True, **_: Any) -> SynthesisReport:
        # 1 mW at the recorded workload, 3 mW at random inputs, 0.2 mW leakage
        dynamic = 1e-3 if options.activity.workload_file else 3e-3
        power = PowerReport(
            internal_W=dynamic / 2,
            switching_W=dynamic / 2,
            leakage_W=2e-4,
            total_W=dynamic + 2e-4,
            activity_source="fixed",
            annotated_pins=0,
        )
        return SynthesisReport(
            block=design.name,
            target="nangate45",
            options={},
            key="0" * 64,
            tools=ToolVersions(yosys="fixed"),
            cells=1,
            cell_types={},
            flip_flops=0,
            area_um2=1000.0,
            critical_path_ns=0.5,
            power=power,
        )

    monkeypatch.setattr(flows, "synthesize", fixed)
    data = {"algorithm": "sgd", **estimate(EstimateConfig()).as_dict()}
    outcome = assemble_cost(["sgd"], [], "rpu_45nm", [data])
    costs = outcome.section.tables[0]
    row = dict(zip(costs.header, costs.rows[0], strict=True))
    counted = [r for r in data["digital_blocks"].values() if r["counted"] == "yes"]
    bound = sum(r["leakage_pJ"] + r["random_activity_dynamic_pJ"] for r in counted)
    assert row["digital pJ (recorded activity)"] == f"{data['energy_per_sample_pJ']['digital']:.4g}"
    assert row["digital pJ (random-activity bound)"] == f"{bound:.4g}"
    assert bound > data["energy_per_sample_pJ"]["digital"], "the fixed random figure is 3x the recorded one"


def test_the_page_and_the_command_list_what_the_estimate_does_not_cost() -> None:
    from click.testing import CliRunner

    from pulsetrain.cli import main
    from pulsetrain.report.cost import assemble_cost

    data = _plain_estimate()
    outcome = assemble_cost(["sgd"], [], "rpu_45nm", [data])
    table = next(t for t in outcome.section.tables if t.header == ["not costed", "why", "algorithms"])
    assert {row[0] for row in table.rows} == set(data["not_costed"]) and "digital" in data["not_costed"]
    done = CliRunner().invoke(main, ["estimate", "--algo", "sgd", "--no-synthesis"])
    assert done.exit_code == 0, done.output
    assert "not costed: digital: synthesis not used" in done.output
    rows = [line for line in done.output.splitlines() if "sgd" in line and "│" in line]
    assert len(rows) == 2 and all("not costed" in row for row in rows), "energy and area: not costed, not 0"
