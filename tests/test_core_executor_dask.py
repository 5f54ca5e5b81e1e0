"""The executor on a real Dask cluster: a scheduler and two workers as separate processes on this machine.

The sweep goes through ``Executor(scheduler=...)`` exactly as ``pulsetrain report --scheduler`` sends it;
one worker process is killed with SIGKILL while it holds a run, and the results must still be complete and
identical to the local run of the same seeds (runs are pure functions of their spec, so the scheduler
simply computes the lost run again elsewhere).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulsetrain.executor import Executor, Run, RunRecord, probe_run

distributed = pytest.importorskip("distributed")

BIN = Path(sys.executable).parent
SEEDS = tuple(range(8))
#: each run lasts at least this long, so that a worker is surely holding one when it is killed
HOLD_S = 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and a worker command with two worker processes (one thread each); yields the address.

    Both run in their own process groups, so that tearing down also ends the worker processes that the
    nannies started.
    """
    tmp_path = tmp_path_factory.mktemp("dask")
    dask = BIN / "dask"
    if not dask.exists():
        pytest.skip(f"the dask command is not installed next to {sys.executable}")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    scheduler = subprocess.Popen(
        [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        cwd=tmp_path,
        stdout=(logs / "scheduler.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers = subprocess.Popen(
        [
            str(dask),
            "worker",
            address,
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--no-dashboard",
            "--local-directory",
            str(tmp_path / "scratch"),
        ],
        cwd=tmp_path,
        stdout=(logs / "workers.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in (workers, scheduler):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (workers, scheduler):
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def sweep() -> list[Run]:
    return [
        Run(probe_run, {"seed": seed, "epochs": 5, "hold_s": HOLD_S}, f"probe seed={seed}") for seed in SEEDS
    ]


def test_sweep_survives_a_killed_worker(dask_cluster: str) -> None:
    local = Executor(workers=1).map([Run(r.function, {**r.spec, "hold_s": 0.0}, r.label) for r in sweep()])
    # hold_s only makes a run last longer; compare the numbers without it
    killed: dict[str, object] = {}

    with distributed.Client(dask_cluster, timeout="30s") as observer:

        def kill_a_busy_worker(record: RunRecord) -> None:
            if killed:
                return
            busy = {worker: keys for worker, keys in observer.processing().items() if keys}
            pids = observer.run(os.getpid)
            worker = next(iter(busy))
            killed.update(worker=worker, pid=pids[worker], holding=list(busy[worker]))
            os.kill(pids[worker], signal.SIGKILL)

        with Executor(scheduler=dask_cluster, retries=2) as executor:
            remote = executor.map(sweep(), on_result=kill_a_busy_worker)

    assert killed and killed["holding"], "no worker held a run when one was killed"
    assert len(remote) == len(SEEDS)
    assert [result["seed"] for result in remote] == list(SEEDS)
    assert remote == local


def test_cluster_results_fill_the_cache(dask_cluster: str, tmp_path: Path) -> None:
    runs = [Run(probe_run, {"seed": seed, "epochs": 5}, f"probe seed={seed}") for seed in SEEDS[:4]]
    # the code version is pinned: other edits in the working tree must not invalidate the cache mid-test
    with Executor(scheduler=dask_cluster, cache_dir=tmp_path / "cache", version="pinned") as executor:
        remote = executor.map(runs)
    again = Executor(workers=1, cache_dir=tmp_path / "cache", version="pinned")
    assert again.map(runs) == remote
    assert again.stats.cached == len(runs)


def test_report_command_runs_on_the_cluster(dask_cluster: str, tmp_path: Path) -> None:
    """``pulsetrain report --scheduler`` sends its runs to the cluster and gets the local numbers."""
    from click.testing import CliRunner

    from pulsetrain.cli import main

    tiny = [
        "training.algorithms=fp",
        "training.epochs=1",
        "training.hidden=4",
        "cosim.enabled=false",
        "cost.enabled=false",
        "studies.enabled=false",
    ]
    outputs = {}
    for where, options in (("cluster", ["--scheduler", dask_cluster]), ("local", ["--workers", "1"])):
        arguments = ["report", "--quick", "--no-cache", "--out", str(tmp_path / where), *options]
        for setting in tiny:
            arguments += ["--set", setting]
        result = CliRunner().invoke(main, arguments)
        assert result.exit_code == 0, result.output
        outputs[where] = json.loads((tmp_path / where / "results.json").read_text())
    cluster, local = outputs["cluster"], outputs["local"]
    assert cluster["configuration"]["execution"]["where"] == f"Dask scheduler {dask_cluster}"
    for name in ("fp",):
        for field in ("test_accuracy", "pulses_per_weight"):
            assert cluster["algorithms"][name][field] == local["algorithms"][name][field]
