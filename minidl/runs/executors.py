"""Where a sweep's points run: a local process pool, or a Dask cluster.

An executor takes a list of jobs ``(index, resolved config, run folder)`` and
yields ``(index, summary)`` as the points finish, in whatever order they
finish.  When it yields, the point's run folder is complete on the client's
disk, so the sweep can record it at once.  Two executors:

``LocalExecutor(workers)`` (the default)
    A pool of ``workers`` processes on this machine, each pinned to one BLAS
    thread.  Each point trains straight into its run folder.

``DaskExecutor(scheduler, workers, security)``
    Each point is a task on a Dask cluster: an existing one
    (``scheduler='tls://host:8786'``, started with ``dask scheduler`` and
    ``dask worker``), or a ``LocalCluster`` of ``workers`` single-threaded
    processes started here.  A ``tls://`` scheduler needs this client's
    certificates: ``security`` (a ``distributed.security.Security``), else
    Dask's own configuration (``minidl.runs.dask_tls``).  The local cluster is
    TLS too, with throw-away certificates, so no other user of this machine
    gets in.  A worker trains in a scratch folder of its own and
    sends the point's files back with the result; the client writes them into
    the sweep folder.  So the sweep folder lives on the client only, and the
    workers need no shared filesystem (they do need MNIST: ``$MINIDL_DATA``, or
    they download it to their own ``data/``).

Fault tolerance on Dask.  A point whose training raises is retried once
(Dask's ``retries=1``), possibly on another worker.  A worker that dies in the
middle of a point (killed, out of memory, machine gone) makes the scheduler
give the point to another worker; the local cluster allows one such death per
point (``allowed_failures=1``).  A point that fails twice either way is
recorded as ``failed`` with its error, and the other points go on.

Both executors run the same ``run_point`` with the same resolved configs and
seeds, so they give the same numbers.  Figures are not drawn here: the sweep
draws them on the client.
"""
from __future__ import annotations

import contextlib

import importlib.util
import os
import signal
import tempfile
import time
import traceback
from pathlib import Path

from minidl.runs.config import ConfigError
from minidl.runs.folder import interrupted_summary, write_config, write_summary
from minidl.training.signals import SIGNALS, Interrupted, SignalGuard
from minidl.util.fileio import atomic_write_bytes
from minidl.util.threads import BLAS_THREAD_VARS, restore_environ, set_blas_threads

__all__ = ["run_point", "pinned_process_pool", "LocalExecutor", "DaskExecutor", "make_executor", "ExecutorError",
           "start_local_cluster"]

RETRIES = 1            # a point whose training raises runs once more
ALLOWED_FAILURES = 1   # a point whose worker dies runs once more (local cluster; a remote scheduler has its own)
DASHBOARD = "127.0.0.1:8787"   # the local cluster's dashboard, for this machine only (Dask's ':8787': every interface)


class ExecutorError(ConfigError):
    """The executor cannot start: Dask is missing, or the scheduler cannot be reached."""


# ---- one point -----------------------------------------------------------------

def run_point(cfg: dict, run_dir: str | Path) -> dict:
    """Train one point into ``run_dir`` and write its summary.json.  Never raises: a crash
    is reported as status 'failed'.  Returns the summary.

    The training log goes to ``run_dir/train.log``; ``curves.png`` is left to the client.
    """
    started = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "train.log", "w") as log_file:
        def log(line):
            log_file.write(line + "\n")
            log_file.flush()
        with SignalGuard(log):          # in a worker process: the sweep's SIGTERM stops this point cleanly
            try:
                from minidl.runs.job import run_training
                summary = run_training(cfg, run_dir, log=log, plot=False)
            except Interrupted as exc:
                summary = interrupted_summary(run_dir, exc)
            except Exception as exc:  # noqa: BLE001 - one bad point must not stop the sweep
                summary = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                           "traceback": traceback.format_exc()}
            with SignalGuard.active.hold() if SignalGuard.active else contextlib.nullcontext():
                return write_summary(run_dir, summary, started)


