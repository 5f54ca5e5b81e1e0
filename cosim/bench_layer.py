"""Whole-layer bench: the tile periphery top of one TTv2-family layer driving a modelled A/C array pair.

The analog side is the model, through the bridges only: A's pulse lines go to tile A
(:class:`~pulsetrain.cosim.bridge.PulseLineBridge`), the ADC's comparator trials are answered from a
forward read of tile A with the DAC codes the RTL drives (:class:`~pulsetrain.cosim.bridge.
AdcComparatorBridge`), and the transfer's pulses for C go to tile C (:class:`~pulsetrain.cosim.bridge.
ColumnPulseBridge`). The host side sends random rank-1 updates (codes and BL).

The pure-model reference runs the same updates through the twins (pulse generator, ADC readout,
transfer controller) on shadow tiles A and C. Checked step for step: every transfer record (H, pulses
to C, reference, accumulated) and the chopper signs; at the end the analog weights of A and C must be
equal exactly (device noise off, so the order of the model calls cannot matter).

Kept apart: the stimulus (:func:`draw_update`), the driver (:class:`LayerDriver`), the monitor
(:class:`RecordMonitor`), the pure model (:class:`PureModel`) and the check (the scoreboard);
:class:`~pulsetrain.cosim.kit.Bench` holds the plumbing.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge
from pulsetrain.cosim.bridge import AdcComparatorBridge, ColumnPulseBridge, PulseLineBridge, dac_level
from pulsetrain.cosim.kit import Bench, StreamSink, StreamSource, decode_struct, read_int
from pulsetrain.cosim.transactors import PulseUpdate
from pulsetrain.model.devices import ConstantStepDevice
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, NoiseManagement, Tile, UpdateConfig
from pulsetrain.model.twins.adc import TwinAdcReadout
from pulsetrain.model.twins.pulse import TwinPulseGenerator
from pulsetrain.model.twins.transfer import TwinTransferPeriphery

from pulsetrain.periphery.transfer import TransferMode

if TYPE_CHECKING:
    from pulsetrain.model.transfer import TransferResult
    from pulsetrain.rtl.tile_periphery import TilePeripheryConfig


def array(out_size: int, in_size: int, seed: int) -> Tile:
    """A noiseless model array (device-to-device spread kept, cycle-to-cycle and read noise off).

    Coarse devices (``dw_min`` 0.02, about two thirds of an ADC LSB here) so that a short bench moves A by
    whole ADC codes between reads: AGAD's reference-subtracted reads then reach C's threshold too.
    """
    io = IOConfig(
        dac_bits=None, adc_bits=None, out_noise=0.0, out_bound=1.0, noise_management=NoiseManagement.NONE
    )
    return Tile(
        out_size,
        in_size,
        device=ConstantStepDevice(dw_min=0.02, dw_min_std=0.0),
        forward_io=io,
        backward_io=io,
        update=UpdateConfig(),
        output_scale=1.0,
        pulse_source=FloatPulseSource(np.random.default_rng(seed)),
        rng=np.random.default_rng(seed),
    )


def draw_update(config: TilePeripheryConfig, rng: random.Random) -> PulseUpdate:
    """Random BL, codes and signs."""
    bl = rng.randrange(1, config.pulse.bl_max + 1)
    full = 1 << config.pulse.probability_bits
    codes = np.array([rng.randrange(full + 1) for _ in range(config.pulse.lines)], dtype=np.int64)
    negative = np.array([rng.random() < 0.5 for _ in range(config.pulse.lines)])
    return PulseUpdate(bl, codes, negative)


class LayerDriver:
    """The host side: the update's codes into ``update_codes``, then BL and the ``update_start`` strobe."""

    def __init__(self, dut: Any, config: TilePeripheryConfig) -> None:
        from pulsetrain.rtl.pulse_generator import code_layout

        self.dut = dut
        self.lines = config.pulse.lines
        self.offsets = dict(code_layout(config.pulse))
        for name in ("update_codes__valid", "update_start", "update_bl", "dac_codes__valid", "read_start"):
            getattr(dut, name).value = 0
        dut.read_results__ready.value = 0
        dut.adc_comparator.value = 0
        self.source: StreamSource | None = None

    def start(self) -> None:
        """Attach the codes stream (after reset)."""
        self.source = StreamSource(self.dut, "update_codes", self.dut.clk)

    async def update(self, update: PulseUpdate) -> None:
        """Send one update and strobe it in once the periphery is idle."""
        assert self.source is not None, "start() first"
        offsets = self.offsets
        for line in range(self.lines):
            payload = (
                (line << offsets["line"].offset)
                | (int(update.codes[line]) << offsets["code"].offset)
                | (int(update.negative[line]) << offsets["negative"].offset)
            )
            self.source.send(payload)
        await self.source.wait_idle()
        await self.idle()
        self.dut.update_bl.value = update.bl
        self.dut.update_start.value = 1
        await FallingEdge(self.dut.clk)
        self.dut.update_start.value = 0

    async def idle(self) -> None:
        """The next falling edge at which the periphery is not busy."""
        await FallingEdge(self.dut.clk)
        while read_int(self.dut.busy):
            await FallingEdge(self.dut.clk)


