"""Study ``sbe-batch``: array updates of SBE versus mini-batch SGD as the batch grows."""

from __future__ import annotations

from pulsetrain.report.study_kind import Study

STUDY = Study(
    name="sbe-batch",
    title="SBE versus mini-batch SGD: array updates versus batch size (Hoskins et al. 2019)",
)
