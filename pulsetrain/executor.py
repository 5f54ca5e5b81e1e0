"""One executor for every study: independent runs on local processes or a Dask cluster, with a cache.

Every study in pulsetrain (algorithms x seeds x settings) is a set of *independent runs*. A run is a
picklable, module-level function applied to a plain-data spec (numbers, strings, lists, dicts) and
returns plain data; it is a pure function of its spec and of the code. That makes three things simple:

- **Where it runs does not matter.** :class:`Executor` sends runs to local worker processes
  (:class:`concurrent.futures.ProcessPoolExecutor`, ``--workers N``), runs them in this process
  (``workers=1``), or submits them to a Dask distributed scheduler (``--scheduler ADDRESS``: a
  ``dask scheduler`` process, or a cluster that dask-jobqueue / dask-kubernetes started). A run lost
  with a worker is simply computed again: Dask's scheduler reschedules the tasks a dead worker held,
  and ``retries`` resubmits a run that raised.
- **A finished run never runs twice.** Its result is stored as one JSON file under the cache folder,
  named by a hash of the function, the spec and the *code version* (a hash of the package's source
  files), written atomically. An interrupted study resumes where it stopped, a repeated one only
  reads files, and any change to the code invalidates every entry at once. Each entry carries a
  SHA-256 of its content: an entry edited or damaged after it was written (even into valid JSON) is
  not trusted; the run is computed again.
- **Workers die with their parent.** A local worker watches its parent process and exits (killing its
  own children, e.g. a simulator) as soon as the parent is gone, even after a SIGKILL that gave the
  parent no chance to clean up; then the multiprocessing resource tracker, whose last users are gone,
  exits too.
- **Results are identical wherever they ran.** A result goes through JSON on every path (fresh or
  cached, local or remote), so a number computed on a cluster and one read back from the cache compare
  equal to the local one bit for bit.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulsetrain.config import ConfigError, check_int, to_plain
from pulsetrain.results import finite_or_null, write_json

#: the packages whose source defines the code version (a change in any of them invalidates the cache)
SOURCE_PACKAGES: tuple[str, ...] = (
    "pulsetrain",
    "pulsetrain.model",
    "pulsetrain.rtl",
    "pulsetrain.cosim",
    "pulsetrain.synth",
)

#: file suffixes that count as source (Python, and the TOML technology tables the estimator reads)
SOURCE_SUFFIXES: tuple[str, ...] = (".py", ".toml")

RunFunction = Callable[[Mapping[str, Any]], Any]


def code_version(packages: Sequence[str] = SOURCE_PACKAGES) -> str:
    """SHA-256 (hex) over the source files of ``packages``: paths relative to each package and contents.

    Generated files (``__pycache__``) do not count; a package that is not installed is skipped, so the
    version is stable on a machine while its code does not change.
    """
    digest = hashlib.sha256()
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            root = Path(location)
            files = sorted(
                path
                for path in root.rglob("*")
                if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts and path.is_file()
            )
            for path in files:
                relative = path.relative_to(root).as_posix()
                # sub-packages live under their parent's folder too: the relative path keeps them apart
                digest.update(f"{name}:{relative}\0".encode())
                digest.update(path.read_bytes())
                digest.update(b"\0")
    return digest.hexdigest()


def _function_name(function: RunFunction) -> str:
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        raise ConfigError(
            f"run function {function!r} must be a module-level function importable by the workers"
        )
    return f"{module}:{qualname}"


def _plain_json(value: Any) -> Any:
    """Round-trip ``value`` through JSON so that fresh, cached and remote results are the same objects."""
    return json.loads(json.dumps(to_plain(value), sort_keys=True, allow_nan=True))


@dataclass(frozen=True)
class Run:
    """One independent run: ``function(spec)``, a pure function of the spec and the code.

    Parameters
    ----------
    function
        A module-level function (picklable by reference, importable on every worker) taking the spec.
    spec
        Plain data only (numbers, strings, booleans, None, lists, dicts); it is hashed for the cache.
    label
        A short human-readable name for progress displays and error messages.
    """

    function: RunFunction
    spec: Mapping[str, Any]
    label: str = ""

    def key(self, version: str) -> str:
        """The cache key: SHA-256 over the function's import name, the spec and the code version."""
        document = {"function": _function_name(self.function), "spec": to_plain(self.spec), "code": version}
        text = json.dumps(document, sort_keys=True, allow_nan=True)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class RunRecord:
    """What the executor knows about one finished run."""

    #: position of the run in the submitted sequence
    index: int
    #: the run's label
    label: str
    #: the result, as plain JSON data
    result: Any
    #: wall-clock seconds the run took where it was computed (also for results read from the cache)
    seconds: float
    #: True when the result was read from the cache instead of computed now
    cached: bool


