"""``Parameter``: a trainable array together with its gradient.

A Parameter is deliberately dumb: it holds ``data``, the ``grad`` that the
last backward pass left there, and a ``decay`` flag.  Layers own Parameters;
optimizers only ever see Parameters.  Because nothing else is assumed, an
optimizer can move a network weight or a plain 2-D point on the Rosenbrock
surface with the very same code.
"""
from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array.

    Attributes:
        data:  ndarray of any shape, e.g. a weight ``(D_in, D_out)``, a bias
               ``(D_out,)`` or a point ``(2,)``.
        grad:  ndarray of the same shape as ``data``, or None before the first
               backward pass.  Backward passes *set* it (they do not add to it).
        decay: whether weight decay / L2 regularisation applies.  True for
               weights, False for biases.
        grad_slot: None, or an array of ``data``'s shape and dtype where a backward
               pass may write the gradient instead of allocating one: an
               optimizer's ``Arena`` (minidl/arena.py) sets it, so that all the
               gradients of a model end up side by side in one buffer.
               ``np.matmul(x.T, dout, out=W.grad_slot)`` works either way
               (``out=None`` allocates).
    """

    __slots__ = ("data", "grad", "decay", "grad_slot")

    def __init__(self, data, decay: bool = True):
        data = np.asarray(data)
        if not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float64)
        self.data = data
        self.grad: np.ndarray | None = None
        self.decay = bool(decay)
        self.grad_slot: np.ndarray | None = None

    def grad_out(self, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        """Where a backward pass computing the gradient from arrays ``a`` and ``b`` should write
        it: ``grad_slot`` if there is one and both have its dtype, else None (allocate)."""
        slot = self.grad_slot
        if slot is not None and a.dtype == slot.dtype and b.dtype == slot.dtype:
            return slot
        return None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}, decay={self.decay})"
