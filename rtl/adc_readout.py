"""ADC readout control (:class:`AdcReadout`): column multiplexing, SAR / ramp sequencing, output stream.

Timing and conventions are in :mod:`pulsetrain.periphery.adc`; the twin is
:class:`pulsetrain.model.twins.adc.TwinAdcReadout`. Towards the analog side the block has plain ports: the
multiplexer select and sample-and-hold strobe shared by all ADCs, one trial code per ADC (to its DAC) and
one comparator bit per ADC back.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig


def result_layout(config: AdcReadoutConfig) -> data.StructLayout:
    """Payload of the ``results`` stream: which column, its code."""
    return data.StructLayout({"column": range(config.columns), "code": config.adc_bits})


class AdcReadout(wiring.Component):
    """Reads every column once per ``start``.

    Ports
    -----
    start : In(1)
        Begin a readout of all columns (ignored while ``busy``).
    busy : Out(1)
        A readout is in progress.
    mux_select : Out(range(columns_per_adc))
        Phase: every ADC ``a`` is connected to column ``a * columns_per_adc + mux_select``.
    sample : Out(1)
        Sample-and-hold tracking (high during the settle cycles of a phase).
    trial_code : Out(ArrayLayout(adc_bits, adcs))
        Code on each ADC's DAC during conversion.
    compare : Out(1)
        The comparators are sampled at the end of this cycle.
    comparator : In(adcs)
        Per ADC: analog value >= DAC(trial code).
    results : Out(stream.Signature(result_layout(config)))
        ``(column, code)`` per column.
    """

    def __init__(self, config: AdcReadoutConfig) -> None:
        self._config = config
        super().__init__(
            {
                "start": In(1),
                "busy": Out(1),
                "mux_select": Out(range(config.columns_per_adc)),
                "sample": Out(1),
                "trial_code": Out(data.ArrayLayout(unsigned(config.adc_bits), config.adcs)),
                "compare": Out(1),
                "comparator": In(config.adcs),
                "results": Out(stream.Signature(result_layout(config))),
            }
        )

    @property
    def config(self) -> AdcReadoutConfig:
        """The shared readout config."""
        return self._config

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        bits, adcs, k = config.adc_bits, config.adcs, config.columns_per_adc

        phase = Signal(range(k))
        count = Signal(range(max(config.settle_cycles, config.compare_cycles, 2)))
        bit = Signal(range(bits))
        ramp = Signal(bits)
        codes = Signal(data.ArrayLayout(unsigned(bits), adcs))
        done = Signal(adcs)
        out_index = Signal(range(max(adcs, 2)))  # (a 0-bit index would be [-1:0] in Verilog)

        last_active, exists = self._active_adcs(m, phase)

        m.d.comb += self.mux_select.eq(phase)
        trial_bit = Signal(bits)
        m.d.comb += trial_bit.eq(Const(1, bits) << bit)
        for adc in range(adcs):
            if config.mode is AdcMode.SAR:
                m.d.comb += self.trial_code[adc].eq(codes[adc] | trial_bit)
            else:
                m.d.comb += self.trial_code[adc].eq(ramp)

        m.d.comb += [
            self.results.payload.column.eq(out_index * k + phase),
            self.results.payload.code.eq(codes[out_index]),
        ]

        def begin_phase() -> None:
            m.d.sync += count.eq(0)

        def begin_conversion() -> None:
            m.d.sync += [count.eq(0), bit.eq(bits - 1), ramp.eq(1), codes.eq(0), done.eq(~exists)]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += phase.eq(0)
                    begin_phase()
                    m.next = "SETTLE"
            with m.State("SETTLE"):
                m.d.comb += [self.busy.eq(1), self.sample.eq(1)]
                m.d.sync += count.eq(count + 1)
                with m.If(count == config.settle_cycles - 1):
                    begin_conversion()
                    m.next = "CONVERT"
            with m.State("CONVERT"):
                m.d.comb += self.busy.eq(1)
                sampling = count == config.compare_cycles - 1
                m.d.comb += self.compare.eq(sampling)
                m.d.sync += count.eq(count + 1)
                with m.If(sampling):
                    m.d.sync += count.eq(0)
                    if config.mode is AdcMode.SAR:
                        self._sar_sample(m, codes, trial_bit, bit)
                    else:
                        self._ramp_sample(m, codes, done, ramp)
            with m.State("OUTPUT"):
                m.d.comb += [self.busy.eq(1), self.results.valid.eq(1)]
                with m.If(self.results.ready):
                    m.d.sync += out_index.eq(out_index + 1)
                    with m.If(out_index == last_active):
                        m.d.sync += out_index.eq(0)
                        with m.If(phase == k - 1):
                            m.next = "IDLE"
                        with m.Else():
                            m.d.sync += phase.eq(phase + 1)
                            begin_phase()
                            m.next = "SETTLE"
        return m

    def _active_adcs(self, m: Module, phase: Signal) -> tuple[Signal, Signal]:
        """The last ADC with a real column in this phase, and one bit per ADC that has one (only the
        last ADC can be idle, when ``columns`` is not a multiple of ``columns_per_adc``)."""
        config = self._config
        adcs, k = config.adcs, config.columns_per_adc
        remainder = config.columns - (adcs - 1) * k
        last_active = Signal(range(max(adcs, 2)))
        exists = Signal(adcs)
        if remainder == k or adcs == 1:
            m.d.comb += [last_active.eq(adcs - 1), exists.eq(Const((1 << adcs) - 1, adcs))]
        else:
            full = phase < remainder
            m.d.comb += [
                last_active.eq(Mux(full, adcs - 1, adcs - 2)),
                exists.eq(Const((1 << (adcs - 1)) - 1, adcs) | (full.as_unsigned() << (adcs - 1))),
            ]
        return last_active, exists

    def _sar_sample(self, m: Module, codes: data.View, trial_bit: Signal, bit: Signal) -> None:
        for adc in range(self._config.adcs):
            with m.If(self.comparator[adc]):
                m.d.sync += codes[adc].eq(codes[adc] | trial_bit)
        m.d.sync += bit.eq(bit - 1)
        with m.If(bit == 0):
            m.next = "OUTPUT"

    def _ramp_sample(self, m: Module, codes: data.View, done: Signal, ramp: Signal) -> None:
        config = self._config
        dropping = done | ~self.comparator  # done after this trial
        for adc in range(config.adcs):
            with m.If(~done[adc] & ~self.comparator[adc]):
                m.d.sync += codes[adc].eq(ramp - 1)
        m.d.sync += [done.eq(dropping), ramp.eq(ramp + 1)]
        with m.If(ramp == config.full_scale_code):
            for adc in range(config.adcs):
                with m.If(~dropping[adc]):
                    m.d.sync += codes[adc].eq(config.full_scale_code)
            m.next = "OUTPUT"
        with m.Elif(dropping.all()):
            m.next = "OUTPUT"
