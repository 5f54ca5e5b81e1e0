"""The result of an estimate: terms (count x figure per operation) summed per category.

Every energy and area of an estimate is a :class:`Term`, so that each category is the sum of its terms and
each term can be checked against the table it came from; a category that could not be costed is NaN here
and ``None`` in JSON, never zero; what the estimate leaves out on purpose is listed in
:attr:`Estimate.not_costed`, so that a 0 on a page is never silent.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CATEGORIES", "Estimate", "Term"]

#: cost categories, in report order.
CATEGORIES: tuple[str, ...] = ("arrays", "adcs", "drivers", "pulses", "digital", "buffers", "movement")


@dataclass(frozen=True)
class Term:
    """One part of the estimate: ``count`` operations (or units) per sample times a figure per operation."""

    #: category (one of :data:`CATEGORIES`).
    category: str
    #: what is counted.
    what: str
    #: operations per sample (energy) or units (area).
    count: float
    #: pJ per operation (energy) or µm² per unit (area).
    per_unit: float
    #: low end of the per-unit figure where it is uncertain (converter FoM, activity), else ``per_unit``.
    low: float | None = None
    #: high end of the per-unit figure.
    high: float | None = None

    @property
    def value(self) -> float:
        """``count x per_unit``."""
        return self.count * self.per_unit

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high) of ``value``."""
        low = self.per_unit if self.low is None else self.low
        high = self.per_unit if self.high is None else self.high
        return self.count * min(low, high), self.count * max(low, high)


def _sums(terms: tuple[Term, ...], unavailable: dict[str, str]) -> dict[str, float]:
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for term in terms:
        totals[term.category] += term.value
    for category in unavailable:
        totals[category] = math.nan
    return totals


@dataclass(frozen=True)
class Estimate:
    """The estimate of one configuration.

    ``energy_per_sample_pJ`` and ``area_um2`` are the sums of ``energy_terms`` / ``area_terms`` per
    category; a category in ``unavailable`` is NaN here and ``None`` in :meth:`as_dict`, and so are the
    totals: a missing figure never becomes a zero.
    """

    config: dict[str, Any]
    technology: str
    #: every energy per sample, as count x figure per operation (pJ).
    energy_terms: tuple[Term, ...]
    #: every area, as units x area per unit (µm²).
    area_terms: tuple[Term, ...]
    #: category -> share of the per-sample latency (ns) on the critical path.
    latency_per_sample_ns: dict[str, float]
    #: "rtl simulation" or "model schedule".
    latency_source: str
    #: cycles per sample of the periphery clock.
    cycles_per_sample: int
    #: training samples per epoch.
    samples_per_epoch: int
    #: what the digital periphery is made of: block -> figures and provenance.
    digital_blocks: dict[str, Any] = field(default_factory=dict)
    #: assumptions and missing pieces.
    notes: tuple[str, ...] = ()
    #: energy per sample of the analog reads by purpose (forward, backward, feedback, transfer), pJ.
    read_energy_pJ: dict[str, float] = field(default_factory=dict)
    #: category -> why its figure is missing.
    unavailable: dict[str, str] = field(default_factory=dict)
    #: technology entries whose source says assumption / not verified.
    unverified: tuple[str, ...] = ()
    #: what the estimate does not cost -> why. A key that names a category (``digital``) marks that
    #: category's 0 as "not costed", not as a measured zero; the pages print it so.
    not_costed: dict[str, str] = field(default_factory=dict)

    def category_text(self, category: str, value: float, digits: int = 4, *, area: bool = False) -> str:
        """A table cell for ``category`` (its energy, or its area with ``area``): ``unavailable``,
        ``not costed`` or the figure."""
        if category in self.unavailable:
            return "unavailable"
        terms = self.area_terms if area else self.energy_terms
        if category in self.not_costed and not any(t.category == category for t in terms):
            return "not costed"
        return f"{value:.{digits}g}"

    @property
    def area_um2(self) -> dict[str, float]:
        """Category -> area (µm²)."""
        return _sums(self.area_terms, self.unavailable)

    @property
    def energy_per_sample_pJ(self) -> dict[str, float]:
        """Category -> energy per training sample (pJ)."""
        return _sums(self.energy_terms, self.unavailable)

    @property
    def energy_range_pJ(self) -> dict[str, tuple[float, float]]:
        """Category -> (low, high) energy per sample where an input is uncertain (FoM, activity)."""
        ranges = {category: (0.0, 0.0) for category in CATEGORIES}
        for term in self.energy_terms:
            low, high = term.bounds
            ranges[term.category] = (ranges[term.category][0] + low, ranges[term.category][1] + high)
        return {k: (math.nan, math.nan) if k in self.unavailable else v for k, v in ranges.items()}

    @property
    def total_area_um2(self) -> float:
        return sum(self.area_um2.values())

    @property
    def total_energy_per_sample_pJ(self) -> float:
        return sum(self.energy_per_sample_pJ.values())

    @property
    def total_latency_per_sample_ns(self) -> float:
        return sum(self.latency_per_sample_ns.values())

    @property
    def energy_per_epoch_uJ(self) -> float:
        """Energy of one epoch (µJ): per-sample pJ x samples x 1e-6."""
        return self.total_energy_per_sample_pJ * self.samples_per_epoch * 1e-6

    @property
    def latency_per_epoch_ms(self) -> float:
        """Latency of one epoch (ms): per-sample ns x samples x 1e-6."""
        return self.total_latency_per_sample_ns * self.samples_per_epoch * 1e-6

    def as_dict(self) -> dict[str, Any]:
        """Plain data with totals (for JSON); NaN (unavailable) becomes ``None``."""
        data = dataclasses.asdict(self)
        data["area_um2"] = self.area_um2
        data["energy_per_sample_pJ"] = self.energy_per_sample_pJ
        data["energy_range_pJ"] = {k: list(v) for k, v in self.energy_range_pJ.items()}
        for name in ("total_area_um2", "total_energy_per_sample_pJ", "total_latency_per_sample_ns"):
            data[name] = getattr(self, name)
        data["energy_per_epoch_uJ"] = self.energy_per_epoch_uJ
        data["latency_per_epoch_ms"] = self.latency_per_epoch_ms
        return _nan_to_none(data)


def _nan_to_none(data: Any) -> Any:
    if isinstance(data, float) and math.isnan(data):
        return None
    if isinstance(data, dict):
        return {k: _nan_to_none(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_nan_to_none(v) for v in data]
    return data
