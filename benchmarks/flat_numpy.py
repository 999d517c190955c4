"""The floor reference: a minimal, hand-fused NumPy training loop for an MLP.

Same maths as minidl's ``MLP`` + ``SoftmaxCrossEntropy`` + plain ``SGD``
(sigmoid or ReLU hidden layers, logits out, mean cross-entropy over the batch,
``p -= lr * grad``), the same batch order, the same dtype.  Nothing is a class
or a layer: one function holds the whole step, so this is how fast NumPy itself
can train the network.  ``bench_train.py`` compares minidl against it.

What "hand-fused" means here (tricks a framework with per-layer gradients
cannot use, because its gradients must stay the true gradients):

- the learning rate is folded into the output gradient.  Backpropagation is
  linear in the upstream gradient, so scaling dL/dz of the logits by ``lr``
  scales every dL/dW and dL/db by ``lr`` too, and ``W -= x.T @ dz`` is then
  the complete SGD step: no separate ``lr * grad`` array;
- each activation is overwritten by its own derivative once dW has been taken
  from it, and softmax works in the logits' buffer;
- the first layer's dL/dx is never computed.

Like minidl's ``Trainer`` it still reports the epoch's mean loss and accuracy,
so both do the same per-step bookkeeping.
"""
from __future__ import annotations

import numpy as np


def init_params(sizes, rng: np.random.Generator, dtype=np.float32):
    """Kaiming-uniform weights (a = sqrt(5), torch's Linear default), zero biases.

    Returns ``[(W (d_in, d_out), b (d_out,)), ...]``, one pair per layer.
    """
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(d_in)
        W = rng.uniform(-bound, bound, size=(d_in, d_out)).astype(dtype)
        params.append((W, np.zeros(d_out, dtype=dtype)))
    return params


def train_epoch(X, y, params, lr: float, batch_size: int, order=None, activation: str = "sigmoid"):
    """One epoch of SGD over (X, y), updating ``params`` in place.

    X: (N, D) float array; y: (N,) int labels; params: from ``init_params``
    (or copied from a minidl model, input side first); order: (N,) batch order,
    e.g. ``rng.permutation(N)`` (None: in order).  Returns ``{'loss', 'acc'}``.
    """
    if activation not in ("sigmoid", "relu", "tanh"):
        raise ValueError(f"activation must be 'sigmoid', 'relu' or 'tanh'; got {activation!r}")
    n = len(X)
    Ws = [W for W, _ in params]
    bs = [b for _, b in params]
    last = len(params) - 1
    total_loss, correct = 0.0, 0
    rows = np.arange(batch_size)
    for start in range(0, n, batch_size):
        if order is None:
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        else:
            idx = order[start:start + batch_size]
            xb, yb = X[idx], y[idx]
        m = len(yb)
        r = rows if m == batch_size else rows[:m]
        # ---- forward: acts[l] is the input of layer l
        acts = [xb]
        h = xb
        for layer in range(last):
            h = h @ Ws[layer]
            h += bs[layer]
            _activate(h, activation)          # in place
            acts.append(h)
        z = h @ Ws[last]
        z += bs[last]
        # ---- softmax cross-entropy, in z's buffer
        correct += np.count_nonzero(z.argmax(axis=1) == yb)
        z -= z.max(axis=1, keepdims=True)
        picked = z[r, yb]
        np.exp(z, out=z)
        s = z.sum(axis=1)
        total_loss += float(np.log(s).sum() - picked.sum())
        # dz = lr * (softmax - onehot) / m: the lr folded in (see the module docstring)
        s *= m / lr
        z /= s[:, None]
        z[r, yb] -= z.dtype.type(lr / m)
        dz = z
        # ---- backward + SGD step, last layer first
        for layer in range(last, -1, -1):
            a, W = acts[layer], Ws[layer]
            da = dz @ W.T if layer else None     # with the old W, before the update
            W -= a.T @ dz
            bs[layer] -= dz.sum(axis=0)
            if layer:
                _derivative_times(da, a, activation)     # a is free now
                dz = da
    return {"loss": total_loss / n, "acc": correct / n}


