"""A cocotb bench of the ADC readout written against nothing but its datasheet JSON.

Everything block-specific comes from ``adc-readout.datasheet.json`` (written by ``pulsetrain rtl --block
adc-readout --datasheet``): port names and widths, the bit ranges of the ``trial_code`` elements and of
the ``results`` payload fields, the column count and multiplexing (config), the number of ADCs (derived),
the protocol (start/busy, ADC ``a`` reads column ``a * columns_per_adc + mux_select``, the comparator
answers ``value >= DAC(trial code)``, results are valid/ready) and the busy-cycle formula. The bench
imports nothing of pulsetrain's RTL, layouts or twins.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

#: environment variable naming the datasheet JSON.
DATASHEET_ENV = "ADC_DATASHEET_JSON"


def _sheet() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(os.environ[DATASHEET_ENV]).read_text())
    return loaded


def _port(sheet: dict[str, Any], name: str) -> dict[str, Any]:
    return next(port for port in sheet["ports"] if port["name"] == name)


def _field(value: int, field: dict[str, Any]) -> int:
    high, low = field["bits"]
    return (value >> low) & ((1 << (high - low + 1)) - 1)


async def _readout(
    dut: Any, sheet: dict[str, Any], values: list[int], ready_probability: float
) -> tuple[dict[int, int], int]:
    """One readout: returns the codes by column and the cycles ``busy`` was high."""
    config, derived = sheet["config"], sheet["derived"]
    trial_fields = _port(sheet, "trial_code")["fields"]
    result_fields = {field["field"]: field for field in _port(sheet, "results__payload")["fields"]}
    rng = random.Random(7)
    codes: dict[int, int] = {}
    busy_cycles = 0
    await FallingEdge(dut.clk)
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    while True:
        # the analog side: ADC a sees column a * columns_per_adc + mux_select
        select = int(dut.mux_select.value)
        trial = int(dut.trial_code.value)
        answer = 0
        for adc in range(derived["adcs"]):
            column = adc * config["columns_per_adc"] + select
            if column < config["columns"] and values[column] >= _field(trial, trial_fields[adc]):
                answer |= 1 << adc
        dut.comparator.value = answer
        dut.results__ready.value = int(rng.random() < ready_probability)
        await RisingEdge(dut.clk)
        busy = int(dut.busy.value)
        busy_cycles += busy
        if int(dut.results__valid.value) and int(dut.results__ready.value):
            payload = int(dut.results__payload.value)
            column = _field(payload, result_fields["column"])
            assert column not in codes, f"column {column} delivered twice"
            codes[column] = _field(payload, result_fields["code"])
        await FallingEdge(dut.clk)
        if not busy and not int(dut.busy.value):
            return codes, busy_cycles


@cocotb.test()
async def adc_readout_works_as_its_datasheet_says(dut: Any) -> None:
    """Codes equal the values (monotone comparator), every column once, busy as long as the formula."""
    sheet = _sheet()
    config = sheet["config"]
    assert sheet["clock"]["port"] == "clk" and sheet["reset"]["polarity"] == "active high"
    for port in sheet["ports"]:
        if port["direction"] == "in":
            getattr(dut, port["name"]).value = 0
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    rng = random.Random(3)
    full_scale = (1 << config["adc_bits"]) - 1
    formulas = {formula["name"]: formula["value"] for formula in sheet["formulas"]}
    for ready_probability in (1.0, 0.6):
        values = [rng.randint(0, full_scale) for _ in range(config["columns"])]
        codes, busy_cycles = await _readout(dut, sheet, values, ready_probability)
        assert sorted(codes) == list(range(config["columns"])), "every column exactly once"
        assert [codes[c] for c in range(config["columns"])] == values
        if ready_probability == 1.0:
            assert busy_cycles == formulas["readout_cycles"], (busy_cycles, formulas["readout_cycles"])
        else:
            assert busy_cycles > formulas["readout_cycles"]  # back-pressure only adds cycles