def _ignore_stop_signals() -> None:
    """A pool worker's start: SIGINT and SIGTERM do nothing while it waits for a point (``run_point``
    handles them while one trains), so a stopped sweep's idle workers do not die and break the pool."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


# ---- the local process pool ------------------------------------------------------

def pinned_process_pool(workers: int):
    """A process pool whose workers use one BLAS thread each.

    The thread variables must be in a worker's environment before NumPy loads
    there, and ProcessPoolExecutor starts its workers one by one, when tasks
    need them.  So the variables stay set in this process for as long as the
    pool lives (every worker started meanwhile inherits them), and the old
    values come back when the pool shuts down, e.g. at the end of its ``with``.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    class PinnedPool(ProcessPoolExecutor):
        def shutdown(self, *args, **kwargs):
            try:
                super().shutdown(*args, **kwargs)
            finally:
                restore_environ(saved)

    saved = set_blas_threads(1)
    try:
        return PinnedPool(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                          initializer=_ignore_stop_signals)
    except BaseException:
        restore_environ(saved)
        raise


class LocalExecutor:
    """Points in ``workers`` local processes (one point at a time in this process when ``workers`` is 1)."""

    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)
        self.pool = None

    def __enter__(self):
        if self.workers > 1:
            self.pool = pinned_process_pool(self.workers)
        return self

    def __exit__(self, exc_type, *exc):
        if self.pool is None:
            return
        if exc_type is not None:        # e.g. Interrupted: stop the running points too, cleanly, then wait
            # SIGTERM to each worker: its training stops at a batch boundary and writes its files.
            # (``_processes`` is private, but the pool offers no public list of its workers.)
            for process in list(getattr(self.pool, "_processes", {}).values()):
                with contextlib.suppress(OSError):
                    process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=exc_type is not None)

    def describe(self) -> str:
        return f"{self.workers} local worker process{'es' if self.workers > 1 else ''}"

    def run(self, jobs):
        """Yield ``(index, summary)`` for each ``(index, cfg, run_dir)`` job as it finishes."""
        if self.pool is None:
            for i, cfg, run_dir in jobs:
                yield i, run_point(cfg, run_dir)
            return
        from concurrent.futures import as_completed
        futures = {self.pool.submit(run_point, cfg, str(run_dir)): i for i, cfg, run_dir in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()


# ---- Dask ------------------------------------------------------------------------

class PointFailed(Exception):
    """Raised on a Dask worker when a point fails, so that Dask's ``retries`` run it again.

    Carries the point's files (``train.log`` with the traceback, ``summary.json``).
    """

    def __init__(self, result: dict):
        super().__init__(result)
        self.result = result

    def __str__(self):
        return self.result["summary"].get("error", "point failed")

    def __repr__(self):                 # what worker logs show: the error, not a megabyte of file contents
        return f"PointFailed({str(self)!r})"


def run_point_remotely(cfg: dict, folder_name: str) -> dict:
    """The Dask task: train one point in a scratch folder on the worker; return its files.

    Returns ``{'summary': dict, 'files': {file name: bytes}}``, everything the
    point wrote (config.yaml, metrics.csv, best.npz, last.npz, train.log,
    summary.json: about 1 MB for the course's TwoLayerNet).
    """
    with tempfile.TemporaryDirectory(prefix="minidl-point-") as scratch:
        run_dir = Path(scratch) / folder_name          # same folder name as on the client: it appears in the log
        summary = run_point(cfg, run_dir)
        files = {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()}
    result = {"summary": summary, "files": files}
    if summary["status"] == "failed":
        raise PointFailed(result)
    return result


def write_point_files(run_dir: Path, cfg: dict, result: dict) -> None:
    """Write a point's files, as a worker sent them, into ``run_dir`` on the client.

    ``summary.json`` goes last: a client killed half-way leaves a folder without
    a summary, which the next run of the sweep trains again.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    files = dict(result["files"])
    files.pop("summary.json", None)
    if "config.yaml" not in files:
        write_config(run_dir, cfg)
    for name, data in files.items():
        atomic_write_bytes(run_dir / Path(name).name, data)
    write_summary(run_dir, result["summary"])


def start_local_cluster(workers: int | None = None, security=None):
    """A ``LocalCluster`` of ``workers`` (default: all cores) single-threaded worker processes.

    ``security`` (a ``distributed.security.Security``, e.g. ``Security.temporary()``)
    makes every connection of the cluster TLS, scheduler at ``tls://127.0.0.1:PORT``,
    open only to clients that show a certificate signed by its CA.  None: Dask's
    configuration, which by default means plain TCP on 127.0.0.1.  The dashboard
    (logs, tasks, call stacks) is served on 127.0.0.1 too, not on every interface.

    Each worker process uses one BLAS thread.  The variables must be set before
    NumPy is imported there, and the worker imports NumPy as soon as it imports
    ``distributed``, so they go in ``distributed.nanny.pre-spawn-environ``: the
    nanny sets them before it spawns (and re-spawns) its worker process.
    """
    import dask
    from dask.distributed import LocalCluster
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **{k: 1 for k in BLAS_THREAD_VARS}}
    saved = {k: os.environ.get(k) for k in BLAS_THREAD_VARS}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            return LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES}, security=security,
                                dashboard_address=DASHBOARD)
    finally:       # the nannies live in this process and set the variables here too: put them back
        restore_environ(saved)


def throwaway_security():
    """``Security.temporary()``: a CA and certificates that exist only in this process's memory.

    A local cluster listens on 127.0.0.1, which every user of this machine can
    reach; with these certificates, only this process gets in.  None (plain TCP)
    when the ``cryptography`` package, which makes them, is missing.
    """
    from distributed.security import Security
    try:
        return Security.temporary()
    except ImportError:
        return None


class DaskExecutor:
    """Points as tasks on a Dask cluster: the one at ``scheduler``, else a LocalCluster of ``workers``.

    ``security``: the ``distributed.security.Security`` to connect (or to start the
    local cluster) with.  None: for a scheduler, Dask's configuration, and a
    ``tls://`` one without certificates is refused before connecting
    (``dask_tls.TLSConfigError``); for the local cluster, throw-away certificates.
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None, retries: int = RETRIES,
                 security=None):
        self.scheduler, self.workers, self.retries, self.security = scheduler, workers, retries, security
        self.cluster = self.client = None

    def __enter__(self):
        try:
            from dask.distributed import Client
        except ImportError:
            raise ExecutorError("--executor dask needs Dask distributed: pip install -e '.[dist]'") from None
        if self.scheduler:
            self.client = self._connect(Client)
        else:
            security = self.security if self.security is not None else throwaway_security()
            self.cluster = start_local_cluster(self.workers, security)
            self.client = Client(self.cluster)
        return self

    def _connect(self, Client):
        """A client of the scheduler at ``self.scheduler``; a ``tls://`` one gets its certificates checked first."""
        from minidl.runs.dask_tls import client_security
        security = client_security(self.scheduler, self.security)
        try:
            return Client(self.scheduler, timeout="20s", security=security)
        except OSError as exc:
            hint = "is `dask scheduler` running there"
            if self.scheduler.startswith("tls://"):
                hint += ", with certificates from the same CA as this client's?"
            else:
                hint += f"? (one started with --tls-cert is at {self.scheduler.replace('tcp://', 'tls://', 1)})"
            raise ExecutorError(f"cannot reach the Dask scheduler at {self.scheduler} ({exc}); {hint}") from None

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def describe(self) -> str:
        n = len(self.client.nthreads())                  # {worker address: threads}, for every worker
        where = self.scheduler or f"a local cluster at {self.cluster.scheduler_address}"
        text = f"dask, {n} worker{'s' if n != 1 else ''} on {where}"
        if n == 0:
            text += " (none yet: points wait until `dask worker` processes connect)"
        link = self.client.dashboard_link
        if link:
            text += f", dashboard {link}"
            if self.cluster is not None and importlib.util.find_spec("bokeh") is None:
                text += " (pip install 'bokeh>=3.1' to see it)"
        return text

    def run(self, jobs):
        """Submit every job; yield ``(index, summary)`` as each point's files land on the client."""
        from dask.distributed import as_completed
        futures = {}
        for i, cfg, run_dir in jobs:
            future = self.client.submit(run_point_remotely, cfg, run_dir.name, key=f"minidl-point-{run_dir.name}",
                                        retries=self.retries)
            futures[future] = (i, cfg, run_dir)
        for future in as_completed(futures):
            i, cfg, run_dir = futures.pop(future)
            try:
                result = future.result()
            except PointFailed as exc:        # training raised on both attempts: keep the last attempt's files
                result = exc.result
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the point's worker died on both attempts
                result = {"summary": {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}, "files": {}}
            write_point_files(run_dir, cfg, result)
            yield i, result["summary"]


def make_executor(kind: str = "local", workers: int | None = None, scheduler: str | None = None):
    """``'local'`` -> LocalExecutor(workers); ``'dask'`` -> DaskExecutor(scheduler, workers)."""
    if kind == "local":
        if scheduler:
            raise ValueError("a scheduler address needs the dask executor (--executor dask)")
        return LocalExecutor(workers or os.cpu_count() or 1)
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    raise ValueError(f"unknown executor {kind!r}; expected 'local' or 'dask'")
