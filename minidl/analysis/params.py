"""All of a model's parameters as one vector, and the gradient of a loss in that form.

Many analyses treat the network as a point theta in R^P: PCA of training
trajectories, the Hessian (P, P), the norm of the full gradient.  These
helpers convert between the model's list of Parameters and that vector.
The order is ``model.named_parameters()``: ``0.W`` (row-major), ``0.b``,
``2.W``, ...
"""
from __future__ import annotations

import math

import numpy as np

from minidl.layers.base import in_evaluation_mode

__all__ = ["flatten_params", "flatten_grads", "unflatten_params", "loss_and_grad", "grad_norm",
           "RecordingLoss"]


def flatten_params(model) -> np.ndarray:
    """All parameters of ``model`` as one new vector.

    Returns: (P,) array, P = ``model.num_parameters()``, in the parameters' dtype.
    """
    params = model.parameters()
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameters to flatten")
    return np.concatenate([p.data.ravel() for p in params])


def flatten_grads(model) -> np.ndarray:
    """All parameter gradients (``p.grad``, set by the last backward pass) as one (P,) vector."""
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    if missing:
        raise ValueError(f"no gradient for parameters {missing}: run a backward pass first")
    return np.concatenate([p.grad.ravel() for p in model.parameters()])


def unflatten_params(model, vector) -> None:
    """Copy a (P,) vector back into the parameters of ``model`` (the inverse of ``flatten_params``).

    Each parameter keeps its shape and dtype.  Raises ValueError if the length is not P.
    """
    vector = np.asarray(vector)
    total = model.num_parameters()
    if vector.ndim != 1 or vector.size != total:
        raise ValueError(f"expected a vector of {total} values for {type(model).__name__}; "
                         f"got an array of shape {vector.shape}")
    start = 0
    for p in model.parameters():
        p.data = vector[start:start + p.size].reshape(p.shape).astype(p.dtype, copy=True)
        start += p.size


def split_like_params(model, vector: np.ndarray) -> list[np.ndarray]:
    """Views of a (..., P) array cut and shaped like each parameter: (..., *p.shape), in parameter order."""
    pieces, start = [], 0
    lead = vector.shape[:-1]
    for p in model.parameters():
        pieces.append(vector[..., start:start + p.size].reshape(lead + p.shape))
        start += p.size
    if start != vector.shape[-1]:
        raise ValueError(f"expected vectors of {start} values; got shape {vector.shape}")
    return pieces


@in_evaluation_mode
def loss_and_grad(model, loss, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss over (X, y) and its gradient with respect to every parameter.

    One forward and one backward pass over the whole of X (full batch).

    Inputs:  X (N, D_in); y (N,) labels or (N, D_out) targets, whatever ``loss`` takes.
    Returns: (loss value, gradient (P,) in parameter order).  ``p.grad`` is left set.
    """
    value = loss.forward(model.forward(X), y)
    model.backward(loss.backward(), input_grad=False)
    return value, flatten_grads(model)


def grad_norm(model) -> float:
    """The global L2 norm of all parameter gradients, sqrt(sum_p ||p.grad||^2)."""
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    if missing:
        raise ValueError(f"no gradient for parameters {missing}: run a backward pass first")
    # per-parameter dot products in float64: no (P,) copy, no float32 overflow of the squares
    return math.sqrt(sum(float(np.vdot(p.grad.astype(np.float64, copy=False), p.grad)) for p in model.parameters()))


def perturb(model, noise: float, rng: np.random.Generator) -> None:
    """Add ``noise * N(0, 1)`` to every parameter, in place (the Neuromatch tutorial's ``random_update``)."""
    for p in model.parameters():
        p.data += (noise * rng.standard_normal(p.data.shape)).astype(p.data.dtype)


class RecordingLoss:
    """Wrap a loss so every ``forward`` value is kept in ``self.values``.

    ``Trainer`` hooks see only the model, not the batch loss; wrapping the
    loss records the loss of every iteration without touching the loop::

        loss = RecordingLoss(MSELoss())
        Trainer(model, loss, ...).train_epoch(X, y)
        loss.values          # one float per mini-batch, in order

    ``Trainer.evaluate`` calls ``forward`` too: call ``pause()`` / ``resume()``
    around evaluation, or read ``values`` before evaluating.
    """

    def __init__(self, loss):
        self.loss = loss
        self.values: list[float] = []
        self.recording = True

    def forward(self, outputs, targets) -> float:
        value = self.loss.forward(outputs, targets)
        if self.recording:
            self.values.append(value)
        return value

    __call__ = forward

    def backward(self):
        return self.loss.backward()

    def pause(self) -> None:
        self.recording = False

    def resume(self) -> None:
        self.recording = True

    def __repr__(self) -> str:
        return f"RecordingLoss({self.loss!r})"
