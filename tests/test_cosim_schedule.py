"""BP and DFA schedule controllers of depth 2..6: cycles per sample from the RTL equal the twin's."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pulsetrain.cosim import runner
from pulsetrain.cosim.schedule import run_schedule_sweep

from pulsetrain.cli import main

SIMULATORS = [pytest.param(s, id=s.value) for s in runner.SimulatorName]


@pytest.mark.sim
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_rtl_cycles_per_sample_equal_twin_and_dfa_is_faster_for_deeper_networks(
    simulator: runner.SimulatorName,
) -> None:
    if runner.unavailable_reason(simulator):
        pytest.skip(runner.unavailable_reason(simulator) or "")
    sweep = run_schedule_sweep(simulator)
    assert sweep["passed"], sweep["messages"]
    assert sweep["rtl_matches_twin"]
    speedups = [row["rtl_speedup"] for row in sweep["rows"]]
    # DFA's projections and updates run in parallel: its advantage grows with depth (paper (a))
    assert all(later > earlier for earlier, later in zip(speedups, speedups[1:], strict=False))
    assert speedups[0] > 1.0


def test_bad_depth_is_refused() -> None:
    outcome = CliRunner().invoke(main, ["cosim", "--schedule", "--depth", "2..x", "--sim", "icarus"])
    assert outcome.exit_code == 2
    assert "depth must be" in outcome.output
