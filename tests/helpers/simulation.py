"""Amaranth-simulator helpers for the RTL tests."""

from __future__ import annotations

from typing import Any

from amaranth.sim import Simulator


def add_watchdog(sim: Simulator, cycles: int) -> None:
    """Fail the test instead of hanging when the RTL never answers: a background bench counting cycles."""

    async def watchdog(ctx: Any) -> None:
        for _ in range(cycles):
            await ctx.tick()
        raise AssertionError(f"the RTL did not finish within {cycles} cycles")

    sim.add_testbench(watchdog, background=True)