@dataclass(frozen=True)
class RunFailure:
    """The result of a run that raised, when :meth:`Executor.map` is asked to return failures.

    Failures are never cached: the next attempt computes the run again.
    """

    #: the run's label
    label: str
    #: the exception, as ``Type: message``
    error: str


@dataclass
class ExecutorStats:
    """Where the time of the runs went: counts and summed compute seconds."""

    computed: int = 0
    cached: int = 0
    failed: int = 0
    #: sum of the wall seconds of the runs computed now (worker time, not elapsed time)
    compute_seconds: float = 0.0
    #: sum of the seconds the cached runs took when they were computed (time the cache saved)
    saved_seconds: float = 0.0
    by_label: dict[str, float] = field(default_factory=dict)


class RunCache:
    """Finished runs as atomic JSON files ``<folder>/<key[:2]>/<key>.json``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        #: entries found altered, damaged or of another code version since this cache was opened
        self.rejected = 0

    def path(self, key: str) -> Path:
        """The file that holds (or will hold) the run with cache key ``key``."""
        return self.folder / key[:2] / f"{key}.json"

    def load(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        """The stored entry for ``key``, or None when absent, unreadable, altered or of another code
        ``version`` (then the run is recomputed and the entry replaced)."""
        file = self.path(key)
        try:
            entry = json.loads(file.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or "result" not in entry:
            return None
        if entry.get("sha256") != _entry_digest(entry):
            self.rejected += 1
            return None
        if version is not None and entry.get("code_version") != version:
            self.rejected += 1
            return None
        return entry

    def store(self, key: str, run: Run, version: str, result: Any, seconds: float) -> None:
        """Write one finished run atomically (a crash mid-write leaves no partial entry)."""
        entry = {
            "key": key,
            "function": _function_name(run.function),
            "label": run.label,
            "spec": to_plain(run.spec),
            "code_version": version,
            "seconds": seconds,
            "result": result,
        }
        # the digest covers the entry exactly as it is written (JSON has no NaN: they become null)
        written = finite_or_null(to_plain(entry))
        written["sha256"] = _entry_digest(written)
        write_json(self.path(key), written)


def _entry_digest(entry: Mapping[str, Any]) -> str:
    """SHA-256 over a cache entry's canonical JSON, its own ``sha256`` field left out."""
    body = {name: value for name, value in entry.items() if name != "sha256"}
    text = json.dumps(body, sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def timed_call(function: RunFunction, spec: Mapping[str, Any]) -> tuple[Any, float]:
    """Call ``function(spec)`` with its stdout and stderr swallowed; return (plain result, wall seconds).

    This is what runs on a worker. Swallowing a run's prints and warnings keeps them from tearing the
    single progress display of the parent; errors still travel back as exceptions.
    """
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        result = function(spec)
    return _plain_json(result), time.perf_counter() - start


#: seconds between two looks of a worker at its parent
PARENT_WATCH_S = 0.2


def _worker_init(parent: int | None = None) -> None:
    # Worker processes plot nothing on screen and must not open a display.
    os.environ.setdefault("MPLBACKEND", "Agg")
    # One run per core: BLAS threads inside each worker would only oversubscribe the cores.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    """Exit this worker, and kill its own children, once ``parent`` is gone (the worker is re-parented).

    A polling thread instead of ``prctl(PR_SET_PDEATHSIG)``: that signal follows the parent *thread*
    that started the worker, and works on Linux only.
    """
    while os.getppid() == parent:
        time.sleep(PARENT_WATCH_S)
    try:
        import psutil

        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    except ImportError:  # pragma: no cover - psutil comes with dask[distributed]
        pass
    os._exit(1)


class Executor:
    """Runs independent :class:`Run` objects locally or on Dask, skipping those already in the cache.

    Parameters
    ----------
    workers
        Local worker processes (``1``: run in this process, no pool). Ignored with ``scheduler``.
    scheduler
        Address of a Dask distributed scheduler (``tcp://host:port``); None runs locally.
    cache_dir
        Folder of the run cache; None disables caching.
    retries
        How many times Dask resubmits a run that raised (a run lost with its worker is rescheduled by
        the scheduler itself, up to ``distributed.scheduler.allowed-failures`` times).
    version
        The code version used in cache keys; computed from the source files when None.
    connect_timeout_s
        Seconds to wait for the Dask scheduler to answer before giving up.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        scheduler: str | None = None,
        cache_dir: str | Path | None = None,
        retries: int = 2,
        version: str | None = None,
        connect_timeout_s: float = 20.0,
    ) -> None:
        check_int("workers", workers, 1, 1024)
        check_int("retries", retries, 0, 100)
        if scheduler is not None and not scheduler.strip():
            raise ConfigError("scheduler must be an address such as tcp://127.0.0.1:8786, not ''")
        self.workers = workers
        self.scheduler = scheduler
        self.cache = RunCache(cache_dir) if cache_dir is not None else None
        self.retries = retries
        self.version = version if version is not None else code_version()
        self.connect_timeout_s = connect_timeout_s
        self.stats = ExecutorStats()
        self._client: Any = None

    # -- life cycle ------------------------------------------------------------------------------
    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect from the Dask scheduler (the cluster itself keeps running)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _dask_client(self) -> Any:
        if self._client is None:
            try:
                from distributed import Client
            except ImportError as error:  # pragma: no cover - dask[distributed] is a dependency
                raise ConfigError(f"--scheduler needs dask[distributed]: {error}") from None
            from pulsetrain.validate import SCHEDULER_TIMEOUT_S, check_scheduler

            # a bad or silent address is refused in seconds, before Dask's own (longer) connect timeout
            assert self.scheduler is not None
            check_scheduler(self.scheduler, timeout_s=min(self.connect_timeout_s, SCHEDULER_TIMEOUT_S))
            try:
                self._client = Client(
                    self.scheduler, timeout=f"{self.connect_timeout_s}s", set_as_default=False
                )
            except (OSError, ValueError) as error:
                raise ConfigError(f"scheduler {self.scheduler!r} cannot be reached: {error}") from None
        return self._client

    @property
    def where(self) -> str:
        """A short description of where runs go (for progress displays and reports)."""
        if self.scheduler is not None:
            return f"Dask scheduler {self.scheduler}"
        if self.workers == 1:
            return "this process"
        return f"{self.workers} local worker processes"

    # -- running ---------------------------------------------------------------------------------
    def map(
        self,
        runs: Sequence[Run],
        on_result: Callable[[RunRecord], None] | None = None,
        *,
        return_failures: bool = False,
    ) -> list[Any]:
        """Compute every run (or read it from the cache) and return the results in the order given.

        ``on_result`` is called in this process once per run as it finishes (cached runs first), for
        progress displays. A run that raises stops the whole map, unless ``return_failures``: then its
        result is a :class:`RunFailure` and the other runs go on.
        """
        records: list[RunRecord | None] = [None] * len(runs)
        keys = [run.key(self.version) for run in runs]
        pending: list[int] = []

        def finish(record: RunRecord) -> None:
            records[record.index] = record
            if record.cached:
                self.stats.cached += 1
                self.stats.saved_seconds += record.seconds
            else:
                self.stats.computed += 1
                self.stats.compute_seconds += record.seconds
                group = record.label.split(" ")[0] if record.label else "run"
                self.stats.by_label[group] = self.stats.by_label.get(group, 0.0) + record.seconds
            if on_result is not None:
                on_result(record)

        # Runs with the same key are one computation (e.g. a baseline shared by two studies).
        first_of_key: dict[str, int] = {}
        duplicates: dict[int, int] = {}
        for index, (run, key) in enumerate(zip(runs, keys, strict=True)):
            entry = self.cache.load(key, self.version) if self.cache is not None else None
            if entry is not None:
                finish(RunRecord(index, run.label, entry["result"], float(entry.get("seconds", 0.0)), True))
            elif key in first_of_key:
                duplicates[index] = first_of_key[key]
            else:
                first_of_key[key] = index
                pending.append(index)

        def computed(index: int, result: Any, seconds: float) -> None:
            if isinstance(result, RunFailure):
                self.stats.failed += 1
                records[index] = RunRecord(index, runs[index].label, result, seconds, False)
                if on_result is not None:
                    on_result(records[index])  # type: ignore[arg-type]
                return
            if self.cache is not None:
                self.cache.store(keys[index], runs[index], self.version, result, seconds)
            finish(RunRecord(index, runs[index].label, result, seconds, False))

        if pending:
            if self.scheduler is not None:
                self._map_dask(runs, keys, pending, computed, return_failures)
            elif self.workers == 1:
                self._map_serial(runs, pending, computed, return_failures)
            else:
                self._map_local(runs, pending, computed, return_failures)

        for index, original in duplicates.items():
            done = records[original]
            assert done is not None
            if isinstance(done.result, RunFailure):
                records[index] = RunRecord(index, runs[index].label, done.result, 0.0, False)
            else:
                finish(RunRecord(index, runs[index].label, done.result, 0.0, True))

        out: list[Any] = []
        for record in records:
            assert record is not None
            out.append(record.result)
        return out

    def _map_serial(
        self,
        runs: Sequence[Run],
        pending: list[int],
        computed: Callable[[int, Any, float], None],
        return_failures: bool,
    ) -> None:
        """Compute the pending runs one after the other in this process (``workers == 1``)."""
        for index in pending:
            started = time.perf_counter()
            try:
                result, seconds = timed_call(runs[index].function, runs[index].spec)
            except Exception as error:
                if not return_failures:
                    raise
                result, seconds = self._failure(runs[index], error), time.perf_counter() - started
            computed(index, result, seconds)

    @staticmethod
    def _failure(run: Run, error: BaseException) -> RunFailure:
        return RunFailure(run.label, f"{type(error).__name__}: {error}")

    def _map_local(
        self,
        runs: Sequence[Run],
        pending: list[int],
        computed: Callable[[int, Any, float], None],
        return_failures: bool,
    ) -> None:
        # "spawn": the parent holds threads (the progress display), which fork would copy mid-lock.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(pending)),
            mp_context=context,
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        try:
            futures: dict[Future[tuple[Any, float]], int] = {
                pool.submit(timed_call, runs[index].function, runs[index].spec): index for index in pending
            }
            waiting = set(futures)
            while waiting:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures[future]
                    try:
                        result, seconds = future.result()
                    except Exception as error:
                        if not return_failures:
                            raise
                        result, seconds = self._failure(runs[index], error), 0.0
                    computed(index, result, seconds)
        except BaseException:
            # Interrupted (Ctrl-C) or a run failed: stop the runs still going instead of waiting for them;
            # what finished is already in the cache, so a rerun resumes from there.
            pool.shutdown(wait=False, cancel_futures=True)
            for process in multiprocessing.active_children():
                process.terminate()
            raise
        pool.shutdown(wait=True)

    def _map_dask(
        self,
        runs: Sequence[Run],
        keys: list[str],
        pending: list[int],
        computed: Callable[[int, Any, float], None],
        return_failures: bool,
    ) -> None:
        from distributed import as_completed

        client = self._dask_client()
        futures = []
        index_of: dict[str, int] = {}
        for index in pending:
            # The cache key is the task key: identical runs submitted twice are one task on the cluster.
            task_key = f"pulsetrain-run-{keys[index]}"
            future = client.submit(
                timed_call,
                runs[index].function,
                dict(runs[index].spec),
                key=task_key,
                retries=self.retries,
                pure=False,
            )
            index_of[future.key] = index
            futures.append(future)
        try:
            for future in as_completed(futures, loop=client.loop):
                index = index_of[future.key]
                try:
                    result, seconds = future.result()
                except Exception as error:
                    if not return_failures:
                        raise
                    result, seconds = self._failure(runs[index], error), 0.0
                computed(index, result, seconds)
        except BaseException:
            client.cancel(futures)
            raise


# --------------------------------------------------------------------------------------------------
# A small seeded workload: used by the executor's tests and to check that a cluster answers
# --------------------------------------------------------------------------------------------------


def probe_run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Fit a tiny logistic regression by SGD on seeded synthetic data; a pure function of ``spec``.

    ``spec`` holds ``seed`` (int), optionally ``samples`` (default 200), ``features`` (8), ``epochs``
    (20), ``hold_s`` (extra seconds the run lasts, so that tests can stop a worker mid-run) and ``fail``
    (raise ValueError instead of returning, to test failure handling). Returns
    the final weights and training loss, which differ from seed to seed and are identical for one seed
    wherever they are computed.
    """
    import numpy as np

    if spec.get("fail"):
        raise ValueError(f"probe run {spec!r} asked to fail")
    seed = int(spec["seed"])
    samples = int(spec.get("samples", 200))
    features = int(spec.get("features", 8))
    epochs = int(spec.get("epochs", 20))
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=features)
    inputs = rng.normal(size=(samples, features))
    labels = (inputs @ truth + 0.3 * rng.normal(size=samples) > 0).astype(float)
    weights = np.zeros(features)
    for _ in range(epochs):
        for row in rng.permutation(samples):
            predicted = 1.0 / (1.0 + np.exp(-inputs[row] @ weights))
            weights -= 0.05 * (predicted - labels[row]) * inputs[row]
    predicted = 1.0 / (1.0 + np.exp(-inputs @ weights))
    eps = 1e-12
    loss = float(-np.mean(labels * np.log(predicted + eps) + (1 - labels) * np.log(1 - predicted + eps)))
    hold = float(spec.get("hold_s", 0.0))
    if hold > 0:
        time.sleep(hold)
    return {"seed": seed, "loss": loss, "weights": weights.tolist()}
