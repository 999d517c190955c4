"""The training loop that every experiment shares.

    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                      batch_size=64, rng=np.random.default_rng(0))
    result = trainer.fit(X_train, y_train, epochs=10, eval_sets={"val": (X_val, y_val)})
    result.history[-1]    # {'epoch': 10, 'train_loss': ..., 'train_acc': ..., 'val_loss': ..., 'val_acc': ...,
                          #  'lr': 0.1, 'seconds': ...}

One *step* (``Trainer.step``) is: forward, loss, backward, optimizer step, on one
mini-batch.  ``fit`` drives the steps in *rounds*.  By default a round is an
epoch: one pass over the data in a fresh random order drawn from the trainer's
``np.random.Generator`` (in order when ``rng`` is None), the last partial batch
kept.  ``eval_every=k`` makes a round k steps instead, across epoch boundaries.
After every round ``fit``

1. evaluates each of ``eval_sets`` (a set named ``train`` replaces the running
   means of the round with a clean pass over that data);
2. steps the lr scheduler once for each epoch that ended during the round;
3. builds the round's metrics row, and hands it to the callbacks, which may
   add columns, write it, save checkpoints, or stop training
   (``minidl.training.callbacks``).

Training stops when the epochs or steps run out (status ``completed``), when a
callback asks (its reason becomes the status), when the loss or a parameter
stops being finite (``diverged``), or when a stop is requested, e.g. by Ctrl-C
(``interrupted``, at a batch boundary).  The same seed gives bit-identical
results, and nothing here copies the dataset: each step gathers one batch.
"""
from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field

import numpy as np

from minidl.data.batches import epoch_batches
from minidl.layers.base import evaluation_mode
from minidl.training.signals import Interrupted
from minidl.util.progress import progress_bar

__all__ = ["Trainer", "FitResult", "Diverged", "Interrupted", "accuracy", "evaluate"]


