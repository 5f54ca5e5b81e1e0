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
    assert set(listed) == set(data["unverified"]) and "driver.dac_energy_pJ" in listed
    assert all(status.startswith("not verified here") for status in listed.values())
    assert "adc.walden_fom_low_fJ" not in listed, "a figure read off the ADC survey is verified"


def test_the_estimate_command_prints_the_unverified_entries() -> None:
    from click.testing import CliRunner

    from pulsetrain.cli import main

    done = CliRunner().invoke(main, ["estimate", "--algo", "sgd", "--no-synthesis"])
    assert done.exit_code == 0, done.output
    line = next(line for line in done.output.splitlines() if line.startswith("not verified here"))
    assert "adc.enob_loss_bits" in line and "driver.dac_energy_pJ" in line
