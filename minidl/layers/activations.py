"""Element-wise activations.  None has parameters; each caches one array.

All of them keep the input dtype (float32 in, float32 out) and never write
into their input.
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import Layer, check_float_input


class _Activation(Layer):
    def __init__(self):
        self._cache = None

    def _cached(self) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        return self._cache


class ReLU(_Activation):
    """``y = max(x, 0)``.  Shapes: x (N, D) -> y (N, D), any shape works."""

    def forward(self, x):
        x = check_float_input(x, self)
        self._cache = y = np.maximum(x, 0)
        return y

    def backward(self, dout, input_grad=True):
        y = self._cached()
        # dy/dx = 1 where x > 0 (equivalently y > 0), else 0
        return dout * (y > 0)


class LeakyReLU(_Activation):
    """``y = x`` for x > 0, ``negative_slope * x`` otherwise."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        x = check_float_input(x, self)
        self._cache = x
        return np.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def backward(self, dout, input_grad=True):
        x = self._cached()
        # dy/dx = 1 for x > 0, negative_slope otherwise
        return np.where(x > 0, dout, dout * dout.dtype.type(self.negative_slope))

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Sigmoid(_Activation):
    """``y = 1 / (1 + exp(-x))``.  Shapes: x (N, D) -> y (N, D), any shape works.

    Computed by ``_sigmoid`` as ``0.5 * tanh(x / 2) + 0.5``: the same function,
    but it cannot overflow (tanh saturates at +-1, so x = +-1e4 gives exactly 1
    and 0 with no RuntimeWarning, where ``exp(1e4)`` would overflow).
    """

    def forward(self, x):
        x = check_float_input(x, self)
        self._cache = y = _sigmoid(x)
        return y

    def backward(self, dout, input_grad=True):
        y = self._cached()
        # dy/dx = y (1 - y)
        return _sigmoid_backward(y, dout)


class Tanh(_Activation):
    """``y = tanh(x)``."""

    def forward(self, x):
        x = check_float_input(x, self)
        self._cache = y = np.tanh(x)
        return y

    def backward(self, dout, input_grad=True):
        y = self._cached()
        # dy/dx = 1 - y^2
        return _tanh_backward(y, dout)


class LogSoftmax(_Activation):
    """Row-wise ``y = z - logsumexp(z)``.  Shapes: z (N, C) -> y (N, C).

    Pair it with ``NLLLoss``; the two together equal ``SoftmaxCrossEntropy``.
    """

    def forward(self, x):
        x = check_float_input(x, self)
        if x.ndim != 2:
            raise ValueError(f"LogSoftmax expects input of shape (N, C); got {x.shape}")
        from minidl.losses import log_softmax
        self._cache = y = log_softmax(x)
        return y

    def backward(self, dout, input_grad=True):
        y = self._cached()
        # y_j = z_j - log sum_k exp z_k  =>  dL/dz = dout - softmax(z) * sum_j dout_j,  softmax(z) = exp(y)
        return dout - np.exp(y) * dout.sum(axis=1, keepdims=True)


# ---- fast paths ---------------------------------------------------------------
# Each helper equals the plain expression in its docstring (tests/test_fast_paths.py
# checks it); it only spends fewer temporary arrays, which matters for small batches.

def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``0.5 * np.tanh(0.5 * x) + 0.5`` (bit for bit), in one new array.

    This equals ``1 / (1 + np.exp(-x))``, since (1 + tanh(x/2)) / 2 = 1 / (1 + e^-x)
    exactly; rounding puts the two within a few eps of each other, absolute
    rather than relative (sigmoid(-40) = 4e-18 rounds to 0 here), which is
    harmless for activations.
    """
    half = x.dtype.type(0.5)
    y = np.multiply(x, half)
    np.tanh(y, out=y)
    y *= half
    y += half
    return y


def _sigmoid_backward(y: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """``(1 - y) * y * dout`` (bit for bit), in one new array."""
    dx = 1 - y
    dx *= y
    dx *= dout
    return dx


def _tanh_backward(y: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """``(1 - y * y) * dout`` (bit for bit), in one new array."""
    dx = y * y
    np.subtract(1, dx, out=dx)
    dx *= dout
    return dx