class Diverged(ArithmeticError):
    """The loss or a parameter became NaN or infinite."""

    def __init__(self, epoch: int, batch: int, lr: float, what: str = "loss"):
        self.epoch, self.batch, self.lr = epoch, batch, lr
        super().__init__(f"training diverged: the {what} became non-finite at epoch {epoch}, batch {batch} "
                         f"with learning rate {lr:g}; try a lower learning rate (e.g. {lr / 10:g})")


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest logit is the label.  logits (N, C), y (N,)."""
    return float(np.count_nonzero(logits.argmax(axis=1) == y)) / len(y)


@dataclass
class FitResult:
    """What ``Trainer.fit`` returns.

    history: one metrics row (dict) per round, in order.
    status:  'completed', 'diverged', 'interrupted', or the reason a callback gave for stopping.
    message: what happened, in words, when training did not complete.
    signal:  the name of the signal that interrupted training (e.g. 'SIGINT'), or None.
    """
    history: list[dict] = field(default_factory=list)
    status: str = "completed"
    message: str = ""
    signal: str | None = None

    def column(self, key: str) -> np.ndarray:
        """One column of the history as a float array, e.g. ``result.column("train_loss")``."""
        return np.array([row[key] for row in self.history], dtype=np.float64)


class Trainer:
    """Mini-batch training of ``model`` under ``loss`` with ``optimizer``.

    Args:
        model:      a Layer (e.g. ``MLP``) mapping (N, D) inputs to (N, C) outputs.
        loss:       e.g. ``SoftmaxCrossEntropy()``: ``forward(outputs, y) -> float``, ``backward()``.
        optimizer:  a ``minidl.optim`` optimizer over ``model.parameters()``.
        scheduler:  optional lr scheduler, stepped once per epoch.
        batch_size: examples per step.
        rng:        Generator for the per-epoch shuffle (None: batches in order).
        classification: whether to count accuracy (argmax of the outputs vs labels).
        log_every:  if > 0, call ``log(line)`` with the running loss every this many batches
                    (the course's ``debug: true``).
        augment:    optional ``f(xb, rng) -> xb``, applied to every training batch (never to an
                    evaluation), e.g. ``minidl.data.augment.Augment``; ``augment_rng`` is its Generator.
        eval_batch_size: examples per forward pass of an evaluation.

    The model is in training mode (``model.train()``) for the steps and in evaluation mode
    for every evaluation, so dropout and batch norm act only while training.
    """

    def __init__(self, model, loss, optimizer, scheduler=None, batch_size: int = 64,
                 rng: np.random.Generator | None = None, classification: bool = True,
                 log_every: int = 0, log=print, augment=None, augment_rng: np.random.Generator | None = None,
                 eval_batch_size: int = 4096):
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive; got {batch_size}")
        self.model, self.loss, self.optimizer, self.scheduler = model, loss, optimizer, scheduler
        self.batch_size = int(batch_size)
        self.rng = rng
        self.classification = classification
        self.log_every, self.log = int(log_every), log
        self.augment, self.augment_rng, self.eval_batch_size = augment, augment_rng, int(eval_batch_size)
        self.epoch = 0                 # completed epochs
        self.steps = 0                 # completed steps
        self.stop_requested = False    # set (e.g. by a signal handler) to stop at the next batch boundary

    # ---- one step ------------------------------------------------------------
    def step(self, xb: np.ndarray, yb: np.ndarray, after_backward=(), batch: int = 0) -> tuple[float, int]:
        """Forward, loss, backward and an optimizer step on one batch.

        xb: (B, D) inputs; yb: (B,) labels (or (B, K) targets).
        after_backward: functions ``f(model)`` called once the gradients are set,
                        before the parameters move.
        batch: the batch's index in its epoch, for the message of ``Diverged``.
        Returns ``(loss, correct)``: the batch's mean loss, before the step, and its
        number of correct predictions (0 unless ``classification``).  Raises
        ``Diverged``, before any parameter moves, if the loss is not finite.
        """
        out = self.model.forward(xb)
        value = self.loss.forward(out, yb)
        if not math.isfinite(value):
            raise Diverged(self.epoch + 1, batch, self.optimizer.lr)
        correct = np.count_nonzero(out.argmax(axis=1) == yb) if self.classification else 0
        self.model.backward(self.loss.backward(), input_grad=False)
        for hook in after_backward:
            hook(self.model)
        self.optimizer.step()
        self.steps += 1
        return value, correct

    def _run_round(self, X, y, batches, after_backward, bar) -> dict:
        """Steps over ``batches`` (index arrays or slices of X); mean loss and accuracy over them."""
        total_loss, correct, seen = 0.0, 0, 0
        self.model.train()
        for batch, idx in enumerate(batches):
            if self.stop_requested:
                raise Interrupted(f"stopped during epoch {self.epoch + 1} at batch {batch}", self.stop_requested)
            xb, yb = X[idx], y[idx]
            if self.augment is not None:
                xb = self.augment(xb, self.augment_rng)
            value, right = self.step(xb, yb, after_backward, batch)
            total_loss += value * len(yb)
            correct += right
            seen += len(yb)
            if bar is not None:                      # only where a bar can be seen: a terminal or a notebook
                bar.set_postfix_str(f"loss {total_loss / seen:.4g}", refresh=False)
                bar.update(len(yb))
            if self.log_every and (batch + 1) % self.log_every == 0:
                running = f"epoch {self.epoch + 1} batch {batch + 1}: running loss {total_loss / seen:.4f}"
                self.log(running + (f" acc {correct / seen:.4f}" if self.classification else ""))
        if not self._parameters_finite():
            raise Diverged(self.epoch + 1, batch, self.optimizer.lr, what="parameters")
        result = {"train_loss": float(total_loss / seen)}
        if self.classification:
            result["train_acc"] = int(correct) / seen
        return result

    def _parameters_finite(self) -> bool:
        """Whether the parameters are finite after a round: one call on the optimizer's arena
        (minidl/arena.py) when it holds them (only what the optimizer moves can turn
        non-finite in training), else parameter by parameter."""
        arena = getattr(self.optimizer, "arena", None)
        if arena is not None and arena.holds():
            return bool(np.isfinite(arena.data).all())
        return all(np.isfinite(p.data).all() for p in self.model.parameters())

    # ---- the driver ------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int | None = None, *, steps: int | None = None,
            eval_every: str | int = "epoch", eval_sets: dict | None = None, callbacks=(),
            batches=None, drop_last: bool = False, progress: bool = False) -> FitResult:
        """Train for ``epochs`` more epochs, or ``steps`` more steps, in rounds.

        X: (N, D) inputs; y: (N,) labels (or (N, K) targets).
        eval_every: ``"epoch"`` (a round is an epoch) or an int k (a round is k steps).
        eval_sets:  ``{name: (X, y)}`` evaluated after every round, as ``<name>_loss``, ``<name>_acc``.
        callbacks:  objects with any of ``begin``, ``after_backward``, ``columns``,
                    ``end_round``, ``end`` (see ``minidl.training.callbacks``).
        batches:    instead of shuffled epochs, an iterable of index arrays, one per step
                    (then there are no epochs; ``eval_every`` counts steps, default 1).
        drop_last:  drop each epoch's last partial batch.
        progress:   draw a progress bar of each round on a terminal or in a notebook.
        Returns a ``FitResult``: the rows, and how training ended.
        """
        if self.classification and np.ndim(y) != 1:
            raise ValueError(f"fit: classification=True counts argmax(outputs) == labels, so y must be (N,) "
                             f"labels; got shape {np.shape(y)}. For regression targets pass "
                             f"Trainer(..., classification=False)")
        rounds = self._rounds(len(X), epochs, steps, eval_every, batches, drop_last)
        epoch_rounds = eval_every == "epoch" and batches is None
        desc = _describe_rounds(epoch_rounds, self.epoch, epochs, self.steps, steps) if progress else None
        after_backward = [c.after_backward for c in callbacks if hasattr(c, "after_backward")]
        result = FitResult()
        for c in callbacks:
            if hasattr(c, "begin"):
                c.begin(self)
        try:
            for round_batches in rounds:
                row = self._fit_round(X, y, round_batches, eval_sets or {}, callbacks, after_backward, desc,
                                      epoch_rounds, steps_per_epoch=self._steps_per_epoch(len(X), drop_last))
                result.history.append(row)
                reasons = [c.end_round(self, row) for c in callbacks if hasattr(c, "end_round")]
                stop = next((r for r in reasons if r), None)
                if stop:
                    result.status = stop
                    break
        except Diverged as exc:
            result.status, result.message = "diverged", str(exc)
        except Interrupted:
            result.signal = signal.Signals(self.stop_requested).name
            result.status = "interrupted"
            result.message = f"interrupted by {result.signal} during epoch {self.epoch + 1}"
        finally:
            for c in callbacks:
                if hasattr(c, "end"):
                    c.end(self, result)
        return result

    def _steps_per_epoch(self, n: int, drop_last: bool) -> int:
        return n // self.batch_size if drop_last else -(-n // self.batch_size)

    def _rounds(self, n, epochs, steps, eval_every, batches, drop_last):
        """The batches of each round: a list of index arrays (or slices) per round."""
        if (epochs is None) == (steps is None) and batches is None:
            raise ValueError("fit needs exactly one of epochs= or steps=")
        if eval_every != "epoch" and not (isinstance(eval_every, int) and eval_every > 0):
            raise ValueError(f"eval_every must be 'epoch' or a positive number of steps; got {eval_every!r}")
        if batches is not None:
            if self.scheduler is not None:
                raise ValueError("fit(batches=...) has no epochs, so it cannot step an lr scheduler")
            return _chunks(iter(batches), 1 if eval_every == "epoch" else eval_every, steps)
        if eval_every == "epoch":
            if epochs is None:
                raise ValueError("eval_every='epoch' counts epochs: give epochs=, or eval_every=<steps>")
            return (epoch_batches(n, self.batch_size, self.rng, drop_last) for _ in range(epochs))
        total = steps if steps is not None else epochs * self._steps_per_epoch(n, drop_last)
        return _chunks(self._batch_stream(n, drop_last), eval_every, total)

    def _batch_stream(self, n: int, drop_last: bool):
        """The batches of epoch after epoch, without end."""
        while True:
            yield from epoch_batches(n, self.batch_size, self.rng, drop_last)

    def _fit_round(self, X, y, batches, eval_sets, callbacks, after_backward, desc, epoch_rounds,
                   steps_per_epoch) -> dict:
        """One round: its steps, the evaluations, the scheduler, and the metrics row."""
        t0, lr, steps_before = time.perf_counter(), self.optimizer.lr, self.steps
        bar = progress_bar(_round_size(X, batches), desc(self), unit="ex") if desc else None
        try:
            train = self._run_round(X, y, batches, after_backward, bar)
        finally:
            if bar is not None:
                bar.close()
        if epoch_rounds:
            row = {"epoch": self.epoch + 1}
        else:
            row = {"step": self.steps, "epoch": round(self.steps / steps_per_epoch, 3)}
        row.update(train)
        for name, (X_eval, y_eval) in eval_sets.items():
            ev = self.evaluate(X_eval, y_eval)
            row.update({f"{name}_{k}": v for k, v in ev.items()})
        row["lr"] = lr
        for c in callbacks:
            if hasattr(c, "columns"):
                row.update(c.columns())
        self._count_epochs(steps_before, steps_per_epoch, epoch_rounds)
        row["seconds"] = round(time.perf_counter() - t0, 3)
        return row

    def _count_epochs(self, steps_before: int, steps_per_epoch: int, epoch_rounds: bool) -> None:
        """Advance the epoch count, and the scheduler once per epoch that ended in this round."""
        ended = 1 if epoch_rounds else self.steps // steps_per_epoch - steps_before // steps_per_epoch
        for _ in range(ended):
            if self.scheduler is not None:
                self.scheduler.step()
            self.epoch += 1

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int | None = None) -> dict:
        """Mean loss (and accuracy) over (X, y), in evaluation mode, without touching the parameters."""
        return evaluate(self.model, self.loss, X, y, batch_size or self.eval_batch_size, self.classification)


def _chunks(iterator, size: int, total: int | None):
    """Lists of ``size`` items from ``iterator``, ``total`` items in all (None: until it ends)."""
    taken = 0
    while total is None or taken < total:
        n = size if total is None else min(size, total - taken)
        chunk = [b for _, b in zip(range(n), iterator)]
        if not chunk:
            return
        taken += len(chunk)
        yield chunk


def _describe_rounds(epoch_rounds: bool, epoch0: int, epochs, step0: int, steps):
    """``desc(trainer)`` for the progress bar: 'epoch 3/10', or 'step 201 of 1000'."""
    if epoch_rounds:
        return lambda t: f"epoch {t.epoch + 1}/{epoch0 + epochs}"
    end = f" of {step0 + steps}" if steps is not None else ""
    return lambda t: f"step {t.steps + 1}{end}"


def _round_size(X, batches) -> int:
    return sum(len(range(*b.indices(len(X)))) if isinstance(b, slice) else len(b) for b in batches)


def evaluate(model, loss, X: np.ndarray, y: np.ndarray, batch_size: int = 4096, classification: bool = True) -> dict:
    """``{'loss': mean loss, 'acc': accuracy}`` of ``model`` over (X, y), in chunks of ``batch_size`` rows.

    Forward passes only, in evaluation mode (no dropout, batch norm's running statistics);
    the parameters, their gradients and the model's mode are as they were afterwards.
    ``classification=False`` leaves out the accuracy (e.g. for regression).
    """
    n = len(X)
    if n == 0:
        raise ValueError("evaluate needs at least one example; got an empty X")
    total_loss, correct = 0.0, 0
    with evaluation_mode(model):
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
