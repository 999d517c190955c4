"""``Arena``: every parameter of a model in one flat buffer, every gradient in another.

A network's parameters are many small arrays: a weight and a bias per layer.
An optimizer that visits them one by one makes a handful of NumPy calls per
parameter per step, and for small layers each call costs more than its
arithmetic.  The arena lays them end to end::

    data:  [ 0.W ......... | 2.W .... | 4.W .. | 0.b | 2.b | 4.b ]    (S,) floats
    grad:  [ dL/d0.W ..... | dL/d2.W  | ...                       ]    (S,) floats

and makes each ``p.data`` a *view* of its stretch of ``data``, and each
``p.grad_slot`` the matching view of ``grad``.  A layer's backward writes its
gradient into ``p.grad_slot`` (``np.matmul(x.T, dout, out=W.grad_slot)``), so
after a backward pass the whole model's gradient is the one vector ``grad``,
and an update rule applied to ``(data, grad)`` moves every parameter at once:
the same few NumPy calls whatever the depth.  Element by element it is the same
arithmetic as the parameter-by-parameter update, so the results are bit for bit
the same.

Weights (``decay=True``) come first, biases after, so weight decay touches the
prefix ``data[:decay_end]``.  Each stretch starts a multiple of 64 bytes from the
buffer's start; the padding between stretches is zero and stays zero (every rule
maps a zero gradient on a zero value to zero; for Adam, RMSprop and Adagrad, given eps > 0).

Views stay valid only while nobody rebinds ``p.data``.  Code that does
(``load_state_dict``, ``astype``, ``unflatten_params``) is free to: ``holds()``
notices, and the optimizer builds a new arena from the new arrays before its next
step.  ``p.grad`` is overwritten in place by each backward pass, as in PyTorch:
copy it to keep it.
"""
from __future__ import annotations

import numpy as np

from minidl.parameter import Parameter

_ALIGN_BYTES = 64


class Arena:
    """One flat buffer for the values of ``params``, one for their gradients.

    Args:
        params: a list of Parameters, all of one floating dtype.

    Attributes:
        data:  (S,) array; ``p.data`` is a view of ``data[start : start + p.size]``.
        grad:  (S,) array; ``p.grad_slot`` is the same stretch of ``grad``.
        decay_end: the decayed parameters (``p.decay``) fill ``[0, decay_end)``.
        size:  S, the parameters' sizes plus padding.

    Building it copies each ``p.data`` (and ``p.grad``, if set) into the buffers
    and rebinds them to the views.
    """

    def __init__(self, params: list[Parameter]):
        self.params = list(params)
        dtypes = {p.dtype for p in self.params}
        if len(dtypes) != 1:
            raise ValueError(f"an Arena holds parameters of one dtype; got {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop()
        step = max(1, _ALIGN_BYTES // self.dtype.itemsize)
        ordered = [p for p in self.params if p.decay] + [p for p in self.params if not p.decay]
        self._starts, end, self.decay_end = {}, 0, 0
        for p in ordered:
            self._starts[id(p)] = end
            end += -(-p.size // step) * step            # round each stretch up to the alignment
            if p.decay:
                self.decay_end = end                    # the decayed ones come first
        self.size = end
        self.data = np.zeros(self.size, dtype=self.dtype)
        self.grad = np.zeros(self.size, dtype=self.dtype)
        self.views = []
        for p in self.params:
            view = self.view_of(self.data, p)
            view[...] = p.data
            p.data = view
            p.grad_slot = self.view_of(self.grad, p)
            if p.grad is not None and p.grad.dtype == self.dtype:
                p.grad_slot[...] = p.grad
                p.grad = p.grad_slot
            self.views.append(view)

    def view_of(self, flat: np.ndarray, p: Parameter) -> np.ndarray:
        """``p``'s stretch of an (S,) buffer, shaped like ``p`` (e.g. an optimizer's momentum)."""
        start = self._starts[id(p)]
        return flat[start:start + p.size].reshape(p.shape)

    def ready(self) -> bool:
        """Whether every ``p.data`` is its view and every ``p.grad`` its gradient slot: the
        state after a backward pass that wrote into the slots (checked before each step)."""
        for p, view in zip(self.params, self.views):
            if p.data is not view or p.grad is not p.grad_slot:
                return False
        return True

    def holds(self) -> bool:
        """Whether every ``p.data`` is still this arena's view (nothing rebound it)."""
        return all(p.data is view for p, view in zip(self.params, self.views))

    def gather_grads(self) -> bool:
        """Make every ``p.grad`` the arena's view: a gradient that a backward pass wrote
        elsewhere (or a caller assigned) is copied in.  False if some ``p.grad`` is None."""
        for p in self.params:
            g = p.grad
            if g is not p.grad_slot:
                if g is None or g.dtype != self.dtype:      # (a float64 gradient of a float32 model:
                    return False                            #  the parameter-by-parameter update keeps it)
                if np.shape(g) != p.shape:
                    raise ValueError(f"{p!r} has a gradient of shape {np.shape(g)}; expected {p.shape}")
                p.grad_slot[...] = g
                p.grad = p.grad_slot
        return True

    def __repr__(self) -> str:
        return f"Arena({len(self.params)} parameters, {self.size} {self.dtype} values, decay_end={self.decay_end})"
