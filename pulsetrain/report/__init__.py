"""``pulsetrain report``: the default study end to end, as a terminal table and a self-contained HTML page.

What it does (every step is a set of independent runs sent through one
:class:`~pulsetrain.executor.Executor`, so they share the worker pool, the Dask cluster and the cache):

1. trains the default network (digits, 64-32-10) with every algorithm on the behavioral model;
2. runs one algorithm's periphery with the RTL in the loop and compares every digital decision with the
   model's twin;
3. runs the area / energy / latency estimator per algorithm, counts BP and DFA cycles on the schedule
   controller RTL, and synthesizes the periphery blocks;
4. runs the studies of the algorithms (reference-offset sweep, BP versus DFA, SBE versus batch size).

A part whose code is not available (not installed, or not written yet) is shown as
"not available: <reason>"; nothing is ever filled in with invented numbers. A run that fails is shown
the same way, named on stderr, and makes the command exit 1 (unless ``--keep-going``).

Layers, bottom to top (each module imports only the ones above it in this list; the shared core,
:mod:`pulsetrain.config`, :mod:`pulsetrain.executor` and :mod:`pulsetrain.results`, never imports the
report):

``config``      :class:`~pulsetrain.report.config.ReportConfig`, the validated, frozen config
``page``        the HTML page: :class:`~pulsetrain.report.page.Section`, ``Table``, ``Plot``
``part``        the contract of a part (:class:`~pulsetrain.report.part.Part`, ``PartPlan``,
                ``PartOutcome``, ``PartData``, ``AlgorithmNumbers``) and the helpers the parts share
``training``, ``cosim``, ``cost``, ``schedule``, ``synthesis``, ``studies`` (+ ``study_<name>``)
                one module per part: its typed run specs, run functions, result records and section
``parts``       the registry :data:`~pulsetrain.report.parts.PARTS`, in page order
``summary``     the per-algorithm summary and where the time went (terminal and page)
``run``         :func:`~pulsetrain.report.run.run_report`: plan, run, assemble, write
``command``     the click command

Adding a part (e.g. block datasheets, a SPICE check, a table of a new study):

1. write ``pulsetrain/report/<part>.py`` with

   - a frozen spec dataclass per kind of run and a module-level run function ``f(plain) -> dict`` that
     starts with ``spec = spec_from_plain(MySpec, plain)`` and imports heavy packages inside;
   - a :class:`~pulsetrain.report.part.PartData` subclass for its ``results.json`` entry and, if it adds
     columns to the summary, an :class:`~pulsetrain.report.part.AlgorithmNumbers` subclass;
   - ``plan(config) -> list[PartPlan]`` (``typed_run(f, MySpec(...), label)`` per run; raise
     :class:`~pulsetrain.report.part.Unavailable` with the reason when it cannot run here) and an
     ``assemble(results) -> PartOutcome`` that builds the section (a failed run is a
     :class:`~pulsetrain.executor.RunFailure` among ``results``: show it, never fill it in);
   - ``PART = Part(key=..., title=..., switch=..., plan=plan)``, where ``switch`` is the config section
     whose ``enabled`` turns it on (add a section to :class:`ReportConfig` only if it needs settings);

2. add ``<part>.PART`` to :data:`~pulsetrain.report.parts.PARTS`.

A part that needs another part's results (the estimator needs the training runs' pulse counts) sets
``after`` to that part's key and plans its runs in ``plan_after(results)``. A new study is a
``study_<name>.py`` module declaring a :class:`~pulsetrain.report.study_kind.Study` plus its entry in
:data:`~pulsetrain.report.studies.STUDIES` (and its name in ``ALL_STUDIES``, which the config validates
against).
"""

from pulsetrain.report.config import ReportConfig, resolve_report_config

__all__ = ["ReportConfig", "resolve_report_config"]
