"""RMSprop: divide the gradient by a running RMS of its recent magnitudes."""
from __future__ import annotations

import numpy as np

from minidl.optim.base import Optimizer, _check


class RMSprop(Optimizer):
    r"""RMSprop, as ``torch.optim.RMSprop`` (Hinton, Coursera lecture 6e).

    For each parameter p with gradient g::

        g <- g + weight_decay * p                  (weights only, unless decay_biases)
        s <- alpha * s + (1 - alpha) * g^2         (s_0 = 0)
        a <- alpha * a + (1 - alpha) * g           (centered=True only; a_0 = 0)
        d  = sqrt(s - a^2) + eps   if centered  else  sqrt(s) + eps
        b <- momentum * b + g / d;  p <- p - lr * b    (momentum > 0)
        p <- p - lr * g / d                            (otherwise)

    ``eps_inside_sqrt=True`` uses ``d = sqrt(s + eps)`` instead, the form of the
    Neuromatch optimization tutorial (``w -= lr * g / sqrt(eps + s)``).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, centered: bool = False, weight_decay: float = 0.0,
                 eps_inside_sqrt: bool = False, decay_biases: bool = False):
        super().__init__(params, lr, weight_decay, decay_biases)
        self.alpha = _check("alpha", alpha, 0.0, 1.0)
        self.eps = _check("eps", eps)
        self.momentum = _check("momentum", momentum)
        self.centered = bool(centered)
        self.eps_inside_sqrt = bool(eps_inside_sqrt)

    def state_shapes(self, p):
        names = ["square_avg"] + ["grad_avg"] * self.centered + ["momentum_buffer"] * bool(self.momentum)
        return {name: p.shape for name in names}

    def _update(self, data, g, state):
        alpha = self.alpha
        if not state:
            state["square_avg"] = np.zeros_like(data)
            if self.centered:
                state["grad_avg"] = np.zeros_like(data)
            if self.momentum:
                state["momentum_buffer"] = np.zeros_like(data)
        s = state["square_avg"]
        s *= alpha
        s += (1.0 - alpha) * (g * g)
        var = s
        if self.centered:
            a = state["grad_avg"]
            a *= alpha
            a += (1.0 - alpha) * g
            var = s - a * a
        if self.eps_inside_sqrt:
            denom = np.sqrt(var + self.eps)
        else:
            denom = np.sqrt(var)
            denom += self.eps
        if self.momentum:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g / denom
            data -= self.lr * b
        else:
            data -= self.lr * g / denom

    def __repr__(self):
        return (f"RMSprop(lr={self.lr}, alpha={self.alpha}, eps={self.eps}, momentum={self.momentum}, "
                f"centered={self.centered}, weight_decay={self.weight_decay}"
                f"{', decay_biases=True' if self.decay_biases else ''})")