class RecordMonitor:
    """The transfer records the periphery streams out, decoded (reference 0 outside AGAD)."""

    def __init__(self, dut: Any, config: TilePeripheryConfig) -> None:
        from pulsetrain.rtl.transfer_controller import result_layout

        self.layout = result_layout(config.transfer)
        self.agad = config.transfer.mode is TransferMode.AGAD
        self.rows = config.out_size
        self.sink = StreamSink(dut, "transfer_results", dut.clk)
        self.taken = 0

    async def column(self) -> list[dict[str, int]]:
        """The next column's records."""
        await self.sink.wait_for(self.taken + self.rows, timeout_cycles=1000)
        records = []
        for row in range(self.rows):
            record = decode_struct(self.layout, self.sink.items[self.taken + row].payload)
            if not self.agad:
                record["reference"] = 0
            records.append(record)
        self.taken += self.rows
        return records


class PureModel:
    """The same updates through the twins (pulse generator, ADC readout, transfer controller) on shadow
    tiles A and C."""

    def __init__(self, config: TilePeripheryConfig, initial: np.ndarray, seed: int) -> None:
        n_out, n_in = config.out_size, config.in_size
        self.config = config
        self.shadow_a, self.shadow_c = array(n_out, n_in, seed), array(n_out, n_in, seed + 1)
        self.shadow_a.set_weights(initial)
        self.generator = TwinPulseGenerator(config.pulse)
        self.readout = TwinAdcReadout(config.adc)
        self.transfer = TwinTransferPeriphery(config.transfer)
        self.lsb = 2.0 / (1 << config.adc.adc_bits)
        self.mid = 1 << (config.adc.adc_bits - 1)

    def update(self, update: PulseUpdate) -> None:
        """The update's trains on A, chopped by the signs of this moment."""
        n_in = self.config.in_size
        signs = self.transfer.signs()
        codes, negative = update.codes, update.negative
        trains = self.generator.fire(codes[:n_in], negative[:n_in], codes[n_in:], negative[n_in:], update.bl)
        self.shadow_a.apply_trains(
            PulseTrains(
                x_fire=trains.x_fire,
                d_fire=trains.d_fire,
                x_negative=trains.x_negative ^ (signs.in_signs < 0),
                d_negative=trains.d_negative ^ (signs.out_signs < 0),
            )
        )

    def transfer_column(self, column: int) -> tuple[TransferResult, list[dict[str, int]]]:
        """Read A's column through the ADC twin, transfer it, pulse C; the result and its records."""
        adc = self.config.adc
        one_hot = np.zeros(self.config.in_size)
        one_hot[column] = 1.0
        held = self.shadow_a.forward(one_hot[None, :])[0]
        conversion = self.readout.convert(lambda c, code: bool(held[c] >= dac_level(code, adc, self.lsb)))
        result = self.transfer.transfer(column, conversion.codes(self.config.out_size) - self.mid)
        self.shadow_c.apply_column_pulses(column, result.pulses)
        h_codes, references = self.transfer.h_codes(), self.transfer.reference_codes()
        agad = self.config.transfer.mode is TransferMode.AGAD
        records = [
            {
                "row": row,
                "column": column,
                "pulses": int(result.pulses[row]),
                "h": int(h_codes[row, column]),
                "reference": int(references[row, column]) if agad else 0,
                "accumulated": int(result.accumulated),
            }
            for row in range(self.config.out_size)
        ]
        return result, records


