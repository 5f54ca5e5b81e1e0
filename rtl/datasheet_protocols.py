"""Protocol rules and latency / throughput formulas of every periphery block, for its datasheet.

Each entry of :data:`PROTOCOLS` turns a block's config into its :class:`~pulsetrain.rtl.datasheet.Protocol`.
The formulas restate the cycle behaviour of the generators (each names its source) and are checked in a
simulation of the emitted Verilog by :mod:`pulsetrain.cosim.datasheet`; a formula whose measured value
differs fails the datasheet test. Cycle ``c`` is the clock period that begins at rising edge ``c``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulsetrain.rtl.datasheet import Formula, Protocol

from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig
from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode
from pulsetrain.periphery.lfsr import LfsrConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig, PulseMode
from pulsetrain.periphery.sbe import SbeConfig
from pulsetrain.periphery.schedule import ScheduleConfig
from pulsetrain.periphery.transfer import TransferControllerConfig

#: train length the pulse generator's diagram and checks use (at most the config's ``bl_max``).
DIAGRAM_BL = 3


def diagram_bl(config: PulseGeneratorConfig) -> int:
    """Train length of the pulse generator's diagram."""
    return min(DIAGRAM_BL, config.bl_max)


def _lfsr(config: LfsrConfig) -> Protocol:
    rules = (
        (
            "`state` is the register itself: `seed` after reset, "
            f"{config.form.value} feedback on taps {list(config.tap_stages)} (XAPP052 stage numbers, stage "
            "t is bit t-1)."
        ),
        (
            f"`enable` high in cycle c: at edge c + 1 the state advances by {config.steps_per_advance} "
            "single step(s); "
            "low: it holds."
        ),
    )
    formulas = (
        Formula("advance_latency", "cycles from enable high to the advanced state", "1", 1),
        Formula("period", "states before the sequence repeats", "2**width - 1", config.period, "advances"),
    )
    return Protocol(rules, formulas)


def _pulse(config: PulseGeneratorConfig) -> Protocol:
    bl = diagram_bl(config)
    rules = [
        (
            "`codes` is a valid/ready stream: a word moves in a cycle where `codes__valid` and "
            "`codes__ready` are "
            "both high; `ready` is exactly `~busy`. One word per line: `line` (x lines 0..x_lines-1, d lines "
            "follow), its `code` and its sign `negative`; codes are held until rewritten."
        ),
        (
            "`start` high in cycle c with `busy` low and `bl` != 0 starts a train of `bl` slots (bl sampled "
            "with "
            "start; `bl == 0` does nothing); `start` while `busy` is ignored."
        ),
        (
            "`busy` is high in cycles c+1 .. c+bl+1; slot t (t = 0..bl-1) is presented in cycle c+2+t with "
            "`slot_valid` high and `x_fire`/`d_fire` holding it; `slot_last` marks slot bl-1. `busy` covers "
            "every presented slot; `start` held high starts a new train every bl+2 cycles."
        ),
        "`x_negative`/`d_negative` show the sign words as last written (they do not depend on the train).",
    ]
    if config.mode is PulseMode.STOCHASTIC:
        rules.append(
            "stochastic: a line fires in a slot when its draw (the low probability_bits bits of its LFSR, "
            "XOR its decorrelator LFSR with streams = combined) is below its code; the LFSRs advance once "
            "per "
            "slot and keep their state between trains (pulsetrain.periphery.pulse)."
        )
    else:
        rules.append(
            "deterministic: an x line with code n fires in slots 0..n-1; a d line spreads its n pulses "
            "evenly "
            "(fires at slot t iff floor((t+1) n / bl) > floor(t n / bl))."
        )
    formulas = (
        Formula("first_slot_latency", "start cycle to the cycle of slot 0", "2", 2),
        Formula("busy_cycles", f"cycles busy per train (bl = {bl})", "bl + 1", bl + 1),
        Formula("train_period", f"cycles between back-to-back starts (bl = {bl})", "bl + 2", bl + 2),
        Formula("code_write_cycles", "cycles per code word (ready high)", "1", 1),
        Formula("code_load_cycles", "cycles to load every line's code", "x_lines + d_lines", config.lines),
    )
    return Protocol(tuple(rules), formulas)


