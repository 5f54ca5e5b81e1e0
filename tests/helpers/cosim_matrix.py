"""Which simulator runs which cocotb bench configuration: one place for every tests/test_cosim_*.py.

A Verilator build costs ~8 s of CI's two cores, Icarus' nothing: the default mode builds one
configuration per block on Verilator and runs the others, and the deliberately broken variants, on
Icarus; --long runs every combination on both simulators.
"""

from __future__ import annotations

import pytest
from pulsetrain.cosim import runner

SIMULATORS = [pytest.param(s, id=s.value) for s in runner.SimulatorName]

FAULT_SIMULATORS = [
    pytest.param(runner.SimulatorName.ICARUS, id="icarus"),
    pytest.param(runner.SimulatorName.VERILATOR, id="verilator", marks=pytest.mark.slow),
]


def simulator_matrix(configs: list[tuple[object, str]]) -> list[object]:
    """(config, simulator) pairs: the first config on both simulators, the others on Verilator in --long."""
    pairs: list[object] = []
    for index, (config, name) in enumerate(configs):
        for simulator in runner.SimulatorName:
            slow = simulator is runner.SimulatorName.VERILATOR and index > 0
            marks = [pytest.mark.slow] if slow else []
            pairs.append(pytest.param(config, simulator, id=f"{simulator.value}-{name}", marks=marks))
    return pairs


def skip_unless_available(simulator: runner.SimulatorName) -> None:
    """Skip the test, with the reason, when ``simulator`` is not installed here."""
    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        pytest.skip(reason)
