"""Tile periphery of one TTv2-family layer: pulse generator, ADC readout and transfer controller around
the analog arrays A and C, with plain ports towards the arrays and streams towards the host.

The layer's weight matrix is ``out_size x in_size``: ``in_size`` x lines (array rows, driven by DACs and
by the x pulse lines) and ``out_size`` d lines (array columns, read by the ADCs and driven by the d pulse
lines). A is shared by three operations, arbitrated by one sequencer here:

update (host: ``update_codes`` stream, then ``update_start`` with ``update_bl``)
    the pulse generator runs ``bl`` slots on A's pulse lines. The chopper signs of the transfer
    controller (c-TTv2 / AGAD input and output choppers) are XORed onto the sign lines: the chopper's
    write path. When the train ends the transfer controller counts one update of A (``bl = 0``: no
    pulses, still one update).
forward read (host: ``dac_codes`` stream, then ``read_start``)
    the host writes the ``in_size`` DAC codes in line order (the last word written lands on line
    ``in_size - 1``: a shift-register chain, no address decoder); during the read the DACs drive them,
    the ADC readout converts every column and its ``(column, code)`` records go to the host on
    ``read_results``.
transfer read (automatic, whenever the transfer controller has a column due)
    the DACs drive a one-hot input on the due column (full-scale positive code on that line, 0
    elsewhere); the ADC codes (offset binary, mid-scale = 0) are collected in a small memory, converted
    to two's complement and handed to the transfer controller row 0 first (it expects rows in order,
    the ADCs deliver them in multiplexer order). The controller applies the chopper's read path, updates
    H, and its per-row results go to the host on ``transfer_results``; each record with non-zero pulses
    also appears on the ``c_pulse_*`` ports towards array C.

Transfers take priority over host commands, so that H sees every due column before A changes again.

The chopper: the c-TTv2 / AGAD chopper signs are the shared chopper block
(:class:`pulsetrain.rtl.chopper.ChopperSign`) instantiated inside the transfer controller, which drives its
flip events from its column reads (its read path is applied there, to the ADC codes entering H); this top
applies the write path, XORing those signs onto A's sign lines during updates. A second, stand-alone
ChopperSign here would hold a copy of the signs that could disagree, so there is none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from amaranth.hdl import Cat, Const, Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from pulsetrain.rtl.adc_readout import AdcReadout
from pulsetrain.rtl.adc_readout import result_layout as adc_result_layout
from pulsetrain.rtl.pulse_generator import PulseGenerator, code_layout
from pulsetrain.rtl.transfer_controller import TransferController

from pulsetrain.config import ConfigError, check_int
from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig
from pulsetrain.periphery.transfer import TransferControllerConfig

__all__ = ["TilePeriphery", "TilePeripheryConfig"]


@dataclass(frozen=True, kw_only=True)
class TilePeripheryConfig:
    """One layer's periphery: array size, DAC width and the configs of the composed blocks.

    The sizes of the nested configs follow ``in_size`` / ``out_size`` (``pulse.x_lines``,
    ``pulse.d_lines``, ``adc.columns``, ``transfer.in_size``, ``transfer.out_size`` are set from them,
    ``adc.columns_per_adc`` is capped at ``out_size`` and ``transfer.adc_bits`` follows ``adc.adc_bits``),
    so that one ``--set in_size=512`` resizes the whole tile.
    """

    #: x lines of the layer (array rows: DAC inputs and x pulse lines).
    in_size: int = 64
    #: d lines of the layer (array columns: ADC outputs and d pulse lines).
    out_size: int = 64
    #: bits of each input DAC code (two's complement; the transfer read drives ``2**(dac_bits-1) - 1``).
    dac_bits: int = 8
    #: update pulse generator of A.
    pulse: PulseGeneratorConfig = field(default_factory=PulseGeneratorConfig)
    #: ADC readout of A's columns.
    adc: AdcReadoutConfig = field(default_factory=AdcReadoutConfig)
    #: TTv2 / c-TTv2 / AGAD transfer controller.
    transfer: TransferControllerConfig = field(default_factory=TransferControllerConfig)

    def __post_init__(self) -> None:
        check_int("tile.in_size", self.in_size, 1, 4096)
        check_int("tile.out_size", self.out_size, 1, 4096)
        check_int("tile.dac_bits", self.dac_bits, 2, 16)
        for name, kind in (
            ("pulse", PulseGeneratorConfig),
            ("adc", AdcReadoutConfig),
            ("transfer", TransferControllerConfig),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(f"tile.{name} must be a {kind.__name__}, not {getattr(self, name)!r}")
        # derive the nested sizes (each replace validates the nested config again)
        pulse = dataclasses.replace(self.pulse, x_lines=self.in_size, d_lines=self.out_size)
        adc = dataclasses.replace(
            self.adc, columns=self.out_size, columns_per_adc=min(self.adc.columns_per_adc, self.out_size)
        )
        transfer = dataclasses.replace(
            self.transfer,
            in_size=self.in_size,
            out_size=self.out_size,
            adc_bits=adc.adc_bits,
        )
        object.__setattr__(self, "pulse", pulse)
        object.__setattr__(self, "adc", adc)
        object.__setattr__(self, "transfer", transfer)

    @property
    def dac_full_scale(self) -> int:
        """The DAC code of the one-hot transfer read (largest positive code)."""
        return (1 << (self.dac_bits - 1)) - 1


class TilePeriphery(wiring.Component):
    """Periphery of one TTv2-family layer (see the module docstring for the protocol).

    Ports towards the host
    ----------------------
    ``update_codes`` (in stream), ``update_start``, ``update_bl`` (in)
        pulse codes per line, then a train of ``update_bl`` slots on A.
    ``dac_codes`` (in stream), ``read_start`` (in), ``read_results`` (out stream)
        forward read of A: ``in_size`` DAC codes in line order, start, ``(column, code)`` per column.
    ``transfer_results`` (out stream)
        the transfer controller's per-row records.
    ``busy`` (out), ``transferring`` (out)
        an operation or a transfer event is running (commands wait) / a transfer read is running.

    Ports towards the arrays
    ------------------------
    ``x_fire``, ``d_fire``, ``x_negative``, ``d_negative``, ``slot_valid``
        A's pulse lines (signs already chopped).
    ``dac_code``, ``dac_enable``
        input DAC codes and the enable that drives them onto A's rows.
    ``adc_mux_select``, ``adc_sample``, ``adc_trial_code``, ``adc_compare`` (out), ``adc_comparator`` (in)
        the ADC readout's analog-side ports.
    ``c_pulse_valid``, ``c_pulse_row``, ``c_pulse_column``, ``c_pulse_count``
        pulses for C: ``count`` (signed) pulses on device ``(row, column)`` of C, one record per cycle
        in which ``c_pulse_valid`` is high.
    """

    def __init__(self, config: TilePeripheryConfig) -> None:
        if not isinstance(config, TilePeripheryConfig):
            raise ConfigError(f"config must be a TilePeripheryConfig, not {config!r}")
        self._config = config
        # the blocks are built here so that their configs are checked before any port exists
        self._pulse = PulseGenerator(config.pulse)
        self._adc = AdcReadout(config.adc)
        self._transfer = TransferController(config.transfer)
        transfer_layout = self._transfer.layout
        adc_config = config.adc
        super().__init__(
            {
                "update_codes": In(stream.Signature(code_layout(config.pulse))),
                "update_start": In(1),
                "update_bl": In(config.pulse.bl_counter_bits),
                "dac_codes": In(stream.Signature(signed(config.dac_bits))),
                "read_start": In(1),
                "read_results": Out(stream.Signature(adc_result_layout(adc_config))),
                "transfer_results": Out(stream.Signature(transfer_layout)),
                "busy": Out(1),
                "transferring": Out(1),
                "x_fire": Out(config.in_size),
                "d_fire": Out(config.out_size),
                "x_negative": Out(config.in_size),
                "d_negative": Out(config.out_size),
                "slot_valid": Out(1),
                "dac_code": Out(data.ArrayLayout(signed(config.dac_bits), config.in_size)),
                "dac_enable": Out(1),
                "adc_mux_select": Out(range(adc_config.columns_per_adc)),
                "adc_sample": Out(1),
                "adc_trial_code": Out(data.ArrayLayout(unsigned(adc_config.adc_bits), adc_config.adcs)),
                "adc_compare": Out(1),
                "adc_comparator": In(adc_config.adcs),
                "c_pulse_valid": Out(1),
                "c_pulse_row": Out(transfer_layout["row"].shape),
                "c_pulse_column": Out(transfer_layout["column"].shape),
                "c_pulse_count": Out(transfer_layout["pulses"].shape),
            }
        )

    @property
    def config(self) -> TilePeripheryConfig:
        """The config this top was built from."""
        return self._config

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.pulse = self._pulse
        m.submodules.adc = self._adc
        m.submodules.transfer = self._transfer
        self._update_path(m)
        host_dac = self._host_dac(m)
        self._adc_ports(m)
        self._transfer_results(m)
        reorder = self._transfer_read(m)
        sequencer = self._sequencer(m, host_dac, reorder)
        m.d.comb += self.busy.eq(~sequencer.ongoing("IDLE") | self._transfer.busy)
        return m

    def _update_path(self, m: Module) -> None:
        """Update path: codes in, the pulse train out, its signs chopped by the transfer controller's."""
        pulse, transfer = self._pulse, self._transfer
        wiring.connect(m, wiring.flipped(self.update_codes), pulse.codes)
        m.d.comb += [
            self.x_fire.eq(pulse.x_fire),
            self.d_fire.eq(pulse.d_fire),
            self.slot_valid.eq(pulse.slot_valid),
            self.x_negative.eq(pulse.x_negative ^ transfer.in_negative),
            self.d_negative.eq(pulse.d_negative ^ transfer.out_negative),
            pulse.bl.eq(self.update_bl),
        ]

    def _host_dac(self, m: Module) -> Signal:
        """DAC registers written by the host: a shift chain; each word enters at line ``in_size - 1`` and
        pushes the others one line down."""
        config = self._config
        host_dac = Signal(data.ArrayLayout(signed(config.dac_bits), config.in_size))
        chain = host_dac.as_value()
        m.d.comb += self.dac_codes.ready.eq(1)
        with m.If(self.dac_codes.valid):
            m.d.sync += chain.eq(Cat(chain[config.dac_bits :], self.dac_codes.payload))
        return host_dac

    def _adc_ports(self, m: Module) -> None:
        """The ADC readout's analog-side ports, passed through."""
        adc = self._adc
        m.d.comb += [
            self.adc_mux_select.eq(adc.mux_select),
            self.adc_sample.eq(adc.sample),
            self.adc_trial_code.eq(adc.trial_code),
            self.adc_compare.eq(adc.compare),
            adc.comparator.eq(self.adc_comparator),
        ]

    def _transfer_results(self, m: Module) -> None:
        """Transfer results to the host, and the pulses they send to C."""
        transfer = self._transfer
        wiring.connect(m, transfer.result, wiring.flipped(self.transfer_results))
        record = transfer.result.payload
        m.d.comb += [
            self.c_pulse_valid.eq(transfer.result.valid & self.transfer_results.ready & (record.pulses != 0)),
            self.c_pulse_row.eq(record.row),
            self.c_pulse_column.eq(record.column),
            self.c_pulse_count.eq(record.pulses),
        ]

    def _transfer_read(self, m: Module) -> _TransferRead:
        """The reorder memory of a transfer read (codes by row) and the one-hot DAC input of the read."""
        config, adc, transfer = self._config, self._adc, self._transfer
        m.submodules.column_codes = column_codes = Memory(
            shape=unsigned(config.adc.adc_bits), depth=config.out_size, init=[]
        )
        codes_write = column_codes.write_port()
        codes_read = column_codes.read_port()
        row = Signal(range(config.out_size))
        m.d.comb += [
            codes_write.addr.eq(adc.results.payload.column),
            codes_write.data.eq(adc.results.payload.code),
            codes_read.addr.eq(row),
            # offset binary to two's complement: mid-scale is zero
            transfer.readout.payload.eq(codes_read.data - (1 << (config.adc.adc_bits - 1))),
            adc.results.ready.eq(0),
        ]
        # the transfer read's input: full scale on the due column, 0 elsewhere (a decoder, then AND)
        hot = Signal(config.in_size)
        m.d.comb += hot.eq(Const(1, config.in_size) << transfer.column)
        one_hot = Signal(data.ArrayLayout(signed(config.dac_bits), config.in_size))
        for line in range(config.in_size):
            m.d.comb += one_hot[line].eq(hot[line].replicate(config.dac_bits) & config.dac_full_scale)
        return _TransferRead(codes_write=codes_write, row=row, one_hot=one_hot)

    def _sequencer(self, m: Module, host_dac: Signal, reorder: _TransferRead) -> Any:
        """The sequencer of array A: updates, host reads and transfer reads, one at a time."""
        pulse, adc, transfer = self._pulse, self._adc, self._transfer
        row = reorder.row
        with m.FSM() as sequencer:
            with m.State("IDLE"):
                with m.If(transfer.transfer_due):
                    m.d.comb += adc.start.eq(1)
                    m.next = "TRANSFER_READ"
                with m.Elif(transfer.busy):
                    # between the columns of a transfer event (or drawing output chopper flips): the
                    # chopper signs may change, so host commands wait
                    pass
                with m.Elif(self.read_start):
                    m.d.comb += adc.start.eq(1)
                    m.next = "HOST_READ"
                with m.Elif(self.update_start):
                    with m.If(self.update_bl == 0):
                        m.d.comb += transfer.update_done.eq(1)
                    with m.Else():
                        m.d.comb += pulse.start.eq(1)
                        m.next = "UPDATE"
            with m.State("UPDATE"):
                with m.If(pulse.slot_valid & pulse.slot_last):
                    m.d.comb += transfer.update_done.eq(1)
                    m.next = "IDLE"
            with m.State("HOST_READ"):
                m.d.comb += [self.dac_enable.eq(1), self.dac_code.eq(host_dac)]
                wiring.connect(m, adc.results, wiring.flipped(self.read_results))
                with m.If(~adc.busy):
                    m.next = "IDLE"
            with m.State("TRANSFER_READ"):
                m.d.comb += [
                    self.transferring.eq(1),
                    self.dac_enable.eq(1),
                    self.dac_code.eq(reorder.one_hot),
                    adc.results.ready.eq(1),
                    reorder.codes_write.en.eq(adc.results.valid),
                ]
                with m.If(~adc.busy):
                    m.d.sync += row.eq(0)
                    m.next = "FEED_ADDRESS"
            with m.State("FEED_ADDRESS"):
                m.d.comb += self.transferring.eq(1)
                m.next = "FEED"
            with m.State("FEED"):
                m.d.comb += [self.transferring.eq(1), transfer.readout.valid.eq(1)]
                with m.If(transfer.readout.ready):
                    with m.If(row == self._config.out_size - 1):
                        m.next = "TRANSFER_FINISH"
                    with m.Else():
                        m.d.sync += row.eq(row + 1)
                        m.next = "FEED_ADDRESS"
            with m.State("TRANSFER_FINISH"):
                # the controller emits the last result and finishes the column (transfer_due drops)
                m.d.comb += self.transferring.eq(1)
                with m.If(~transfer.transfer_due):
                    m.next = "IDLE"
        return sequencer


@dataclass(frozen=True)
class _TransferRead:
    """What the sequencer drives during a transfer read: the reorder memory's write port, its row
    counter, and the one-hot DAC input."""

    codes_write: Any
    row: Signal
    one_hot: Signal