def adc_phase_cycles(config: AdcReadoutConfig, phase: int) -> int:
    """Busy cycles of one SAR phase with an always-ready consumer (pulsetrain.periphery.adc)."""
    return config.settle_cycles + config.adc_bits * config.compare_cycles + config.active_adcs(phase)


def _adc(config: AdcReadoutConfig) -> Protocol:
    k = config.columns_per_adc
    rules = [
        (
            f"`start` high in cycle c with `busy` low starts a readout of all {config.columns} columns; "
            "`busy` is "
            "high from cycle c+1 until the last result has been taken."
        ),
        (
            f"{config.adcs} ADCs work in lockstep, one phase per multiplexer setting: ADC a reads column "
            f"a * {k} + `mux_select`; phases run `mux_select` = 0..{k - 1}."
        ),
        f"settle: `sample` high for settle_cycles = {config.settle_cycles} cycles on the new column.",
    ]
    if config.mode is AdcMode.SAR:
        rules.append(
            f"compare (SAR): adc_bits = {config.adc_bits} trials, MSB first, each held compare_cycles = "
            f"{config.compare_cycles} cycle(s) on `trial_code[a]`; in the last cycle of a trial `compare` is "
            "high and `comparator[a]` (value >= DAC(trial code)) is sampled at the end of that cycle; a 1 "
            "keeps the trial bit."
        )
    else:
        rules.append(
            "compare (ramp): one shared ramp 1, 2, ... on every `trial_code[a]`; an ADC's code is ramp-1 at "
            "its first comparator 0 (sampled in `compare` cycles), full scale if it never drops; data-"
            "dependent length."
        )
    rules.append(
        "output: the phase's codes leave on `results` (valid/ready), one (`column`, `code`) per cycle in ADC "
        "order, each waiting for `results__ready`."
    )
    total = sum(adc_phase_cycles(config, phase) for phase in range(k))
    formulas = [
        Formula(
            "phase_cycles",
            "busy cycles of phase 0 (ready always high)",
            "settle_cycles + adc_bits * compare_cycles + active ADCs",
            adc_phase_cycles(config, 0),
        ),
        Formula("readout_cycles", "busy cycles of a whole readout", "sum over phases of the above", total),
        Formula("results", "results per readout", "columns", config.columns, "words"),
    ]
    if config.mode is AdcMode.RAMP:
        formulas = formulas[2:]  # conversion time depends on the values read
    return Protocol(tuple(rules), tuple(formulas))


def _chopper(config: ChopperConfig) -> Protocol:
    decision = (
        f"one LFSR advance per event; flip when its draw < flip_code = {config.flip_code}"
        if config.mode is ChopperMode.RANDOM
        else f"a sweep counter of events on line 0 (or flip_all) modulo {config.regular_period}; flip at 0"
    )
    rules = (
        "a flip event is `flip` high for one cycle, addressing `flip_line` (or every line with `flip_all`).",
        f"decision: {decision}; effective flip probability {config.effective_flip_probability:g}.",
        "`negative` (1: sign -1) and `flipped` change at the edge that ends the event cycle.",
        (
            "write path: `chopped_negative = data_negative ^ negative`, read path: `read_negative = "
            "negative[read_line]`, both combinational (same cycle)."
        ),
    )
    formulas = (
        Formula("sign_latency", "event cycle to the cycle the new sign shows", "1", 1),
        Formula("event_throughput", "events accepted per cycle", "1", 1, "events"),
    )
    return Protocol(rules, formulas)


def _schedule(config: ScheduleConfig) -> Protocol:
    phases = config.phase_cycles()
    rules = (
        "`start` high in cycle c while idle starts one training sample; `busy` is high while it runs.",
        (
            f"{config.mode.value} plan of {len(phases)} phases; in a phase's first cycle the controller "
            "raises the "
            "one-cycle `<kind>_start[layer]` strobe of every operation in it; the next phase's strobes "
            "follow "
            "the cycle after the phase's slowest operation ends (fixed costs from the config's timing)."
        ),
        (
            "`done` pulses for one cycle after the last phase; `cycles` then holds the sample's length "
            "(first "
            "strobe cycle to the end of the last phase; it saturates)."
        ),
    )
    formulas = (
        Formula(
            "sample_cycles", "cycles of one sample (the `cycles` output)", "sum(phase_cycles())", sum(phases)
        ),
        Formula("phases", "phases per sample", "len(phases())", len(phases), "phases"),
    )
    return Protocol(rules, formulas)


