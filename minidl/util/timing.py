"""How long one forward + backward pass takes, as a function of the batch size.

    sizes = [1, 10, 100, 1000]
    med, runs = time_forward_backward(model, NLLLoss(), X, y, sizes, repeats=5)

Timing on a shared machine is noisy: another process can take the core for a
few milliseconds at any moment, which only ever makes a run *slower*.  The
median of several runs ignores such outliers, where the mean does not, so the
median is what we report (the mean is returned too, through ``runs``).
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["time_forward_backward"]


def time_forward_backward(model, loss, X: np.ndarray, y: np.ndarray, batch_sizes, repeats: int = 5,
                          warmup: int = 1, clock=time.perf_counter):
    """Median wall-clock seconds of ``loss.forward(model.forward(X[:N]), y[:N])`` + backward, per N.

    Args:
        model:       a Layer; loss: e.g. ``NLLLoss()``.
        X, y:        (M, D) inputs and (M,) labels, M >= max(batch_sizes); the first N rows are used.
        batch_sizes: the N to time, each in [1, M].
        repeats:     timed runs per N; warmup: untimed runs before them (caches, allocator).
        clock:       the timer (``time.perf_counter``; ``time.process_time`` counts CPU time instead).
    Returns:
        ``(medians (K,), runs (K, repeats))`` in seconds.
    The gradients of ``model`` are overwritten; the parameters are not changed.
    """
    sizes = [int(n) for n in batch_sizes]
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    bad = [n for n in sizes if not 1 <= n <= len(X)]
    if bad:
        raise ValueError(f"batch sizes must be in [1, {len(X)}] (the rows of X); got {bad}")
    runs = np.empty((len(sizes), repeats))
    for i, n in enumerate(sizes):
        xb, yb = np.ascontiguousarray(X[:n]), y[:n]
        for r in range(warmup + repeats):
            start = clock()
            loss.forward(model.forward(xb), yb)
            model.backward(loss.backward(), input_grad=False)
            elapsed = clock() - start
            if r >= warmup:
                runs[i, r - warmup] = elapsed
    return np.median(runs, axis=1), runs
