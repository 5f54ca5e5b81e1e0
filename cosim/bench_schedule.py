"""cocotb bench: start every schedule controller of the sweep top at once and read its cycle counter."""

from __future__ import annotations

from typing import Any

import cocotb
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.kit import bench_parameters, read_int, report, start_clock_and_reset


@cocotb.test()
async def schedule_cycles_per_sample(dut: Any) -> None:
    """One sample on every controller; each must raise ``done`` once and report its cycle count."""
    names: list[str] = list(bench_parameters()["names"])
    for name in names:
        getattr(dut, f"{name}__start").value = 0
    await start_clock_and_reset(dut)
    await FallingEdge(dut.clk)
    for name in names:
        getattr(dut, f"{name}__start").value = 1
    await FallingEdge(dut.clk)
    for name in names:
        getattr(dut, f"{name}__start").value = 0
    cycles: dict[str, int] = {}
    for _ in range(1 << 16):
        for name in names:
            if name not in cycles and read_int(getattr(dut, f"{name}__done")):
                cycles[name] = read_int(getattr(dut, f"{name}__cycles"))
        if len(cycles) == len(names):
            break
        await FallingEdge(dut.clk)
    report(cycles=cycles)
    missing = [n for n in names if n not in cycles]
    assert not missing, f"no done from {missing}"
