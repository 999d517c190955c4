"""Training hooks: observe a run without changing it.

A hook may define either method (``minidl.training.Trainer`` calls them):

    after_backward(model)   every batch, once the gradients are set and before the step
    end_epoch() -> dict     once per epoch; the dict becomes extra metrics.csv columns
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["GradientStats"]


class GradientStats:
    """Per-parameter gradient norms on every batch, averaged per epoch.

    For each tracked parameter p it records ``||p.grad||_2`` after every
    backward pass.  ``end_epoch`` returns, for the epoch just finished:

        grad_norm_<name>   the mean over batches of ||grad|| of that parameter
        grad_ratio         the mean over batches of ||grad W_first|| / ||grad W_last||,
                           first and last *weight* matrices (the vanishing-gradient measure)

    Args:
        weights_only: track only parameters with ``decay=True`` (weights), not biases.
        keep_batches: also keep every batch's norms in ``self.batches`` (a list of (P,) arrays).
    """

    def __init__(self, weights_only: bool = True, keep_batches: bool = False):
        self.weights_only, self.keep_batches = weights_only, keep_batches
        self.names: list[str] | None = None
        self.batches: list[np.ndarray] = []
        self._params = None
        self._sum = None
        self._ratio_sum = 0.0
        self._count = 0

    def _bind(self, model) -> None:
        named = [(n, p) for n, p in model.named_parameters() if p.decay or not self.weights_only]
        if not named:
            raise ValueError("GradientStats found no parameters to track")
        self.names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._sum = np.zeros(len(named))

    def after_backward(self, model) -> None:
        if self._params is None:
            self._bind(model)
        norms = np.array([math.sqrt(float(np.vdot(p.grad, p.grad))) for p in self._params])
        self._sum += norms
        self._ratio_sum += norms[0] / norms[-1] if norms[-1] > 0 else math.inf
        self._count += 1
        if self.keep_batches:
            self.batches.append(norms)

    def end_epoch(self) -> dict:
        if not self._count:
            return {}
        out = {f"grad_norm_{name}": float(total / self._count) for name, total in zip(self.names, self._sum)}
        out["grad_ratio"] = float(self._ratio_sum / self._count)
        self._sum[:] = 0.0
        self._ratio_sum, self._count = 0.0, 0
        return out
