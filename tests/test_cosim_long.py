"""Long randomized mode (--long): every block bench, several seeds, full coverage closure reported."""

from __future__ import annotations

import pytest
from pulsetrain.cosim import runner
from pulsetrain.cosim.benches import BENCHES, run_named_bench

pytestmark = [pytest.mark.sim, pytest.mark.slow]

SEEDS = (11, 12, 13)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bench", list(BENCHES))
def test_bench_long_mode_passes_and_closes_coverage(bench: str, seed: int) -> None:
    simulator = runner.SimulatorName.VERILATOR
    if runner.unavailable_reason(simulator):
        pytest.skip(runner.unavailable_reason(simulator) or "")
    document = run_named_bench(bench, simulator, seed=seed, long_mode=True)
    print(document["summary"])  # the coverage report, with any unhit bin by name (pytest -s shows it)
    assert document["passed"], document["summary"]
    assert document["unhit_bins"] == [], f"bins never hit: {document['unhit_bins']}"