# ---- Adam: the floor for the Adam configs ------------------------------------------------

def adam_state(params):
    """Zero first and second moments for ``params``: ``[(mW, vW, mb, vb), ...]``, and the step count."""
    return {"t": 0, "moments": [tuple(np.zeros_like(a) for a in (W, W, b, b)) for W, b in params]}


def _adam_update(a, g, m, v, lr, t, betas=(0.9, 0.999), eps=1e-8):
    """torch.optim.Adam on one array, in place, with two temporaries: g is free afterwards."""
    b1, b2 = betas
    m *= b1
    m += (1 - b1) * g
    v *= b2
    g *= g
    g *= 1 - b2
    v += g
    denom = np.sqrt(v / (1 - b2 ** t))
    denom += eps
    step = m * (lr / (1 - b1 ** t))
    step /= denom
    a -= step


def train_epoch_adam(X, y, params, state, lr: float, batch_size: int, order=None, activation="sigmoid",
                     loss="softmax"):
    """One epoch of Adam over (X, y) (``loss='softmax'``: labels; ``'mse'``: (N, 1) targets).

    The backward pass computes each true gradient once (Adam needs it unscaled) and hands it
    to ``_adam_update`` at once; activations become their derivatives in place, as in
    ``train_epoch``.  ``activation``: 'sigmoid', 'relu' or 'tanh'.  Returns ``{'loss', 'acc'}``.
    """
    n, last = len(X), len(params) - 1
    total_loss, correct = 0.0, 0
    for start in range(0, n, batch_size):
        idx = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
        xb, yb = X[idx], y[idx]
        m = len(yb)
        acts, h = [xb], xb
        for W, b in params[:-1]:
            h = h @ W
            h += b
            _activate(h, activation)
            acts.append(h)
        z = h @ params[last][0]
        z += params[last][1]
        if loss == "mse":                     # mean over all outputs; dL/dz = 2 (z - y) / size
            z -= yb
            total_loss += float(np.vdot(z, z)) / z.size * m
            z *= z.dtype.type(2.0 / z.size)
        else:
            correct += np.count_nonzero(z.argmax(axis=1) == yb)
            z -= z.max(axis=1, keepdims=True)
            picked = z[np.arange(m), yb]
            np.exp(z, out=z)
            s = z.sum(axis=1)
            total_loss += float(np.log(s).sum() - picked.sum())
            s *= m
            z /= s[:, None]
            z[np.arange(m), yb] -= z.dtype.type(1.0 / m)
        state["t"] += 1
        dz = z
        for layer in range(last, -1, -1):
            (W, b), (mW, vW, mb, vb) = params[layer], state["moments"][layer]
            da = dz @ W.T if layer else None
            gW, gb = acts[layer].T @ dz, dz.sum(axis=0)
            _adam_update(W, gW, mW, vW, lr, state["t"])
            _adam_update(b, gb, mb, vb, lr, state["t"])
            if layer:
                _derivative_times(da, acts[layer], activation)
                dz = da
    return {"loss": total_loss / n, "acc": correct / n}


def _activate(h, activation):
    """h <- activation(h), in place.  sigmoid(z) = 0.5 tanh(z / 2) + 0.5."""
    if activation == "sigmoid":
        half = h.dtype.type(0.5)
        h *= half
        np.tanh(h, out=h)
        h *= half
        h += half
    elif activation == "tanh":
        np.tanh(h, out=h)
    else:
        np.maximum(h, 0, out=h)


def _derivative_times(da, a, activation):
    """da <- da * activation'(.) from the activation's output a (a is overwritten)."""
    if activation == "sigmoid":            # a (1 - a)
        da *= a
        np.subtract(1, a, out=a)
        da *= a
    elif activation == "tanh":             # 1 - a^2
        a *= a
        np.subtract(1, a, out=a)
        da *= a
    else:                                  # [a > 0]
        da *= a > 0
