"""An optimizer walking a point downhill on a function of a few variables.

    param = Parameter(np.array([-4.0, -2.0]))
    walk = descend(surface.f, surface.grad, SGD([param], lr=1e-4), param, steps=100_000)
    walk.path[-1], walk.values[-1], walk.diverged_at

Each step is the same contract a network's training uses, with the analytic
gradient of the function standing in for the backward pass::

    p.grad = grad(p.data)      # the "backward pass" of a point
    optimizer.step()
"""
from __future__ import annotations

import math
import time
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Walk", "descend"]


class Walk(NamedTuple):
    """path: (T+1, D) the points p_0 .. p_T; values: (T+1,) f(p_0) .. f(p_T);
    diverged_at: the step at which the walk diverged, or None; why: what happened then, in words;
    seconds: wall time of the step loop."""
    path: np.ndarray
    values: np.ndarray
    diverged_at: int | None
    why: str | None
    seconds: float


def descend(f: Callable, grad: Callable, optimizer, param, steps: int, f_min: float = 0.0,
            diverge_above: float = math.inf) -> Walk:
    """Take ``steps`` steps of ``optimizer`` on ``param`` down ``f``, recording p_t and f(p_t).

    A walk diverges at step t, and the arrays keep the part before it, if step t
    overflows (or does an invalid operation) anywhere in the gradient, the
    update or f; or f(p_t) is not finite; or f(p_t) - f_min > ``diverge_above``.
    The last rule catches walks that diverge slowly: a point at 1e113 is lost
    even though its f, ~1e228, has not overflowed yet.
    """
    path = np.empty((steps + 1, param.data.size))    # preallocated: recording costs ~0.2 us a step
    values = np.empty(steps + 1)
    path[0] = param.data
    values[0] = f(param.data)
    step = optimizer.step
    diverged_at = why = None
    start = time.perf_counter()
    # Overflow is an *expected outcome* here (a too-large learning rate), so instead of
    # letting NumPy print a RuntimeWarning and carry on with inf/nan, make it raise and
    # record the step.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for t in range(1, steps + 1):
            try:
                param.grad = grad(param.data)
                step()
                value = f(param.data)
            except FloatingPointError as exc:        # e.g. "overflow encountered in scalar multiply"
                diverged_at, why = t, str(exc)
                break
            if not math.isfinite(value) or value - f_min > diverge_above:
                diverged_at, why = t, f"f - f* = {value - f_min:.3g} > diverge_above = {diverge_above:g}"
                break
            path[t] = param.data
            values[t] = value
    seconds = time.perf_counter() - start
    last = steps if diverged_at is None else diverged_at - 1
    return Walk(path[:last + 1].copy(), values[:last + 1].copy(), diverged_at, why, seconds)
