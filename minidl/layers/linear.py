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
        self._x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_float_input(x, self)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self!r} got input of shape {x.shape}; expected (N, {self.in_features})")
        self._x = x
        y = x @ self.W.data
        if self.b is not None:
            y += self.b.data
        return y

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self._x
        if x is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        # y = x W + b  =>  dL/dW = x^T dout,  dL/db = sum over the batch of dout,  dL/dx = dout W^T
        self.W.grad = x.T @ dout
        if self.b is not None:
            self.b.grad = dout.sum(axis=0)
        return dout @ self.W.data.T if input_grad else None

    def __repr__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features}{'' if self.b is not None else ', bias=False'})"
