"""The training loop that every experiment shares.

    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                      batch_size=64, rng=np.random.default_rng(0))
    for epoch in range(10):
        train = trainer.train_epoch(X_train, y_train)      # {'loss': ..., 'acc': ...}
        val = trainer.evaluate(X_val, y_val)

One step is: gather a mini-batch, forward, loss, backward, optimizer step.
The batch order comes from the trainer's ``np.random.Generator``, so the
same seed gives bit-identical results.  Nothing here copies the dataset:
each step gathers one batch with a single fancy index.

Hooks observe training without changing it.  A hook may define
``after_backward(model)`` (called on every batch, after the gradients are
set and before the optimizer moves the weights) and ``end_epoch() -> dict``
(extra columns for that epoch's metrics row).  See ``minidl.training.callbacks``.
"""
from __future__ import annotations

import math

import numpy as np

from minidl.util.progress import Progress

__all__ = ["Trainer", "Diverged", "Interrupted", "accuracy", "evaluate"]


class Diverged(ArithmeticError):
    """The loss or a parameter became NaN or infinite."""

    def __init__(self, epoch: int, batch: int, lr: float, what: str = "loss"):
        self.epoch, self.batch, self.lr = epoch, batch, lr
        super().__init__(f"training diverged: the {what} became non-finite at epoch {epoch}, batch {batch} "
                         f"with learning rate {lr:g}; try a lower learning rate (e.g. {lr / 10:g})")


class Interrupted(Exception):
    """Training stopped at a batch boundary because a stop was requested (Ctrl-C / SIGTERM)."""


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest logit is the label.  logits (N, C), y (N,)."""
    return float(np.count_nonzero(logits.argmax(axis=1) == y)) / len(y)


class Trainer:
    """Mini-batch training of ``model`` under ``loss`` with ``optimizer``.

    Args:
        model:      a Layer (e.g. ``MLP``) mapping (N, D) inputs to (N, C) outputs.
        loss:       e.g. ``SoftmaxCrossEntropy()``: ``forward(outputs, y) -> float``, ``backward()``.
        optimizer:  a ``minidl.optim`` optimizer over ``model.parameters()``.
        scheduler:  optional lr scheduler, stepped once per epoch by ``end_epoch``.
        batch_size: examples per step; the last partial batch of an epoch is kept.
        rng:        Generator for the per-epoch shuffle (None: no shuffling).
        hooks:      objects with ``after_backward(model)`` and/or ``end_epoch()``.
        classification: whether to count accuracy (argmax of the outputs vs labels).
        log_every:  if > 0, call ``log(line)`` with the running loss every this many batches
                    (the course's ``debug: true``).
    """

    def __init__(self, model, loss, optimizer, scheduler=None, batch_size: int = 64,
                 rng: np.random.Generator | None = None, hooks=(), classification: bool = True,
                 log_every: int = 0, log=print):
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive; got {batch_size}")
        self.model, self.loss, self.optimizer, self.scheduler = model, loss, optimizer, scheduler
        self.batch_size = int(batch_size)
        self.rng = rng
        self.hooks = list(hooks)
        self.classification = classification
        self.log_every, self.log = int(log_every), log
        self.epoch = 0                 # completed epochs
        self.stop_requested = False    # set (e.g. by a signal handler) to stop at the next batch boundary

    def train_epoch(self, X: np.ndarray, y: np.ndarray, progress: str | None = None) -> dict:
        """One pass over (X, y) in shuffled mini-batches.  Returns mean loss and accuracy.

        X: (N, D) float array; y: (N,) int labels (or (N, K) targets for regression).
        """
        n, bs = len(X), self.batch_size
        order = self.rng.permutation(n) if self.rng is not None else None
        model, loss, step = self.model, self.loss, self.optimizer.step
        after_backward = [h.after_backward for h in self.hooks if hasattr(h, "after_backward")]
        bar = Progress(n, progress) if progress else None
        total_loss, correct = 0.0, 0
        epoch = self.epoch + 1
        for batch, start in enumerate(range(0, n, bs)):
            if self.stop_requested:
                raise Interrupted(f"stopped during epoch {epoch} at batch {batch}")
            if order is None:
                xb, yb = X[start:start + bs], y[start:start + bs]
            else:
                idx = order[start:start + bs]
                xb, yb = X[idx], y[idx]
            out = model.forward(xb)
            value = loss.forward(out, yb)
            if not math.isfinite(value):
                raise Diverged(epoch, batch, self.optimizer.lr)
            total_loss += value * len(yb)
            if self.classification:
                correct += np.count_nonzero(out.argmax(axis=1) == yb)
            model.backward(loss.backward(), input_grad=False)
            for hook in after_backward:
                hook(model)
            step()
            if bar is not None:
                bar.update(start + len(yb), loss=total_loss / (start + len(yb)))
            if self.log_every and (batch + 1) % self.log_every == 0:
                seen = start + len(yb)
                running = f"epoch {epoch} batch {batch + 1}: running loss {total_loss / seen:.4f}"
                self.log(running + (f" acc {correct / seen:.4f}" if self.classification else ""))
        if bar is not None:
            bar.close()
        if not all(np.isfinite(p.data).all() for p in model.parameters()):
            raise Diverged(epoch, batch, self.optimizer.lr, what="parameters")
        result = {"loss": float(total_loss / n)}
        if self.classification:
            result["acc"] = int(correct) / n
        return result

    def end_epoch(self) -> dict:
        """Finish an epoch: step the scheduler, collect hook columns, count the epoch."""
        extra = {}
        for hook in self.hooks:
            if hasattr(hook, "end_epoch"):
                extra.update(hook.end_epoch())
        if self.scheduler is not None:
            self.scheduler.step()
        self.epoch += 1
        return extra

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 4096) -> dict:
        """Mean loss (and accuracy) over (X, y), without touching the parameters."""
        return evaluate(self.model, self.loss, X, y, batch_size, self.classification)


def evaluate(model, loss, X: np.ndarray, y: np.ndarray, batch_size: int = 4096, classification: bool = True) -> dict:
    """``{'loss': mean loss, 'acc': accuracy}`` of ``model`` over (X, y), in chunks of ``batch_size`` rows.

    Forward passes only: the parameters and their gradients are not touched.
    ``classification=False`` leaves out the accuracy (e.g. for regression).
    """
    n = len(X)
    if n == 0:
        raise ValueError("evaluate needs at least one example; got an empty X")
    total_loss, correct = 0.0, 0
    for start in range(0, n, batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        out = model.forward(xb)
        total_loss += loss.forward(out, yb) * len(yb)
        if classification:
            correct += np.count_nonzero(out.argmax(axis=1) == yb)
    result = {"loss": float(total_loss / n)}
    if classification:
        result["acc"] = int(correct) / n
    return result
