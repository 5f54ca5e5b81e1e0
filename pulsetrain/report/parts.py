"""The registry of report parts, in page order, and the planning of every part a config enables.

Adding a part: write its module (see :mod:`pulsetrain.report`'s docstring) and add its ``PART`` to
:data:`PARTS` below; nothing else changes.
"""

from __future__ import annotations

from pulsetrain.report import cosim, cost, datasheets, schedule, spice_check, studies, synthesis, training
from pulsetrain.report.config import ReportConfig
from pulsetrain.report.part import Part, PartPlan, Unavailable

#: every part of the report, in the order of the page and of results.json's ``sections``
PARTS: tuple[Part, ...] = (
    training.PART,
    cosim.PART,
    spice_check.PART,
    datasheets.PART,
    cost.PART,
    schedule.PART,
    synthesis.PART,
    studies.PART,
)


def plan_parts(config: ReportConfig, parts: tuple[Part, ...] = PARTS) -> list[PartPlan]:
    """Plan every part the config enables; a part that cannot run is planned as unavailable."""
    plans: list[PartPlan] = []
    for part in parts:
        if not getattr(config, part.switch).enabled:
            reason = f"switched off ({part.switch}.enabled = false)"
            plans.append(PartPlan(key=part.key, title=part.title, unavailable=reason))
            continue
        try:
            plans.extend(part.plan(config))
        except Unavailable as error:
            plans.append(PartPlan(key=part.key, title=part.title, unavailable=str(error)))
    return plans
