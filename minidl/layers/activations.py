"""Element-wise activations (and the row-wise LogSoftmax).  None has parameters;
each caches one array for its backward.

All of them keep the input dtype (float32 in, float32 out) and never write
into their input.  ``backward`` ignores ``input_grad``: dL/dx is all it computes.
The arithmetic that saves temporary arrays sits in the helpers at the end of
this file, each beside the plain expression it equals.
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import Layer, check_float_input


class ReLU(Layer):
    """``y = max(x, 0)``.  Shapes: x (N, D) -> y (N, D), any shape works."""

    def forward(self, x):
        """Inputs:  x: (N, D) float array.
        Returns: y: (N, D), max(x, 0), same dtype.  Caches y.
        """
        x = check_float_input(x, self)
        y = np.maximum(x, 0)
        self._cache_for_backward(y)
        return y

    def backward(self, dout, input_grad=True):
        """Inputs:  dout: (N, D), dL/dy.
        Returns: dx: (N, D), dL/dx.
        """
        y = self._cached()
        # y[n,i] = max(x[n,i], 0) depends on x[n,i] alone, so the chain rule has one term:
        #   dL/dx[n,i] = dout[n,i] * dy[n,i]/dx[n,i] = dout[n,i] * [x[n,i] > 0]
        # and [x > 0] = [y > 0] (at x = 0 the slope taken is 0)
        return dout * (y > 0)


class LeakyReLU(Layer):
    """``y = x`` for x > 0, ``negative_slope * x`` otherwise.  Shapes: x (N, D) -> y (N, D)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        """Inputs:  x: (N, D) float array.
        Returns: y: (N, D), same dtype.  Caches x.
        """
        x = check_float_input(x, self)
        self._cache_for_backward(x)
        return np.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def backward(self, dout, input_grad=True):
        """Inputs:  dout: (N, D), dL/dy.
        Returns: dx: (N, D), dL/dx.
        """
        x = self._cached()
        # y[n,i] = x[n,i] if x[n,i] > 0 else a x[n,i], with a = negative_slope, so
        #   dL/dx[n,i] = dout[n,i] * dy[n,i]/dx[n,i] = dout[n,i] if x[n,i] > 0 else a dout[n,i]
        return np.where(x > 0, dout, dout * dout.dtype.type(self.negative_slope))

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Sigmoid(Layer):
    """``y = 1 / (1 + exp(-x))``.  Shapes: x (N, D) -> y (N, D), any shape works.

    Computed by ``_sigmoid`` as ``0.5 * tanh(x / 2) + 0.5``: the same function,
    but it cannot overflow (tanh saturates at +-1, so x = +-1e4 gives exactly 1
    and 0 with no RuntimeWarning, where ``exp(1e4)`` would overflow).
    """

    def forward(self, x):
        """Inputs:  x: (N, D) float array.
        Returns: y: (N, D), 1 / (1 + exp(-x)) in (0, 1), same dtype.  Caches y.
        """
        x = check_float_input(x, self)
        y = _sigmoid(x)
        self._cache_for_backward(y)
        return y

    def backward(self, dout, input_grad=True):
        """Inputs:  dout: (N, D), dL/dy.
        Returns: dx: (N, D), dL/dx.
        """
        y = self._cached()
        # y = 1 / (1 + e^-x), element by element, so
        #   dy/dx = e^-x / (1 + e^-x)^2 = [1 / (1 + e^-x)] * [e^-x / (1 + e^-x)] = y (1 - y)
        # and dL/dx[n,i] = dout[n,i] y[n,i] (1 - y[n,i]): the cached output is all it needs
        return _sigmoid_backward(y, dout)        # (1 - y) * y * dout


class Tanh(Layer):
    """``y = tanh(x)``.  Shapes: x (N, D) -> y (N, D), any shape works."""

    def forward(self, x):
        """Inputs:  x: (N, D) float array.
        Returns: y: (N, D), tanh(x) in (-1, 1), same dtype.  Caches y.
        """
        x = check_float_input(x, self)
        y = np.tanh(x)
        self._cache_for_backward(y)
        return y

    def backward(self, dout, input_grad=True):
        """Inputs:  dout: (N, D), dL/dy.
        Returns: dx: (N, D), dL/dx.
        """
        y = self._cached()
        # y = tanh x = sinh x / cosh x, element by element, so
        #   dy/dx = (cosh^2 x - sinh^2 x) / cosh^2 x = 1 - tanh^2 x = 1 - y^2
        # and dL/dx[n,i] = dout[n,i] (1 - y[n,i]^2)
        return _tanh_backward(y, dout)           # (1 - y * y) * dout


class LogSoftmax(Layer):
    """Row-wise ``y = x - logsumexp(x)``, the log of softmax.  Shapes: x (N, C) -> y (N, C).

    Pair it with ``NLLLoss``; the two together equal ``SoftmaxCrossEntropy``.
    """

    def forward(self, x):
        """Inputs:  x: (N, C) float array of logits.
        Returns: y: (N, C), log softmax(x) row by row (each row of exp(y) sums to 1).  Caches y.
        """
        x = check_float_input(x, self)
        if x.ndim != 2:
            raise ValueError(f"LogSoftmax expects input of shape (N, C); got {x.shape}")
        from minidl.losses import log_softmax
        y = log_softmax(x)
        self._cache_for_backward(y)
        return y

    def backward(self, dout, input_grad=True):
        """Inputs:  dout: (N, C), dL/dy.
        Returns: dx: (N, C), dL/dx.
        """
        y = self._cached()
        # y[n,j] = x[n,j] - log sum_k exp x[n,k], and row n depends on row n of x only:
        #   dy[n,j]/dx[n,i] = [i == j] - exp x[n,i] / sum_k exp x[n,k] = [i == j] - p[n,i]
        # with p = softmax(x) = exp(y).  Summing over the outputs j:
        #   dL/dx[n,i] = sum_j dout[n,j] ([i == j] - p[n,i]) = dout[n,i] - p[n,i] sum_j dout[n,j]
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
