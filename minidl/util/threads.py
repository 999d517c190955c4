"""How many threads BLAS, the matrix library under NumPy, may use.

BLAS (OpenBLAS, MKL, ...) reads its thread count from the environment once,
when NumPy is first imported; after that it cannot be changed from NumPy.  So
a limit must be in the environment *before* NumPy loads: in this process
(``pin_blas_threads``), or in worker processes it starts (``blas_threads``,
around the code that starts them).

This module imports nothing heavy, so it can run before NumPy does.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

__all__ = ["BLAS_THREAD_VARS", "pin_blas_threads", "blas_threads", "set_blas_threads", "restore_environ"]

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def pin_blas_threads(n: int = 1) -> bool:
    """Limit this process to ``n`` BLAS threads, if NumPy has not loaded yet.

    A thread count already in the environment wins (it is the user's choice).
    Returns whether the limit can still take effect.
    """
    if "numpy" in sys.modules:
        return False
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, str(n))
    return True


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


@contextmanager
def blas_threads(n: int = 1):
    """Processes started inside the block use ``n`` BLAS threads each."""
    saved = set_blas_threads(n)
    try:
        yield
    finally:
        restore_environ(saved)
