"""Adagrad: per-coordinate step sizes that shrink with the accumulated squared gradient."""
from __future__ import annotations

import numpy as np

from minidl.optim.base import Optimizer, _check


class Adagrad(Optimizer):
    r"""Adagrad, as ``torch.optim.Adagrad`` (Duchi et al., 2011), without lr decay.

    For each parameter p with gradient g::

        g <- g + weight_decay * p                  (weights only, unless decay_biases)
        G <- G + g^2                               (G_0 = 0)
        p <- p - lr * g / (sqrt(G) + eps)
    """

    def __init__(self, params, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0,
                 decay_biases: bool = False):
        super().__init__(params, lr, weight_decay, decay_biases)
        self.eps = _check("eps", eps)

    def state_shapes(self, p):
        return {"sum": p.shape}

    def _update(self, data, g, state):
        if not state:
            state["sum"] = np.zeros_like(data)
        G = state["sum"]
        G += g * g
        denom = np.sqrt(G)
        denom += self.eps
        data -= self.lr * g / denom

    def __repr__(self):
        return (f"Adagrad(lr={self.lr}, eps={self.eps}, weight_decay={self.weight_decay}"
                f"{', decay_biases=True' if self.decay_biases else ''})")
