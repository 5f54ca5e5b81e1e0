"""What a study module declares: :class:`Study` (see :mod:`pulsetrain.report.studies`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pulsetrain.report.page import Table


def no_extra_tables(_summary: Mapping[str, Any]) -> list[Table]:
    """A study with no tables beyond its rows and claims."""
    return []


@dataclass(frozen=True, kw_only=True)
class Study:
    """One study of the algorithms as the report shows it."""

    #: its ``pulsetrain experiment`` name
    name: str
    #: its section title (names the paper it checks)
    title: str
    #: tables of its own, from :func:`pulsetrain.model.experiments.summarize`'s summary
    extra_tables: Callable[[Mapping[str, Any]], list[Table]] = no_extra_tables

    @property
    def key(self) -> str:
        """The section key: ``study-NAME``."""
        return f"study-{self.name}"
