"""``Flatten``: images to rows, the joint between the convolutional and the fully connected part."""
from __future__ import annotations

import numpy as np

from minidl.layers.base import Layer, check_float_input


class Flatten(Layer):
    """``y[n, (c H + h) W + w] = x[n, c, h, w]``: each example's numbers in one row, in
    row-major order, as ``torch.nn.Flatten`` lays them out.  No parameters.

    Shapes: x (N, C, H, W) -> y (N, C H W); any (N, ...) input works, (N, D) passes unchanged.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Inputs:  x: (N, C, H, W) float array.
        Returns: y: (N, C H W), same dtype (a copy if x is a layer's (C, H, W, N) view).
        Caches the input shape.
        """
        x = check_float_input(x, self)
        if x.ndim < 2:
            raise ValueError(f"{self!r} expects input of shape (N, C, H, W) or any (N, ...); got shape {x.shape}")
        self._cache_for_backward(x.shape)
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray:
        """Inputs:  dout: (N, C H W), dL/dy.
        Returns: dx: (N, C, H, W), dL/dx.
        """
        # y is x with its numbers renamed, each y entry one x entry, so dL/dx[n,c,h,w] = dout[n, (c H + h) W + w]:
        # the same renaming backwards
        return dout.reshape(self._cached())
