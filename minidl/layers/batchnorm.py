"""Batch normalisation: ``BatchNorm1d`` for (N, D) rows, ``BatchNorm2d`` for (N, C, H, W) images.

Each feature (a column, or a channel of an image) is normalised by the mean and
variance of its m values in the batch (m = N, or N H W for images), then scaled
and shifted by learned ``gamma`` and ``beta``:

    mu = (1/m) sum_k x_k,   var = (1/m) sum_k (x_k - mu)^2,
    xhat_k = (x_k - mu) / sqrt(var + eps),   y_k = gamma xhat_k + beta.

Training mode uses the batch's statistics and updates the running ones, as
PyTorch does (the running variance takes the *unbiased* batch variance,
var * m / (m - 1), the normalisation the biased one):

    running_mean = (1 - momentum) running_mean + momentum mu
    running_var  = (1 - momentum) running_var  + momentum var m / (m - 1)

Evaluation mode (``eval()``) normalises with the running statistics instead, so
an example's output no longer depends on the rest of its batch.
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import Layer, check_float_input
from minidl.parameter import Parameter


class _BatchNorm(Layer):
    """What both batch norms share; a subclass names its reduction axes and expected shape.

    Args:
        num_features: D, the features (columns or channels).
        eps:          added to the variance before the square root.
        momentum:     the weight of each new batch in the running statistics.
        dtype:        parameter and buffer dtype, float32 by default.

    Parameters:  gamma: (D,), ones, decay=False.   beta: (D,), zeros, decay=False.
    Buffers:     running_mean: (D,), zeros.        running_var: (D,), ones.
    """

    axes: tuple[int, ...] = ()          # the axes of one feature's m values
    layout = ""                         # the expected input shape, e.g. "(N, {D})"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float32):
        if int(num_features) <= 0:
            raise ValueError(f"{type(self).__name__} needs a positive num_features; got {num_features}")
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"{type(self).__name__} momentum must be in [0, 1]; got {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        d = self.num_features
        self.gamma = Parameter(np.ones(d, dtype=dtype), decay=False)
        self.beta = Parameter(np.zeros(d, dtype=dtype), decay=False)
        self._register_buffer("running_mean", np.zeros(d, dtype=dtype))
        self._register_buffer("running_var", np.ones(d, dtype=dtype))

    def _per_feature(self, v: np.ndarray) -> np.ndarray:
        """v: (D,) -> the shape that broadcasts it over x, (1, D) or (1, D, 1, 1)."""
        shape = [1] * (len(self.axes) + 1)
        shape[1] = self.num_features
        return v.reshape(shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Inputs:  x: (N, D) for BatchNorm1d, (N, D, H, W) for BatchNorm2d; float.
        Returns: y: same shape and dtype, gamma xhat + beta.  Caches x - mu and 1/sqrt(var + eps).
        Updates running_mean and running_var in training mode.
        """
        x = check_float_input(x, self)
        if x.ndim != len(self.axes) + 1 or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r} expects input of shape {self.layout.format(D=self.num_features)}; "
                             f"got shape {x.shape}")
        m = x.size // self.num_features
        if self.training:
            if m < 2:
                raise ValueError(f"{self!r} in training mode needs more than one value per feature to take "
                                 f"a variance; got input of shape {x.shape} (use eval() for single examples)")
            mean, var = x.mean(axis=self.axes), x.var(axis=self.axes)            # var is the biased one
            keep, new = 1.0 - self.momentum, self.momentum
            self.running_mean = (keep * self.running_mean + new * mean).astype(self.running_mean.dtype)
            self.running_var = (keep * self.running_var + new * var * (m / (m - 1))).astype(self.running_var.dtype)
        else:
            mean, var = self.running_mean, self.running_var
        centred = x - self._per_feature(mean.astype(x.dtype))
        inv_std = 1.0 / np.sqrt(var.astype(x.dtype) + x.dtype.type(self.eps))
        self._cache_for_backward((centred, inv_std, self.training))
        xhat = centred * self._per_feature(inv_std)
        return xhat * self._per_feature(self.gamma.data) + self._per_feature(self.beta.data)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray:
        """Inputs:  dout: same shape as x, dL/dy.
        Returns: dx: same shape as x, dL/dx.
        Sets:    gamma.grad: (D,), dL/dgamma;  beta.grad: (D,), dL/dbeta.
        """
        centred, inv_std, batch_statistics = self._cached()
        axes, per = self.axes, self._per_feature
        m = centred.size // self.num_features
        xhat = centred * per(inv_std)
        # y_k = gamma xhat_k + beta, for one feature's m values k:
        #   dL/dgamma = sum_k dout_k xhat_k,   dL/dbeta = sum_k dout_k,   dL/dxhat_k = dout_k gamma
        self.gamma.grad = np.sum(dout * xhat, axis=axes)
        self.beta.grad = np.sum(dout, axis=axes)
        dxhat = dout * per(self.gamma.data)
        if not batch_statistics:
            # evaluation mode: mu and var are the running ones, constants, so xhat_k = (x_k - mu) inv_std
            # depends on x_k alone:  dL/dx_k = dL/dxhat_k inv_std
            return dxhat * per(inv_std)
        # training mode: mu and var are functions of every x_j of the feature, so x_k reaches the loss
        # three ways, through xhat_k directly, through var and through mu.  With s = sqrt(var + eps):
        #   xhat_k = (x_k - mu) / s
        #   dL/dvar = sum_k dL/dxhat_k (x_k - mu) (-1/2) s^-3
        #   dL/dmu  = sum_k dL/dxhat_k (-1/s)  +  dL/dvar (1/m) sum_k -2 (x_k - mu)     [the last sum is 0]
        #   dx_k/..: dmu/dx_k = 1/m,   dvar/dx_k = 2 (x_k - mu) / m   (the mu-term of dvar/dx_k sums to 0),
        # so by the chain rule
        #   dL/dx_k = dL/dxhat_k / s  +  dL/dvar 2 (x_k - mu) / m  +  dL/dmu / m
        # (Collecting terms gives the closed form (1/s) (dxhat_k - mean(dxhat) - xhat_k mean(dxhat xhat)).)
        dvar = np.sum(dxhat * centred, axis=axes) * (-0.5 * inv_std ** 3)
        dmean = -np.sum(dxhat, axis=axes) * inv_std
        return dxhat * per(inv_std) + centred * per(dvar * (2.0 / m)) + per(dmean / m)

    def __repr__(self) -> str:
        extra = "".join(f", {name}={value}" for name, value, default in
                        [("eps", self.eps, 1e-5), ("momentum", self.momentum, 0.1)] if value != default)
        return f"{type(self).__name__}({self.num_features}{extra})"


class BatchNorm1d(_BatchNorm):
    """Batch norm over the rows of (N, D): feature d's statistics from x[:, d].

    Shapes: x (N, D) -> y (N, D).  See ``_BatchNorm`` for the arguments.
    """

    axes = (0,)
    layout = "(N, {D})"


class BatchNorm2d(_BatchNorm):
    """Batch norm per channel of (N, C, H, W): channel c's statistics from all of x[:, c, :, :].

    Shapes: x (N, C, H, W) -> y (N, C, H, W).  See ``_BatchNorm`` for the arguments.
    """

    axes = (0, 2, 3)
    layout = "(N, {D}, H, W)"
