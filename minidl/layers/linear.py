"""The fully connected (affine) layer ``y = x @ W + b``."""
from __future__ import annotations

import numpy as np

from minidl import init as initializers
from minidl.layers.base import Layer, check_float_input
from minidl.parameter import Parameter


class Linear(Layer):
    """Affine map ``y = x @ W + b``.

    Args:
        in_features:  D_in, the size of each input row.
        out_features: D_out, the size of each output row.
        bias:         whether to add ``b``.
        init:         weight initializer: a name from ``minidl.init`` (e.g.
                      ``'xavier_normal'``), a ``{'name': ..., **options}`` dict,
                      or a callable ``f(shape, rng) -> array``.  Biases start at 0.
        rng:          ``np.random.Generator`` for the initializer (or an int seed).
        dtype:        parameter dtype, float32 by default.

    Parameters:
        W: (D_in, D_out), decay=True.   b: (D_out,), decay=False.

    Shapes:
        x: (N, D_in)  ->  y: (N, D_out)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init="kaiming_uniform", rng=None, dtype=np.float32):
        if int(in_features) <= 0 or int(out_features) <= 0:
            raise ValueError(f"Linear sizes must be positive; got {in_features} -> {out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = np.random.default_rng(rng)
        weight = initializers.get(init)((self.in_features, self.out_features), rng)
        # assigning a Parameter registers it (see Layer): named_parameters() gives W, then b
        self.W = Parameter(np.asarray(weight, dtype=dtype), decay=True)
        self.b = Parameter(np.zeros(self.out_features, dtype=dtype), decay=False) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Inputs:  x: (N, D_in) float array, one example per row.
        Returns: y: (N, D_out), x @ W + b.  Caches x.
        """
        x = check_float_input(x, self)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self!r} got input of shape {x.shape}; expected (N, {self.in_features})")
        self._cache_for_backward(x)
        y = x @ self.W.data
        if self.b is not None:
            y += self.b.data                  # into x @ W, a new array; b broadcasts over the N rows
        return y

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Inputs:  dout: (N, D_out), dL/dy.
                 input_grad: whether to compute dx (the first layer of a network needs none).
        Returns: dx: (N, D_in), dL/dx, or None if not input_grad.
        Sets:    W.grad: (D_in, D_out), dL/dW;  b.grad: (D_out,), dL/db.
        """
        x = self._cached()
        # y[n,j] = sum_i x[n,i] W[i,j] + b[j], so dy[n,j]/dW[i,j] = x[n,i]; summing over every
        # output y[n,j] that W[i,j] touches (all n, this j):
        #   dL/dW[i,j] = sum_n x[n,i] dout[n,j],    i.e.  dW = x.T @ dout
        # (written into W.grad_slot, the optimizer's gradient buffer, when there is one)
        self.W.grad = np.matmul(x.T, dout, out=self.W.grad_out(x, dout))
        if self.b is not None:
            # dy[n,j]/db[j] = 1 for every n:  dL/db[j] = sum_n dout[n,j],  i.e.  db = dout.sum(axis=0)
            self.b.grad = np.add.reduce(dout, axis=0, out=self.b.grad_out(dout, dout))   # dout.sum(axis=0)
        # dy[n,j]/dx[n,i] = W[i,j] (row n of y depends on row n of x only):
        #   dL/dx[n,i] = sum_j dout[n,j] W[i,j],    i.e.  dx = dout @ W.T
        return dout @ self.W.data.T if input_grad else None

    def __repr__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features}{'' if self.b is not None else ', bias=False'})"
