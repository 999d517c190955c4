"""How many threads BLAS, the matrix library under NumPy, may use.

On a shared 2-core machine a 2-thread BLAS spends much of its time waiting for
a core, so some studies run with one, and a sweep's worker processes get one
each (two workers then use the two cores without fighting).  The thread count
also changes the order of some sums inside BLAS, so a study that asks for one
thread gives the same digits wherever it runs: a command, a notebook, a test.

- ``blas_thread_limit(n)``: this process, for the duration of a block, at any
  time (threadpoolctl talks to the BLAS library that NumPy loaded);
- ``set_blas_threads(n)`` / ``restore_environ``: the environment that worker
  processes started from now on inherit; their BLAS reads it when it loads.

A thread count the user put in the environment (OPENBLAS_NUM_THREADS, ...) is
theirs, and wins.
"""
from __future__ import annotations

import os
from contextlib import nullcontext

__all__ = ["BLAS_THREAD_VARS", "blas_thread_limit", "blas_thread_count", "set_blas_threads", "restore_environ"]

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def blas_thread_limit(n: int | None):
    """A context in which this process's BLAS uses at most ``n`` threads (None: no limit)."""
    if n is None or any(os.environ.get(var) for var in BLAS_THREAD_VARS[:3]):
        return nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=n, user_api="blas")


def blas_thread_count() -> int | None:
    """The number of threads the BLAS NumPy uses runs with now (None if it cannot be told)."""
    from threadpoolctl import threadpool_info
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return counts[0] if counts else None


def set_blas_threads(n: int = 1) -> dict:
    """Set every BLAS thread variable to ``n`` in this process's environment, which
    processes started from now on inherit.  Returns the old values, for ``restore_environ``."""
    saved = {k: os.environ.get(k) for k in BLAS_THREAD_VARS}
    os.environ.update({k: str(n) for k in BLAS_THREAD_VARS})
    return saved


def restore_environ(saved: dict) -> None:
    """Put back the variables ``set_blas_threads`` changed."""
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