def _sbe(config: SbeConfig) -> Protocol:
    rules = (
        "`start_batch` (one cycle, idle) forgets the running sums; the next sample overwrites X and D.",
        (
            f"per sample the host streams cols = {config.cols} error codes d, then rows = {config.rows} "
            "input codes "
            "x on `samples` (valid/ready); the unit then runs three passes over its memories and three "
            "normalizations (`busy` high) before taking the next sample."
        ),
        (
            "`read` (one cycle, idle) streams X (rows words) then D (cols words) out on `vectors` "
            "(valid/ready); "
            "`x_norm_sq`, `d_norm_sq`, `sigma_sum` and `count` are plain outputs."
        ),
        "memories have synchronous read ports: every element takes two cycles (address, then data).",
    )
    formulas = (
        Formula(
            "sample_cycles",
            "cycles between the first words of back-to-back samples (gap-free input stream)",
            "1 + 2 * (2 * cols + rows) + 3 * (1 + normalize_cycles)",
            config.sample_cycles,
        ),
        Formula("vector_words", "words per `read`", "rows + cols", config.rows + config.cols, "words"),
    )
    return Protocol(rules, formulas)


def _transfer(config: TransferControllerConfig) -> Protocol:
    rules = (
        (
            "`update_done` (one cycle per update of A) is counted while `busy` is low; every "
            f"transfer_every = {config.transfer_every} updates a transfer event of one column starts."
        ),
        (
            "`transfer_due` high and `column` valid: the host reads that column of A and sends its out_size "
            f"= {config.out_size} ADC codes on `readout` (valid/ready), row 0 first."
        ),
        (
            "each accepted code yields one `result` record (row, column, pulses to C, H after, reference, "
            "accumulated) after the H update; `result` is valid/ready."
        ),
        "`in_negative` / `out_negative` (chopper signs) change only while `busy`.",
    )
    formulas = (
        Formula(
            "column_cycles",
            "busy cycles of one column transfer (no stalls, not at the end of a pass)",
            "1 + 3 * out_size + 2",
            config.column_cycles(),
        ),
        Formula("results", "result records per column", "out_size", config.out_size, "records"),
    )
    return Protocol(rules, formulas)


def _tile(config: Any) -> Protocol:
    pulse: PulseGeneratorConfig = config.pulse
    bl = diagram_bl(pulse)
    adc = config.adc_config if hasattr(config, "adc_config") else config.adc
    rules = (
        (
            "one sequencer shares array A between updates, host reads and transfer reads; transfers take "
            "priority; `busy` is high while any of them runs."
        ),
        (
            "update: write every line's code on `update_codes` (as the pulse generator's `codes`), then "
            "`update_start` with `update_bl`; the pulse generator's slot timing follows (`slot_valid`, "
            "`x_fire`/`d_fire`, signs XOR the transfer controller's chopper signs)."
        ),
        (
            "host read: `in_size` words on `dac_codes` (the last word lands on line in_size-1), then "
            "`read_start`; `dac_enable` with `dac_code` drive the inputs while the ADC readout converts "
            "every "
            "column, and its (`column`, `code`) records leave on `read_results`."
        ),
        (
            "transfer read (automatic after transfer_every updates): one-hot DAC input on the due column, "
            "the "
            "ADC codes go to the transfer controller, its records leave on `transfer_results` and on "
            "`c_pulse_*` towards array C."
        ),
    )
    formulas = (
        Formula("first_slot_latency", "update_start cycle to the cycle of slot 0", "2", 2),
        Formula("update_slots", f"slots per update (bl = {bl})", "bl", bl, "slots"),
        Formula("read_results", "records per host read", "out_size", adc.columns, "words"),
    )
    return Protocol(rules, formulas)


#: block name (:data:`pulsetrain.catalogue.BLOCKS`) -> its protocol builder.
PROTOCOLS: dict[str, Callable[[Any], Protocol]] = {
    "lfsr": _lfsr,
    "pulse-generator": _pulse,
    "adc-readout": _adc,
    "chopper": _chopper,
    "schedule-controller": _schedule,
    "sbe-unit": _sbe,
    "transfer-controller": _transfer,
    "tile-periphery": _tile,
}
