"""The executor on this machine: same results in-process and on worker processes, and the run cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulsetrain.config import ConfigError
from pulsetrain.executor import Executor, Run, RunFailure, RunRecord, code_version, probe_run

SEEDS = (0, 1, 2, 3)


def probe_runs(**extra: object) -> list[Run]:
    return [Run(probe_run, {"seed": seed, "epochs": 5, **extra}, f"probe seed={seed}") for seed in SEEDS]


def test_local_processes_match_in_process() -> None:
    serial = Executor(workers=1).map(probe_runs())
    parallel = Executor(workers=2).map(probe_runs())
    assert parallel == serial


def test_results_come_back_in_submission_order() -> None:
    results = Executor(workers=2).map(probe_runs())
    assert [result["seed"] for result in results] == list(SEEDS)


def test_seeds_give_different_results() -> None:
    results = Executor(workers=1).map(probe_runs())
    losses = {result["loss"] for result in results}
    assert len(losses) == len(SEEDS)


def test_cache_skips_finished_runs(tmp_path: Path) -> None:
    first = Executor(workers=1, cache_dir=tmp_path, version="pinned")
    fresh = first.map(probe_runs())
    second = Executor(workers=1, cache_dir=tmp_path, version="pinned")
    seen: list[RunRecord] = []
    again = second.map(probe_runs(), on_result=seen.append)
    assert again == fresh
    assert (first.stats.computed, second.stats.computed, second.stats.cached) == (4, 0, 4)
    assert all(record.cached for record in seen)


def test_interrupted_study_resumes(tmp_path: Path) -> None:
    # A study stopped after two runs: only the other two are computed on the next attempt.
    Executor(workers=1, cache_dir=tmp_path, version="pinned").map(probe_runs()[:2])
    resumed = Executor(workers=1, cache_dir=tmp_path, version="pinned")
    resumed.map(probe_runs())
    assert (resumed.stats.cached, resumed.stats.computed) == (2, 2)


def test_cache_key_depends_on_code_version(tmp_path: Path) -> None:
    Executor(workers=1, cache_dir=tmp_path, version="a").map(probe_runs()[:1])
    other = Executor(workers=1, cache_dir=tmp_path, version="b")
    other.map(probe_runs()[:1])
    assert other.stats.computed == 1


def test_cache_key_depends_on_spec() -> None:
    run_a, run_b = (Run(probe_run, {"seed": 0, "epochs": n}) for n in (5, 6))
    assert run_a.key("v") != run_b.key("v")


def test_cache_entries_are_complete_json(tmp_path: Path) -> None:
    Executor(workers=1, cache_dir=tmp_path, version="pinned").map(probe_runs()[:1])
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 1
    entry = json.loads(files[0].read_text())
    assert entry["spec"]["seed"] == 0 and entry["result"]["seed"] == 0
    assert not list(tmp_path.rglob("*.tmp"))


def test_corrupt_cache_entry_is_recomputed(tmp_path: Path) -> None:
    executor = Executor(workers=1, cache_dir=tmp_path, version="pinned")
    fresh = executor.map(probe_runs()[:1])
    (file,) = tmp_path.rglob("*.json")
    file.write_text("{not json")
    again = Executor(workers=1, cache_dir=tmp_path, version="pinned")
    assert again.map(probe_runs()[:1]) == fresh
    assert again.stats.computed == 1


def test_duplicate_runs_are_computed_once() -> None:
    executor = Executor(workers=1)
    runs = probe_runs()[:1] * 3
    results = executor.map(runs)
    assert results[0] == results[1] == results[2]
    assert executor.stats.computed == 1


def test_code_version_is_stable() -> None:
    assert code_version() == code_version()
    assert len(code_version()) == 64


def test_run_function_must_be_importable() -> None:
    with pytest.raises(ConfigError, match="module-level"):
        Run(lambda spec: spec, {"seed": 0}).key("v")


@pytest.mark.parametrize("workers", [0, -1], ids=["zero", "negative"])
def test_bad_worker_count_is_refused(workers: int) -> None:
    with pytest.raises(ConfigError, match="workers"):
        Executor(workers=workers)


def test_unreachable_scheduler_is_a_config_error() -> None:
    executor = Executor(scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0)
    with pytest.raises(ConfigError, match="cannot be reached"):
        executor.map(probe_runs()[:1])


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "two-processes"])
def test_failure_stops_the_map_by_default(workers: int) -> None:
    runs = [*probe_runs()[:1], Run(probe_run, {"seed": 9, "fail": True}, "failing")]
    with pytest.raises(ValueError, match="asked to fail"):
        Executor(workers=workers).map(runs)


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "two-processes"])
def test_returned_failures_are_not_cached(workers: int, tmp_path: Path) -> None:
    runs = [*probe_runs()[:1], Run(probe_run, {"seed": 9, "fail": True}, "failing")]
    executor = Executor(workers=workers, cache_dir=tmp_path, version="pinned")
    good, bad = executor.map(runs, return_failures=True)
    assert good["seed"] == 0
    assert isinstance(bad, RunFailure) and "asked to fail" in bad.error
    assert executor.stats.failed == 1
    assert len(list(tmp_path.rglob("*.json"))) == 1


def test_code_version_follows_source_edits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "versionprobe"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_version(("versionprobe",))
    (package / "__init__.py").write_text("VALUE = 2\n")
    assert code_version(("versionprobe",)) != before
