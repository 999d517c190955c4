"""Adam: momentum on the gradient and on its square, with bias correction."""
from __future__ import annotations

import numpy as np

from minidl.optim.base import Optimizer, _check


class Adam(Optimizer):
    r"""Adam, as ``torch.optim.Adam`` (Kingma & Ba, 2015).

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g <- g + weight_decay * p                  (weights only, unless decay_biases; L2, not AdamW)
        m <- beta1 * m + (1 - beta1) * g           (first moment,  m_0 = 0)
        v <- beta2 * v + (1 - beta2) * g^2         (second moment, v_0 = 0)
        m_hat = m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
        v_max <- max(v_max, v);  v_hat = v_max / (1 - beta2^t)   (amsgrad=True only; v_max_0 = 0)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    ``eps_inside_sqrt=True`` gives the course variant (the ``adams`` reference
    function of the optimizer-race assignment, with betas (0.9, 0.99))::

        p <- p - lr * m_hat / sqrt(v_hat + eps)
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, eps_inside_sqrt: bool = False,
                 decay_biases: bool = False):
        super().__init__(params, lr, weight_decay, decay_biases)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}") from None
        self.betas = (_check("betas[0]", b1, 0.0, 1.0), _check("betas[1]", b2, 0.0, 1.0))
        self.eps = _check("eps", eps)
        self.amsgrad = bool(amsgrad)
        self.eps_inside_sqrt = bool(eps_inside_sqrt)

    def state_shapes(self, p):
        shapes = {"step": (), "exp_avg": p.shape, "exp_avg_sq": p.shape}
        return {**shapes, "max_exp_avg_sq": p.shape} if self.amsgrad else shapes

    def _update(self, data, g, state):
        b1, b2 = self.betas
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(data)
            state["exp_avg_sq"] = np.zeros_like(data)
            if self.amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(data)
        state["step"] = t = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # each line is the equation above, computed into two kept scratch arrays
        # (t1, t2) rather than into new ones: the same arithmetic, no allocation
        t1, t2 = self._temp(data), self._temp(data, 1)
        m *= b1
        m += np.multiply(g, 1.0 - b1, out=t1)                  # m = b1 m + (1 - b1) g
        v *= b2
        np.multiply(g, g, out=t1)
        v += np.multiply(t1, 1.0 - b2, out=t1)                 # v = b2 v + (1 - b2) g^2
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        bias1, bias2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        denom = np.divide(v, bias2, out=t2)                     # v_hat
        if self.eps_inside_sqrt:
            denom += self.eps
            np.sqrt(denom, out=denom)                            # sqrt(v_hat + eps)
        else:
            np.sqrt(denom, out=denom)
            denom += self.eps                                    # sqrt(v_hat) + eps
        step = np.multiply(m, self.lr / bias1, out=t1)         # lr m_hat = (lr / bias1) m
        step /= denom
        data -= step

    def __repr__(self):
        extra = ", amsgrad=True" if self.amsgrad else ""
        extra += ", eps_inside_sqrt=True" if self.eps_inside_sqrt else ""
        extra += ", decay_biases=True" if self.decay_biases else ""
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay}{extra})"
