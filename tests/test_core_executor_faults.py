"""Faults around the executor: a tampered cache entry is recomputed, workers die with their parent."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from pulsetrain.executor import Executor, Run, probe_run

ROOT = Path(__file__).resolve().parent.parent


def test_a_tampered_valid_json_cache_entry_is_recomputed(tmp_path: Path) -> None:
    run = Run(probe_run, {"seed": 3, "epochs": 2}, label="probe")
    with Executor(cache_dir=tmp_path) as executor:
        (fresh,) = executor.map([run])
    (entry_path,) = tmp_path.rglob("*.json")
    entry = json.loads(entry_path.read_text())
    entry["result"]["loss"] = 0.123  # the tour's edit: a plausible number, the file still valid JSON
    entry_path.write_text(json.dumps(entry))
    with Executor(cache_dir=tmp_path) as executor:
        (again,) = executor.map([run])
        assert executor.stats.cached == 0 and executor.stats.computed == 1
        assert executor.cache is not None and executor.cache.rejected == 1
    assert again == fresh and again["loss"] != 0.123
    # the recomputed entry replaced the tampered one and is trusted again
    with Executor(cache_dir=tmp_path) as executor:
        executor.map([run])
        assert executor.stats.cached == 1


def test_a_cache_entry_of_other_code_is_recomputed(tmp_path: Path) -> None:
    run = Run(probe_run, {"seed": 4, "epochs": 1}, label="probe")
    with Executor(cache_dir=tmp_path, version="a") as executor:
        executor.map([run])
    (entry_path,) = tmp_path.rglob("*.json")
    # an entry copied under the key of another code version, its checksum made consistent
    entry = json.loads(entry_path.read_text())
    from pulsetrain.executor import _entry_digest

    entry["sha256"] = _entry_digest(entry)
    key_b = run.key("b")
    target = tmp_path / key_b[:2] / f"{key_b}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps({**entry, "key": key_b, "sha256": _entry_digest({**entry, "key": key_b})}))
    with Executor(cache_dir=tmp_path, version="b") as executor:
        executor.map([run])
        assert executor.stats.computed == 1 and executor.cache is not None and executor.cache.rejected == 1


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill_and_find_survivors(command: list[str], expected_children: int, cwd: Path) -> list[str]:
    """Start ``command``, wait for its worker processes, SIGKILL it, return what is still alive after 10 s."""
    parent = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            children = _descendants(parent.pid)
            if len(children) >= expected_children:
                break
            assert parent.poll() is None, "the command ended before its workers started"
            time.sleep(0.2)
        assert len(children) >= expected_children, [c.cmdline() for c in children]
        time.sleep(1.0)  # let the workers pick up their runs
        children = _descendants(parent.pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(c) for c in children):
            time.sleep(0.2)
        return [" ".join(c.cmdline()[:4]) for c in children if _alive(c)]
    finally:
        # a failing run must not leave its survivors behind on the machine either
        for child in children + _descendants(parent.pid):
            with contextlib.suppress(psutil.Error):
                child.kill()
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_sigkill_of_an_executor_run_leaves_no_worker_or_resource_tracker(tmp_path: Path) -> None:
    script = tmp_path / "study.py"
    script.write_text(
        textwrap.dedent(
            """
            from pulsetrain.executor import Executor, Run, probe_run

            if __name__ == "__main__":
                runs = [Run(probe_run, {"seed": seed, "hold_s": 120.0}) for seed in range(2)]
                with Executor(workers=2) as executor:
                    executor.map(runs)
            """
        )
    )
    # two workers and the resource tracker
    survivors = _kill_and_find_survivors([sys.executable, str(script)], 3, tmp_path)
    assert survivors == []


def test_sigkill_of_a_quick_report_leaves_no_survivor(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pulsetrain.cli", "report", "--quick", "--workers", "2"]
    command += [
        "--out",
        str(tmp_path / "report"),
        "--set",
        "cosim.enabled=false",
        "--set",
        "cost.enabled=false",
    ]
    survivors = _kill_and_find_survivors(command, 3, tmp_path)
    assert survivors == []
