"""Callbacks: what watches a run of ``Trainer.fit`` without being the loop.

A callback is any object with some of these methods; ``fit`` calls them:

    begin(trainer)              once, before the first step
    after_backward(model)       every batch, once the gradients are set and before the step
    columns() -> dict           at the end of every round: extra columns of its metrics row
    end_round(trainer, row)     at the end of every round, with the finished row; returning a
                                string stops training, and the string becomes the status
    end(trainer, result)        once, when training has ended, whatever the reason

Others live where their files do: ``minidl.runs.folder.MetricsWriter`` writes
each row to metrics.csv, ``minidl.training.signals.StopOnSignals`` turns Ctrl-C
into a clean stop.
"""
from __future__ import annotations

import math

import numpy as np

from minidl.training.checkpoint import save_checkpoint

__all__ = ["GradientStats", "StopAt", "KeepBest", "OnRound"]


class GradientStats:
    """Per-parameter gradient norms on every batch, averaged per round.

    For each tracked parameter p it records ``||p.grad||_2`` after every
    backward pass.  ``columns`` returns, for the round just finished:

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

    def columns(self) -> dict:
        if not self._count:
            return {}
        out = {f"grad_norm_{name}": float(total / self._count) for name, total in zip(self.names, self._sum)}
        out["grad_ratio"] = float(self._ratio_sum / self._count)
        self._sum[:] = 0.0
        self._ratio_sum, self._count = 0.0, 0
        return out


class StopAt:
    """Stop once ``row[key] >= value``, e.g. ``StopAt("train_acc", 1.0)``; the status is ``reason``."""

    def __init__(self, key: str, value: float, reason: str = "reached"):
        self.key, self.value, self.reason = key, value, reason

    def end_round(self, trainer, row: dict) -> str | None:
        return self.reason if row[self.key] >= self.value else None


class KeepBest:
    """Keep the model of the round with the highest ``row[metric]`` (e.g. ``val_acc``).

    Without ``path`` the parameters are kept in memory, in ``self.state``; with
    ``path`` they are saved there as a checkpoint, with meta ``{'epoch', metric}``.
    ``value`` and ``epoch`` start from a previous run's best when it resumes.
    ``last=True`` keeps the last round's model instead, whatever its value: a run
    evaluated only on the test set must not choose its model there.
    """

    def __init__(self, metric: str, path=None, value: float = -math.inf, epoch: int = 0, last: bool = False):
        self.metric, self.path, self.last = metric, path, last
        self.value, self.epoch = value, epoch
        self.row: dict | None = None
        self.state: dict | None = None

    def end_round(self, trainer, row: dict) -> None:
        if self.last or row[self.metric] > self.value:
            self.value, self.epoch, self.row = row[self.metric], row["epoch"], row
            if self.path is None:
                self.state = trainer.model.state_dict()
            else:
                save_checkpoint(self.path, trainer.model, meta={"epoch": row["epoch"], self.metric: row[self.metric]})


class OnRound:
    """Call ``function(trainer, row)`` at the end of every round (e.g. to log the row)."""

    def __init__(self, function):
        self.function = function

    def end_round(self, trainer, row: dict) -> None:
        self.function(trainer, row)
