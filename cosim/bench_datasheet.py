"""cocotb bench that records the timing diagrams of a block's datasheet from its emitted Verilog.

One scenario per block drives the inputs at falling edges (so they are stable at the next rising edge);
a monitor samples every port at each rising edge, before the edge takes effect, so row ``c`` of the trace
holds what the block saw and showed during cycle ``c``. The outputs in reset are read while ``rst`` is
high. Everything the host needs (payloads, analog values) arrives packed in the parameters, so the bench
needs no block knowledge beyond port names; :mod:`pulsetrain.cosim.datasheet` turns the trace into
WaveDrom and checks the datasheet's formulas against it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from pulsetrain.cosim.kit import bench_parameters, read_int, report


def _value(signal: Any) -> int | None:
    try:
        return read_int(signal)
    except ValueError:  # X or Z
        return None


class Monitor:
    """Samples every port at each rising edge (the values of the cycle that edge ends)."""

    def __init__(self, dut: Any, names: list[str]) -> None:
        self.dut = dut
        self.names = names
        self.rows: list[dict[str, int | None]] = []
        self._task = cocotb.start_soon(self._sample())

    async def _sample(self) -> None:
        while True:
            await RisingEdge(self.dut.clk)
            self.rows.append({name: _value(getattr(self.dut, name)) for name in self.names})


class Driver:
    """Sets inputs at falling edges; :attr:`cycle` is the cycle whose inputs are being set."""

    def __init__(self, dut: Any, monitor: Monitor) -> None:
        self.dut = dut
        self.monitor = monitor
        self.markers: dict[str, int] = {}

    @property
    def cycle(self) -> int:
        return len(self.monitor.rows)

    async def next(self, cycles: int = 1) -> None:
        for _ in range(cycles):
            await FallingEdge(self.dut.clk)

    def set(self, **values: int) -> None:
        for name, value in values.items():
            getattr(self.dut, name).value = value

    def get(self, name: str) -> int:
        return read_int(getattr(self.dut, name))

    def mark(self, name: str) -> None:
        self.markers[name] = self.cycle

    async def until(self, name: str, value: int, limit: int = 10_000) -> None:
        for _ in range(limit):
            if self.get(name) == value:
                return
            await self.next()
        raise AssertionError(f"{name} did not become {value} in {limit} cycles")


Scenario = Callable[[Driver, dict[str, Any]], Awaitable[None]]


async def _lfsr(drive: Driver, p: dict[str, Any]) -> None:
    await drive.next(2)
    for enable in p["enable"]:
        drive.set(enable=enable)
        await drive.next()
    drive.set(enable=0)
    await drive.next(2)


async def _pulse(
    drive: Driver, p: dict[str, Any], prefix: str = "", start: str = "start", bl: str = "bl"
) -> None:
    codes = f"{prefix}codes"
    await drive.next(1)
    for payload in p["payloads"]:
        drive.set(**{f"{codes}__valid": 1, f"{codes}__payload": payload})
        await drive.next()
    drive.set(**{f"{codes}__valid": 0})
    await drive.next()
    drive.mark("start")
    drive.set(**{start: 1, bl: p["bl"]})
    await drive.next(p["start_cycles"])
    drive.set(**{start: 0})
    drive.mark("start_released")
    await drive.next()
    await drive.until("busy", 0)
    await drive.next(2)


async def _answer_comparators(drive: Driver, p: dict[str, Any], prefix: str = "") -> None:
    """Per ADC: value(column) >= trial code, from the trial codes and the multiplexer shown now."""
    bits, adcs, per_adc = p["adc_bits"], p["adcs"], p["columns_per_adc"]
    trial = drive.get(f"{prefix}trial_code")
    select = drive.get(f"{prefix}mux_select")
    answer = 0
    for adc in range(adcs):
        column = adc * per_adc + select
        code = (trial >> (adc * bits)) & ((1 << bits) - 1)
        if column < p["columns"] and p["values"][column] >= code:
            answer |= 1 << adc
    drive.set(**{f"{prefix}comparator": answer})


async def _adc(drive: Driver, p: dict[str, Any]) -> None:
    drive.set(results__ready=1)
    await drive.next(1)
    drive.mark("start")
    drive.set(start=1)
    await drive.next()
    drive.set(start=0)
    for _ in range(100_000):
        await _answer_comparators(drive, p)
        await drive.next()
        if drive.get("busy") == 0:
            break
    await drive.next(2)


async def _chopper(drive: Driver, p: dict[str, Any]) -> None:
    await drive.next(1)
    for flip, line, flip_all in p["events"]:
        drive.set(
            flip=flip, flip_line=line, flip_all=flip_all, read_line=line, data_negative=p["data_negative"]
        )
        await drive.next()
    drive.set(flip=0, flip_all=0)
    await drive.next(2)


async def _strobe_and_wait(drive: Driver, p: dict[str, Any]) -> None:
    await drive.next(1)
    drive.mark("start")
    drive.set(start=1)
    await drive.next()
    drive.set(start=0)
    await drive.until("done", 1, limit=p.get("limit", 100_000))
    drive.mark("done")
    await drive.next(2)


async def _sbe(drive: Driver, p: dict[str, Any]) -> None:
    drive.set(vectors__ready=1)
    await drive.next(1)
    drive.set(start_batch=1)
    await drive.next()
    drive.set(start_batch=0)
    for payload in p["payloads"]:
        drive.set(samples__valid=1, samples__payload=payload)
        await drive.next()
        while not drive.monitor.rows[-1]["samples__ready"]:  # the word was not taken in that cycle
            await drive.next()
    drive.mark("last_word")
    drive.set(samples__valid=0)
    await drive.next()
    await drive.until("busy", 0)
    drive.mark("idle")
    drive.set(read=1)
    await drive.next()
    drive.set(read=0)
    await drive.next(2 * p["vector_words"] + 4)


async def _transfer(drive: Driver, p: dict[str, Any]) -> None:
    drive.set(result__ready=1)
    await drive.next(1)
    for _ in range(p["transfer_every"]):
        drive.set(update_done=1)
        await drive.next()
        drive.set(update_done=0)
    drive.mark("update_done")
    await drive.until("transfer_due", 1)
    for code in p["codes"]:
        drive.set(readout__valid=1, readout__payload=code)
        await drive.next()
        while not drive.monitor.rows[-1]["readout__ready"]:
            await drive.next()
    drive.set(readout__valid=0)
    await drive.until("busy", 0)
    drive.mark("idle")
    await drive.next(2)


async def _tile(drive: Driver, p: dict[str, Any]) -> None:
    drive.set(read_results__ready=1, transfer_results__ready=1)
    await drive.next(1)
    drive.mark("start")
    drive.set(update_start=1, update_bl=p["bl"])
    await drive.next()
    drive.set(update_start=0)
    for _ in range(100_000):  # the update, then any transfer read it made due
        await _answer_comparators(drive, p, prefix="adc_")
        await drive.next()
        if drive.get("busy") == 0:
            break
    drive.mark("read_codes")
    for payload in p["dac_payloads"]:
        drive.set(dac_codes__valid=1, dac_codes__payload=payload)
        await drive.next()
        while not drive.monitor.rows[-1]["dac_codes__ready"]:
            await drive.next()
    drive.set(dac_codes__valid=0, read_start=1)
    drive.mark("read_start")
    await drive.next()
    drive.set(read_start=0)
    for _ in range(100_000):
        await _answer_comparators(drive, p, prefix="adc_")
        await drive.next()
        if drive.get("busy") == 0:
            break
    await drive.next(2)


SCENARIOS: dict[str, Scenario] = {
    "lfsr": _lfsr,
    "pulse-generator": _pulse,
    "adc-readout": _adc,
    "chopper": _chopper,
    "schedule-controller": _strobe_and_wait,
    "sbe-unit": _sbe,
    "transfer-controller": _transfer,
    "tile-periphery": _tile,
}


@cocotb.test()
async def datasheet_scenario(dut: Any) -> None:
    """Reset, read the outputs in reset, run the block's scenario and report the trace."""
    parameters = bench_parameters()
    ports: list[dict[str, Any]] = parameters["ports"]
    for port in ports:
        if port["direction"] == "in":
            getattr(dut, port["name"]).value = 0
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    in_reset = {
        port["name"]: _value(getattr(dut, port["name"])) for port in ports if port["direction"] == "out"
    }
    dut.rst.value = 0
    monitor = Monitor(dut, [port["name"] for port in ports])
    drive = Driver(dut, monitor)
    await SCENARIOS[parameters["block"]](drive, parameters["scenario"])
    await RisingEdge(dut.clk)
    report(reset_values=in_reset, trace=monitor.rows, markers=drive.markers)