def dac_inputs(dut: Any, config: TilePeripheryConfig) -> np.ndarray:
    """The inputs the RTL's DAC codes stand for (signed codes over full scale)."""
    packed = read_int(dut.dac_code)
    width = config.dac_bits
    codes = [(packed >> (i * width)) & ((1 << width) - 1) for i in range(config.in_size)]
    signed = [c - (1 << width) if c >> (width - 1) else c for c in codes]
    return np.array(signed, dtype=np.float64) / config.dac_full_scale


@cocotb.test()
async def layer_matches_pure_model(dut: Any) -> None:
    """Random updates; transfers, chopper signs and the final A and C weights equal the pure model's."""
    from pulsetrain.rtl.tile_periphery import TilePeripheryConfig

    bench = Bench(dut, "tile_periphery")
    config = bench.config(TilePeripheryConfig)
    updates = bench.integer("updates", 30)
    seed = bench.integer("seed", 1)
    initial = np.random.default_rng(seed).uniform(-0.3, 0.3, (config.out_size, config.in_size))
    tile_a, tile_c = (
        array(config.out_size, config.in_size, seed),
        array(config.out_size, config.in_size, seed + 1),
    )
    tile_a.set_weights(initial)
    model = PureModel(config, initial, seed)
    driver = LayerDriver(dut, config)
    await bench.start()
    PulseLineBridge(dut, tile_a, has_slot_last=False)

    def read_a() -> np.ndarray:
        return tile_a.forward(dac_inputs(dut, config)[None, :])[0]

    AdcComparatorBridge(dut, config.adc, read_a, model.lsb, prefix="adc_")
    c_bridge = ColumnPulseBridge(dut, tile_c)
    driver.start()
    monitor = RecordMonitor(dut, config)
    c_cover = bench.coverage.point("pulses_to_c", ["up", "down"])
    chopped = config.transfer.mode is not TransferMode.TTV2
    flip_cover = bench.coverage.point("chopper_flipped", [True]) if chopped else None
    for update in range(updates):
        stimulus = draw_update(config, bench.rng)
        await driver.update(stimulus)
        model.update(stimulus)
        request = model.transfer.step()
        for _ in range(2):
            await FallingEdge(dut.clk)
        await driver.idle()
        if request is None:
            continue
        for column in request.columns:
            result, expected = model.transfer_column(column)
            for row, record in enumerate(await monitor.column()):
                bench.scoreboard.compare(f"update {update} column {column} row {row}", record, expected[row])
                if result.pulses[row]:
                    c_cover("up" if result.pulses[row] > 0 else "down")
            if flip_cover is not None and result.in_flipped:
                flip_cover(True)
    await ClockCycles(dut.clk, 5)
    bench.scoreboard.compare("array A weights", tile_a.weights(), model.shadow_a.weights())
    bench.scoreboard.compare("array C weights", tile_c.weights(), model.shadow_c.weights())
    bench.finish(c_records=c_bridge.records, transfers=monitor.taken // config.out_size)
