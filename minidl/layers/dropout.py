"""``Dropout``: zero a random share of the units while training, a regulariser."""
from __future__ import annotations

import numpy as np

from minidl.layers.base import Layer, check_float_input


class Dropout(Layer):
    """Inverted dropout.  In training mode each unit is kept with probability 1 - p and
    scaled by 1 / (1 - p), so its expected value is unchanged:

        y = x * mask,   mask[n,i] = [u[n,i] >= p] / (1 - p),   u ~ U[0, 1)

    and in evaluation mode (``eval()``) y = x, with nothing to rescale.

    Args:
        p:   the probability of zeroing a unit, in [0, 1] (p = 1 zeroes everything).
        rng: ``np.random.Generator`` or int seed; the layer's own stream of masks.
             The uniforms are drawn in float32 whatever the input dtype, so one seed gives
             the same masks in float32 and float64.

    Shapes: x (N, ...) -> y of the same shape.
    """

    def __init__(self, p: float = 0.5, rng=None):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"Dropout probability p must be in [0, 1]; got {p}")
        self.p = float(p)
        self.rng = np.random.default_rng(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Inputs:  x: (N, ...) float array.
        Returns: y: same shape and dtype; x * mask in training mode, x itself in evaluation
                 mode.  Caches the mask (None when nothing is dropped).
        """
        x = check_float_input(x, self)
        if not self.training or self.p == 0.0:
            self._cache_for_backward(None)
            return x
        mask = self._draw_mask(x.shape, x.dtype)
        self._cache_for_backward(mask)
        return x * mask

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray:
        """Inputs:  dout: same shape as y, dL/dy.
        Returns: dx: dL/dx, the same mask applied to dout.
        """
        mask = self._cached()
        # y[n,i] = x[n,i] mask[n,i] with the mask fixed by the forward pass, so
        #   dL/dx[n,i] = dout[n,i] mask[n,i]: the dropped units pass no gradient either
        return dout if mask is None else dout * mask

    def _draw_mask(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """mask: ``shape``, 1 / (1 - p) where a unit is kept and 0 where it is dropped, in ``dtype``."""
        keep = self.rng.random(shape, dtype=np.float32) >= self.p
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        return keep * np.dtype(dtype).type(scale)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
