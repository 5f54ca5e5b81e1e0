"""The verification kit every block bench is built from (runs inside the simulator, under cocotb).

Parts, kept apart as in cocotbext-axi's source / sink / monitor split:

:class:`StreamSource`
    drives a valid/ready stream from a queue of payloads, pausing ``valid`` between items as a
    :data:`Pattern` says (random idle cycles); never drops ``valid`` before the item is taken.
:class:`StreamSink`
    takes items from a stream, pulling ``ready`` low as a :data:`Pattern` says (random back-pressure),
    and records every handshake with its cycle.
:class:`Scoreboard`
    compares what the design produced with what the reference model (the block's digital twin) expects,
    in order, and remembers the first difference with its index and cycle.
back-pressure patterns
    :func:`always`, :func:`random_pattern`, :func:`periodic_pattern`: infinite iterators of booleans.

:class:`Bench`
    the set-up every block bench shares (parameters, config, seeded generator, clock and reset, cycle
    counter, scoreboard, coverage, closing report), so that a bench module holds only its driver,
    monitor, model and check.

Parameters reach a bench through :func:`bench_parameters`; measurements go back with :func:`report`.
Names of stream signals follow Amaranth's flattening of a port ``p`` of ``stream.Signature``:
``p__valid``, ``p__ready``, ``p__payload``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

#: an endless sequence of booleans: True = "go" (valid or ready high) in that cycle
Pattern = Iterator[bool]

PARAMETERS_ENV = "PULSETRAIN_BENCH_PARAMETERS"
RESULTS_ENV = "PULSETRAIN_BENCH_RESULTS"


def bench_parameters() -> dict[str, Any]:
    """The parameters the host passed to :func:`pulsetrain.cosim.runner.run_bench` (empty when none)."""
    path = os.environ.get(PARAMETERS_ENV)
    if not path or not Path(path).is_file():
        return {}
    loaded: dict[str, Any] = json.loads(Path(path).read_text())
    return loaded


def report(**measurements: Any) -> None:
    """Merge ``measurements`` into the run's results file (several tests of one run may each report)."""
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    file = Path(path)
    current: dict[str, Any] = json.loads(file.read_text()) if file.is_file() else {}
    current.update(measurements)
    file.write_text(json.dumps(current, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# --------------------------------------------------------------------------------------------------
# back-pressure / idle patterns
# --------------------------------------------------------------------------------------------------


def always() -> Pattern:
    """Go every cycle: no pauses, no back-pressure."""
    return itertools.repeat(True)


def random_pattern(rng: random.Random, go_probability: float) -> Pattern:
    """Go with probability ``go_probability`` in each cycle, independently (seeded by ``rng``)."""
    if not 0.0 < go_probability <= 1.0:
        raise ValueError(f"go_probability must be in (0, 1], not {go_probability!r}")
    while True:
        yield rng.random() < go_probability


def periodic_pattern(period: int, stalls: int = 1) -> Pattern:
    """``period - stalls`` go cycles then ``stalls`` stall cycles, repeated."""
    if not 0 <= stalls < period:
        raise ValueError(f"stalls must be in 0..{period - 1}, not {stalls!r}")
    return itertools.cycle([True] * (period - stalls) + [False] * stalls)


def pattern_from(name: str, rng: random.Random) -> Pattern:
    """A pattern by name, for bench parameters: ``always``, ``random50``, ``random80``, ``periodic3``."""
    if name == "always":
        return always()
    if name.startswith("random"):
        return random_pattern(rng, int(name.removeprefix("random")) / 100)
    if name.startswith("periodic"):
        return periodic_pattern(int(name.removeprefix("periodic")))
    raise ValueError(f"unknown pattern {name!r}: always, randomNN, periodicN")


# --------------------------------------------------------------------------------------------------
# clock, reset, signal helpers
# --------------------------------------------------------------------------------------------------


async def start_clock_and_reset(dut: Any, *, period_ns: int = 10, reset_cycles: int = 2) -> None:
    """Start ``dut.clk`` and hold Amaranth's synchronous ``dut.rst`` for ``reset_cycles`` edges."""
    Clock(dut.clk, period_ns, unit="ns").start()
    if hasattr(dut, "rst"):
        dut.rst.value = 1
        await ClockCycles(dut.clk, reset_cycles)
        dut.rst.value = 0
    await RisingEdge(dut.clk)


def read_int(signal: Any) -> int:
    """Unsigned integer value of a signal (X/Z raise, which is what a bench wants)."""
    value = signal.value
    # a one-bit signal reads as a Logic (no to_unsigned), wider ones as a LogicArray
    return int(value.to_unsigned()) if hasattr(value, "to_unsigned") else int(value)


def bits(value: int, width: int) -> list[bool]:
    """``value`` as ``width`` booleans, bit 0 first (one per line of a packed bus)."""
    return [bool((value >> i) & 1) for i in range(width)]


# --------------------------------------------------------------------------------------------------
# streams
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handshake:
    """One item that crossed a stream: its payload (as an integer) and the cycle it was taken."""

    payload: int
    cycle: int


class CycleCounter:
    """Counts rising edges of a clock from when it is started (the bench's time base)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.cycle = 0
        self._task = cocotb.start_soon(self._count())

    async def _count(self) -> None:
        while True:
            await RisingEdge(self.clock)
            self.cycle += 1


class StreamSource:
    """Drives stream ``prefix`` of ``dut``: payloads from a queue, ``valid`` gaps from ``pattern``."""

    def __init__(self, dut: Any, prefix: str, clock: Any, pattern: Pattern | None = None) -> None:
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.clock = clock
        self.pattern = pattern or always()
        self.queue: deque[int] = deque()
        self.sent = 0
        #: cycles in which valid was high and ready low (the design stalled this stream)
        self.stall_cycles = 0
        self.valid.value = 0
        self._task = cocotb.start_soon(self._drive())

    def send(self, payload: int) -> None:
        """Queue one payload (an integer: the packed bits of the payload)."""
        self.queue.append(payload)

    def idle(self) -> bool:
        """True when every queued payload has been taken."""
        return not self.queue and not int(self.valid.value)

    async def wait_idle(self) -> None:
        """Wait until every queued payload has been taken."""
        while not self.idle():
            await RisingEdge(self.clock)

    async def _drive(self) -> None:
        presenting = False
        while True:
            await RisingEdge(self.clock)
            if presenting:
                if int(self.ready.value):
                    self.queue.popleft()
                    self.sent += 1
                    presenting = False
                else:
                    self.stall_cycles += 1
            if not presenting:
                if len(self.queue) > 0 and next(self.pattern):
                    self.payload.value = self.queue[0]
                    self.valid.value = 1
                    presenting = True
                else:
                    self.valid.value = 0


class StreamSink:
    """Takes items from stream ``prefix`` of ``dut`` with ``ready`` from ``pattern`` (back-pressure)."""

    def __init__(
        self,
        dut: Any,
        prefix: str,
        clock: Any,
        pattern: Pattern | None = None,
        counter: CycleCounter | None = None,
        on_item: Callable[[Handshake], None] | None = None,
    ) -> None:
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.clock = clock
        self.pattern = pattern or always()
        self.counter = counter
        self.items: list[Handshake] = []
        self.on_item = on_item
        #: cycles in which the design offered an item and the sink refused it
        self.backpressure_cycles = 0
        self.ready.value = 0
        self._task = cocotb.start_soon(self._take())

    async def wait_for(self, count: int, timeout_cycles: int = 100_000) -> None:
        """Wait until ``count`` items have arrived; fail after ``timeout_cycles`` cycles."""
        for _ in range(timeout_cycles):
            if len(self.items) >= count:
                return
            await RisingEdge(self.clock)
        raise AssertionError(f"stream sink: {len(self.items)} of {count} items after {timeout_cycles} cycles")

    async def _take(self) -> None:
        ready = False
        while True:
            await RisingEdge(self.clock)
            valid = bool(int(self.valid.value))
            if ready and valid:
                item = Handshake(read_int(self.payload), self.counter.cycle if self.counter else -1)
                self.items.append(item)
                if self.on_item is not None:
                    self.on_item(item)
            elif valid:
                self.backpressure_cycles += 1
            ready = next(self.pattern)
            self.ready.value = int(ready)


# --------------------------------------------------------------------------------------------------
# scoreboard
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """The first disagreement between design and reference model."""

    index: int
    what: str
    design: Any
    model: Any
    cycle: int

    def __str__(self) -> str:
        where = f"item {self.index} ({self.what}) at cycle {self.cycle}"
        return f"{where}: design {self.design!r}, model {self.model!r}"


class Scoreboard:
    """In-order comparison of design outputs with reference-model predictions.

    ``expect`` queues what the model predicts; ``observe`` checks what the design produced against the
    oldest prediction. Every comparison counts; the first mismatch is kept, and :meth:`check` fails with
    it (the bench then ends with a waveform written by the runner).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.expected: deque[tuple[str, Any]] = deque()
        self.compared = 0
        self.mismatches = 0
        self.first_mismatch: Mismatch | None = None

    def expect(self, value: Any, what: str = "item") -> None:
        """Queue the model's prediction for the next observed item."""
        self.expected.append((what, value))

    def compare(self, what: str, design: Any, model: Any, cycle: int = -1) -> bool:
        """Compare one design value with one model value directly; True when equal."""
        self.compared += 1
        equal = bool(_equal(design, model))
        if not equal:
            self.mismatches += 1
            if self.first_mismatch is None:
                self.first_mismatch = Mismatch(self.compared - 1, what, design, model, cycle)
        return equal

    def observe(self, design: Any, cycle: int = -1) -> bool:
        """Check a design output against the oldest queued prediction."""
        if not self.expected:
            return self.compare("unexpected item", design, None, cycle)
        what, model = self.expected.popleft()
        return self.compare(what, design, model, cycle)

    def summary(self) -> dict[str, Any]:
        """Counts and the first mismatch, JSON-ready."""
        return {
            "compared": self.compared,
            "mismatches": self.mismatches,
            "pending": len(self.expected),
            "first_mismatch": str(self.first_mismatch) if self.first_mismatch else None,
        }

    def check(self) -> None:
        """Fail (AssertionError) on any mismatch or on predictions the design never produced."""
        if self.first_mismatch is not None:
            raise AssertionError(
                f"{self.name}: {self.mismatches} of {self.compared} comparisons differ; "
                f"first: {self.first_mismatch}"
            )
        if self.expected:
            raise AssertionError(f"{self.name}: {len(self.expected)} predicted items never came out")
        if self.compared == 0:
            raise AssertionError(f"{self.name}: nothing was compared")


def _equal(a: Any, b: Any) -> Any:
    try:
        import numpy as np

        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.array_equal(np.asarray(a), np.asarray(b))
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return a == b


async def settle() -> None:
    """Wait for the read-only phase of the current time step (combinational outputs are final)."""
    await ReadOnly()


def config_from_plain(cls: type[Any], plain: Mapping[str, Any]) -> Any:
    """Rebuild a frozen config dataclass from :func:`pulsetrain.config.to_plain` output (host -> bench).

    Nested config dataclasses, enums and tuples are restored from the field annotations, and the config
    validates itself again, so the bench runs exactly the configuration the host built the RTL from.
    """
    import dataclasses
    import enum
    import typing

    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name not in plain or not item.init:
            continue
        raw, annotation = plain[item.name], hints[item.name]
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType) and raw is not None:
            annotation = options[0]
        if dataclasses.is_dataclass(annotation) and isinstance(raw, Mapping):
            values[item.name] = config_from_plain(annotation, raw)  # type: ignore[arg-type]
        elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            values[item.name] = annotation(raw)
        elif typing.get_origin(annotation) is tuple and isinstance(raw, list):
            values[item.name] = tuple(tuple(r) if isinstance(r, list) else r for r in raw)
        else:
            values[item.name] = raw
    return cls(**values)


def decode_struct(layout: Any, value: int) -> dict[str, int]:
    """Fields of a packed Amaranth ``StructLayout`` value, signed fields sign-extended (no hand masks)."""
    fields: dict[str, int] = {}
    for name, item in layout:
        width = item.width
        raw = (value >> item.offset) & ((1 << width) - 1)
        if item.shape.signed and raw >> (width - 1):
            raw -= 1 << width
        fields[name] = raw
    return fields


# --------------------------------------------------------------------------------------------------
# the bench: the set-up every block bench shares
# --------------------------------------------------------------------------------------------------

ConfigT = TypeVar("ConfigT")


class Bench:
    """The plumbing of one block bench: parameters, its config, a seeded random generator, clock and
    reset, a cycle counter, the scoreboard, the coverage group, and the closing report.

    What stays in the bench module is what differs per block, kept apart as in cocotb's
    ``examples/matrix_multiplier`` tester: a *driver* (stimulus onto the ports), a *monitor* (the ports
    read back into a transaction), the *model* (the block's digital twin predicting the same
    transaction) and the *check* (``bench.scoreboard.compare``), plus the coverage it samples.

    Parameters
    ----------
    dut
        cocotb's handle of the top level.
    name
        The block's name: the scoreboard's and the coverage group's.
    """

    def __init__(self, dut: Any, name: str) -> None:
        from pulsetrain.cosim.coverage import Coverage

        self.dut = dut
        self.name = name
        #: the parameters the host passed (see :func:`bench_parameters`)
        self.parameters = bench_parameters()
        #: the bench's one random generator, seeded by the ``seed`` parameter (default 1)
        self.rng = random.Random(self.integer("seed", 1))
        self.scoreboard = Scoreboard(name)
        self.coverage = Coverage(name)
        self._counter: CycleCounter | None = None

    def config(self, cls: type[ConfigT]) -> ConfigT:
        """The ``config`` parameter rebuilt as ``cls`` (the config the host built the RTL from)."""
        built: ConfigT = config_from_plain(cls, self.parameters["config"])
        return built

    def integer(self, key: str, default: int) -> int:
        """An integer parameter."""
        return int(self.parameters.get(key, default))

    def real(self, key: str, default: float) -> float:
        """A real-valued parameter."""
        return float(self.parameters.get(key, default))

    def pattern(self, key: str, default: str) -> Pattern:
        """A back-pressure / idle pattern parameter (see :func:`pattern_from`), drawing on :attr:`rng`."""
        return pattern_from(str(self.parameters.get(key, default)), self.rng)

    async def start(self, *, idle_inputs: Mapping[str, int] | None = None, period_ns: int = 10) -> None:
        """Drive ``idle_inputs`` (port name -> value), start the clock, reset, then count cycles."""
        for port, value in (idle_inputs or {}).items():
            getattr(self.dut, port).value = value
        await start_clock_and_reset(self.dut, period_ns=period_ns)
        self._counter = CycleCounter(self.dut.clk)

    @property
    def counter(self) -> CycleCounter:
        """Rising edges since reset ended (after :meth:`start`)."""
        if self._counter is None:
            raise RuntimeError(f"{self.name} bench: start() was not awaited")
        return self._counter

    def finish(self, **measurements: Any) -> None:
        """Report the scoreboard, the coverage and ``measurements`` to the host, then fail on any mismatch."""
        report(scoreboard=self.scoreboard.summary(), coverage=self.coverage.summary(), **measurements)
        self.scoreboard.check()
