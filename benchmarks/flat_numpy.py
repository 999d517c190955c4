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
    if activation not in ("sigmoid", "relu"):
        raise ValueError(f"activation must be 'sigmoid' or 'relu'; got {activation!r}")
    sigmoid = activation == "sigmoid"
    n = len(X)
    Ws = [W for W, _ in params]
    bs = [b for _, b in params]
    last = len(params) - 1
    half = X.dtype.type(0.5)
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
            if sigmoid:             # sigmoid(z) = 0.5 tanh(z / 2) + 0.5, in place
                h *= half
                np.tanh(h, out=h)
                h *= half
                h += half
            else:
                np.maximum(h, 0, out=h)
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
                if sigmoid:                      # dsigmoid = a (1 - a), a is free now
                    da *= a
                    np.subtract(1, a, out=a)
                    da *= a
                else:                            # drelu = [a > 0]
                    da *= a > 0
                dz = da
    return {"loss": total_loss / n, "acc": correct / n}
