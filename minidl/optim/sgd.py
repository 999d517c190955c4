"""Stochastic gradient descent, with optional (Nesterov) momentum."""
from __future__ import annotations

import numpy as np

from minidl.optim.base import Optimizer, _check


class SGD(Optimizer):
    r"""SGD with momentum, exactly as ``torch.optim.SGD``.

    For each parameter p with gradient g::

        g <- g + weight_decay * p                   (weights only, unless decay_biases)
        v <- g                                      (first step)
        v <- momentum * v + (1 - dampening) * g     (later steps)
        p <- p - lr * (g + momentum * v)            (nesterov=True)
        p <- p - lr * v                             (otherwise; v = g when momentum = 0)

    ``momentum=0.9, dampening=0`` is the course's ``gd_with_mom``
    (``v = gamma*v + grad; p -= eta*v``), and ``momentum=0`` is plain ``gd``.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, decay_biases: bool = False):
        super().__init__(params, lr, weight_decay, decay_biases)
        self.momentum = _check("momentum", momentum)
        self.dampening = _check("dampening", dampening, 0.0, 1.0, high_open=False)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        if self.momentum or self.weight_decay:
            return super().step()
        # plain SGD, p <- p - lr g: no state and no weight decay, so skip the
        # general loop's per-parameter bookkeeping (it costs as much as the
        # update itself for the small layers of a batch-10 network)
        _plain_sgd_step(self.params, self.lr)

    def state_shapes(self, p):
        return {"momentum_buffer": p.shape} if self.momentum else {}

    def _update(self, p, g, state):
        mu = self.momentum
        if mu:
            v = state.get("momentum_buffer")
            if v is None:
                v = state["momentum_buffer"] = g.copy()
            else:
                v *= mu
                v += (1.0 - self.dampening) * g if self.dampening else g
            g = g + mu * v if self.nesterov else v
        p.data -= self.lr * g

    def __repr__(self):
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, dampening={self.dampening}, "
                f"nesterov={self.nesterov}, weight_decay={self.weight_decay}"
                f"{', decay_biases=True' if self.decay_biases else ''})")


def _plain_sgd_step(params: list, lr: float) -> None:
    """``p.data -= lr * p.grad`` for every p whose grad is not None (bit for bit).

    lr goes to the multiply as a 0-d array of the gradient's dtype: a ufunc
    given a Python float converts it on every call, which costs more than a
    10x30 multiply.  Either way the product is rounded in the gradient's dtype.
    """
    lr_array = np.array(lr, dtype=params[0].dtype)
    for p in params:
        g = p.grad
        if g is not None:
            if g.dtype != lr_array.dtype:
                lr_array = np.array(lr, dtype=g.dtype)
            p.data -= g * lr_array
