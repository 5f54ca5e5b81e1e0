"""Study ``offset-sweep``: the reference-offset sweep of TTv2, c-TTv2 and AGAD."""

from __future__ import annotations

from pulsetrain.report.study_kind import Study

STUDY = Study(
    name="offset-sweep",
    title="Reference-offset sweep: TTv2, c-TTv2, AGAD (Rasch et al. 2023)",
)
