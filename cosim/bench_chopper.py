"""cocotb bench of the chopper sign RTL (:class:`pulsetrain.rtl.chopper.ChopperSign`) against its twin.

Random flip events (a random line, sometimes all lines), random data signs on the write path and a
random line on the read path; every cycle the bench compares the sign registers, ``flipped`` and both
XOR paths with :class:`pulsetrain.model.twins.chopper.TwinChopper`. Read at the falling edge: the
registers show the events up to the last rising edge, the XOR paths the inputs driven half a cycle ago.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.coverage import Coverage
from pulsetrain.cosim.kit import (
    Scoreboard,
    bench_parameters,
    bits,
    config_from_plain,
    read_int,
    report,
    start_clock_and_reset,
)
from pulsetrain.model.twins.chopper import TwinChopper

from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode


@cocotb.test()
async def chopper_matches_twin(dut: Any) -> None:
    """Every cycle: signs, flipped, chopped write signs and read sign equal the twin's."""
    parameters = bench_parameters()
    config: ChopperConfig = config_from_plain(ChopperConfig, parameters["config"])
    cycles = int(parameters.get("cycles", 400))
    event_probability = float(parameters.get("event_probability", 0.6))
    rng = random.Random(int(parameters.get("seed", 1)))
    twin = TwinChopper(config)
    lines = config.lines
    coverage = Coverage("chopper")
    flip_cover = coverage.point(
        "flip", ["to_negative", "to_positive", "kept"], labels=["to_negative", "to_positive", "kept"]
    )
    scope_cover = coverage.point("event_scope", ["one_line", "all_lines"])
    # the regular-mode sweep counter must wrap (only regular mode has one)
    regular = config.mode is ChopperMode.REGULAR
    sweep_wrap = coverage.point("sweep_wrapped", [True]) if regular else None
    scoreboard = Scoreboard("chopper")
    dut.flip.value = 0
    dut.flip_all.value = 0
    dut.flip_line.value = 0
    dut.data_negative.value = 0
    dut.read_line.value = 0
    await start_clock_and_reset(dut)
    data_negative = np.zeros(lines, dtype=bool)
    read_line = 0
    for cycle in range(cycles):
        await FallingEdge(dut.clk)
        negative = np.array(bits(read_int(dut.negative), lines))
        scoreboard.compare("negative", negative.tolist(), twin.negative.tolist(), cycle)
        scoreboard.compare("flipped", read_int(dut.flipped), int(twin.flipped), cycle)
        chopped = bits(read_int(dut.chopped_negative), lines)
        scoreboard.compare("chopped_negative", chopped, twin.chop(data_negative).tolist(), cycle)
        scoreboard.compare(
            "read_negative", read_int(dut.read_negative), int(twin.read_negative(read_line)), cycle
        )
        # next cycle's stimulus, and the twin's matching event
        data_negative = np.array([rng.random() < 0.5 for _ in range(lines)])
        read_line = rng.randrange(lines)
        dut.data_negative.value = sum(int(b) << i for i, b in enumerate(data_negative))
        dut.read_line.value = read_line
        event = rng.random() < event_probability
        every_line = event and rng.random() < 0.1
        line = rng.randrange(lines)
        dut.flip.value = int(event)
        dut.flip_all.value = int(every_line)
        dut.flip_line.value = line
        if event:
            before = twin.negative
            sweep_before = twin.sweep
            flipped = twin.event(None if every_line else line)
            scope_cover("all_lines" if every_line else "one_line")
            probe = 0 if every_line else line
            if not flipped:
                flip_cover("kept")
            else:
                flip_cover("to_positive" if before[probe] else "to_negative")
            if sweep_wrap is not None and twin.sweep < sweep_before:
                sweep_wrap(True)
    report(scoreboard=scoreboard.summary(), coverage=coverage.summary(), cycles=cycles)
    scoreboard.check()
