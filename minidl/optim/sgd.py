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

    def state_shapes(self, p):
        return {"momentum_buffer": p.shape} if self.momentum else {}

    def _update(self, data, g, state):
        mu = self.momentum
        if mu:
            v = state.get("momentum_buffer")
            if v is None:
                v = state["momentum_buffer"] = g.copy()
            else:
                v *= mu
                v += (1.0 - self.dampening) * g if self.dampening else g
            g = g + mu * v if self.nesterov else v
        step = np.multiply(g, self.lr, out=self._temp(g))       # lr * g, into a kept array
        data -= step

    def __repr__(self):
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, dampening={self.dampening}, "
                f"nesterov={self.nesterov}, weight_decay={self.weight_decay}"
                f"{', decay_biases=True' if self.decay_biases else ''})")

