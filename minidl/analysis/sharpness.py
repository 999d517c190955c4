"""Sharpness: the largest rise of the loss within a small box around the weights.

Keskar et al. 2017 measure how sharp a minimum theta is by

    sharpness_eps(theta) = max over delta in the box [-eps, eps]^P of  L(theta + delta) - L(theta).

The maximum is estimated here from random points: ``samples`` deltas drawn
uniformly from each box.  A box of a smaller eps lies inside every larger box,
so the points drawn for a smaller eps count for the larger ones too, and
delta = 0 (the box's centre) counts for all.  The estimate is therefore
never negative and never decreases with eps, like the true maximum, and it is
a lower bound on it.

(Keskar et al. also scale the box by |theta_i| + 1 and divide by 1 + L; here
the box is the plain one of the definition above.)
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import in_evaluation_mode

from minidl.analysis.params import flatten_params, unflatten_params

__all__ = ["sharpness"]


@in_evaluation_mode
def sharpness(model, loss_of, epsilons, samples: int = 1000, rng=None, log=None) -> dict:
    """Estimate the sharpness of ``model`` for each eps in ``epsilons``.

    Args:
        model:    the network at theta; its parameters are restored afterwards.
        loss_of:  ``loss_of(model) -> float``, the loss L at the model's current
                  parameters (e.g. the training loss over a fixed set of examples).
        epsilons: box half-widths, e.g. (1e-4, 1e-3, 1e-2).
        samples:  random points per box.
        rng:      np.random.Generator or seed for the points.
        log:      optional ``log(line)`` called once per eps.

    Returns: ``{'loss': L(theta), 'sharpness': {eps: estimate}, 'samples': samples}``.
    Run it in float64 (``model.astype(np.float64)``): for eps = 1e-4 the rise in
    loss is far below float32's resolution.
    """
    epsilons = sorted(float(e) for e in epsilons)
    if not epsilons or epsilons[0] <= 0:
        raise ValueError(f"epsilons must be positive numbers; got {epsilons}")
    if int(samples) < 1:
        raise ValueError(f"samples must be at least 1; got {samples}")
    rng = np.random.default_rng(rng)
    theta = flatten_params(model)
    base = float(loss_of(model))
    best = 0.0                               # delta = 0 is in every box
    result = {}
    try:
        for eps in epsilons:
            for _ in range(int(samples)):
                delta = rng.uniform(-eps, eps, size=theta.shape)
                unflatten_params(model, theta + delta)
                best = max(best, float(loss_of(model)) - base)
            result[eps] = best
            if log is not None:
                log(f"eps {eps:g}: sharpness {best:.4g} (loss {base:.4g})")
    finally:
        unflatten_params(model, theta)
    return {"loss": base, "sharpness": result, "samples": int(samples)}
