"""The contract every part of the report follows, and the helpers the parts share.

A part is a :class:`Part`: a key, a title, the config section whose ``enabled`` switch turns it on, and a
``plan`` function. ``plan(config)`` returns one or more :class:`PartPlan`: independent
:class:`~pulsetrain.executor.Run` objects (module-level run functions fed with plain data, hashed for the
run cache) and an ``assemble`` function that turns their results into a :class:`PartOutcome`: the page
section, the part's entry in ``results.json`` (a :class:`PartData`) and per-algorithm numbers for the
summary table (:class:`AlgorithmNumbers`). A part that cannot run here raises :class:`Unavailable` while
planning; the page then says "not available: <reason>" and nothing is made up.

Run functions take the executor's plain data and rebuild their frozen spec first
(:func:`spec_from_plain`); they import the heavy packages (the model, Amaranth, cocotb, Yosys) inside, so
that those load in the worker that runs them, not in the process that draws the progress display.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pulsetrain.config import to_plain
from pulsetrain.executor import Run, RunFailure
from pulsetrain.report.page import Section

if TYPE_CHECKING:
    from pulsetrain.report.config import ReportConfig

#: digits data: 8x8 pixels in, 10 classes out (sklearn's embedded set)
DIGITS_INPUTS = 64
DIGITS_CLASSES = 10

SpecT = TypeVar("SpecT")


class Unavailable(Exception):
    """A part cannot run here; the message says why (shown as "not available: ...")."""


@dataclass(frozen=True, kw_only=True)
class PartData:
    """A part's entry in ``results.json`` (``sections -> key``); subclasses add the part's results."""

    #: ``ok``, ``failed`` (a run failed) or ``not available`` (the part did not run)
    status: str

    def document(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        plain: dict[str, Any] = to_plain(self)
        return plain


@dataclass(frozen=True, kw_only=True)
class NoResult(PartData):
    """A part that produced no result: switched off, not available here, or its run failed."""

    #: why, in one line (also shown on the page)
    reason: str


@dataclass(frozen=True, kw_only=True)
class AlgorithmNumbers:
    """Per-algorithm numbers one part adds to the summary table (subclassed by each contributing part)."""

    def document(self) -> dict[str, Any]:
        """Plain JSON-ready data, merged into ``results.json -> algorithms -> NAME``."""
        plain: dict[str, Any] = to_plain(self)
        return plain


@dataclass(frozen=True, kw_only=True)
class PartOutcome:
    """What one part contributes to the report."""

    #: the page section (a builder, filled while assembling)
    section: Section
    #: the part's entry in results.json
    data: PartData
    #: per-algorithm numbers for the summary table (merged across parts)
    algorithms: Mapping[str, AlgorithmNumbers] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PartPlan:
    """A planned part: its runs and how to assemble their results."""

    #: the section key (``results.json -> sections``) and page anchor
    key: str
    #: the section title
    title: str
    #: independent runs, sent through the report's one executor
    runs: tuple[Run, ...] = ()
    #: turns the runs' results (a :class:`~pulsetrain.executor.RunFailure` where one failed) into an outcome
    assemble: Callable[[list[Any]], PartOutcome] | None = None
    #: when set, the part does not run and its section says why
    unavailable: str | None = None
    #: a part whose runs depend on another part's results: that part's key ...
    after: str | None = None
    #: ... and the function that plans this part's runs from those results (``runs`` is then ignored)
    plan_after: Callable[[list[Any]], list[Run]] | None = None


@dataclass(frozen=True, kw_only=True)
class Part:
    """A registered part of the report (see :data:`pulsetrain.report.parts.PARTS`)."""

    #: the section key (several sections for a part that plans more than one, e.g. ``study-NAME``)
    key: str
    #: the section title shown when the part is switched off or not available
    title: str
    #: the config section (``training``, ``cosim``, ``cost``, ``studies``) whose ``enabled`` turns it on
    switch: str
    #: the planner: config in, one or more plans out; raises :class:`Unavailable` when it cannot run
    plan: Callable[[ReportConfig], list[PartPlan]]


def require(module: str, *names: str) -> Any:
    """Import ``module`` and check it has ``names``; raise :class:`Unavailable` naming what is missing."""
    try:
        loaded = importlib.import_module(module)
    except ImportError as error:
        raise Unavailable(f"{module} cannot be imported ({error})") from None
    missing = [name for name in names if not hasattr(loaded, name)]
    if missing:
        raise Unavailable(f"{module} has no {', '.join(missing)} yet")
    return loaded


def typed_run(function: Callable[[Mapping[str, Any]], Any], spec: Any, label: str) -> Run:
    """A :class:`~pulsetrain.executor.Run` of ``function`` on a frozen spec, sent as plain data."""
    return Run(function, to_plain(spec), label)


def spec_from_plain(cls: type[SpecT], plain: Mapping[str, Any]) -> SpecT:
    """Rebuild a frozen run spec from the plain data a worker receives (JSON lists back to tuples)."""
    names = {item.name for item in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in plain.items()
        if key in names
    }
    return cls(**values)


def failures(results: Sequence[Any]) -> list[RunFailure]:
    """The failed runs among ``results``."""
    return [result for result in results if isinstance(result, RunFailure)]


def failure_text(failed: Sequence[RunFailure]) -> str:
    """One line about the first failed run (and how many more failed)."""
    first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"run '{first.label}' failed: {first.error}{more}"


def failed_outcome(section: Section, failed: Sequence[RunFailure]) -> PartOutcome:
    """The outcome of a part whose run(s) failed: the section says which, results.json too."""
    section.unavailable = failure_text(failed)
    return PartOutcome(section=section, data=NoResult(status="failed", reason=section.unavailable))


def unavailable_outcome(key: str, title: str, reason: str) -> PartOutcome:
    """The outcome of a part that did not run."""
    section = Section(key, title, unavailable=reason)
    return PartOutcome(section=section, data=NoResult(status="not available", reason=reason))


def short(value: Any) -> str:
    """A compact table cell: floats to four significant digits, containers element by element."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(short(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {short(v)}" for k, v in value.items()) + "}"
    return str(value)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean of a non-empty sequence, as a Python float."""
    return float(sum(values) / len(values))
