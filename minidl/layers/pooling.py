"""Pooling: ``MaxPool2d`` and ``AvgPool2d`` summarise each window of each channel by one number.

Neither has parameters.  Both work one *kernel offset* at a time: for the offset
(i, j), the entries of every window at that offset form one strided slice of
the image, ``x_t[:, i::s_h, j::s_w, :]`` (cut to H_out x W_out), so a max or a
mean over the window is an element-wise max or sum of kH kW slices, each for the
whole batch at once.

Layout: the layers take and return (N, C, H, W) arrays and work on (C, H, W, N)
inside; see :mod:`minidl.layers.spatial` for why.
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import Layer, check_float_input
from minidl.layers.spatial import check_images, output_size, pair, to_chwn, to_nchw, window_slice


class _Pool2d(Layer):
    """What both pools share: sizes, the input check, the kernel offsets and the scatter back.

    Shapes: x (N, C, H, W) -> y (N, C, H_out, W_out), H_out = (H - kH) // s_h + 1 (no padding);
    y is a view whose memory is laid out (C, H_out, W_out, N).
    """

    def __init__(self, kernel_size, stride=None):
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"{type(self).__name__} needs kernel_size >= 1 and stride >= 1; "
                             f"got {self.kernel_size} and {self.stride}")

    def output_shape(self, input_shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """(N, C, H, W) -> (N, C, H_out, W_out), PyTorch's formula."""
        n, c, h, w = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return n, c, output_size(h, kh, sh), output_size(w, kw, sw)

    def _checked_chwn(self, x) -> tuple[np.ndarray, tuple[int, int]]:
        """Check x: (N, C, H, W); return x_t: (C, H, W, N) and (H_out, W_out)."""
        x = check_float_input(x, self)
        check_images(x, self, None, self.kernel_size)
        return to_chwn(x), self.output_shape(x.shape)[2:]

    def _offsets(self, a_t: np.ndarray, out_hw: tuple[int, int]):
        return kernel_offsets(a_t, self.kernel_size, self.stride, out_hw)

    def _scatter(self, pieces, image_shape: tuple[int, ...], out_hw: tuple[int, int], dtype) -> np.ndarray:
        """dx_t: (C, H, W, N), the piece of each ``(offset, piece)`` added at the entries of that offset.

        Windows may overlap (stride < kernel), so the plain way, ``scatter_add``, adds into
        zeros; when they tile the image (stride == kernel), ``scatter_tiles`` writes each entry once.
        """
        if self.stride == self.kernel_size:
            return scatter_tiles(pieces, image_shape, self.kernel_size, out_hw, dtype)
        return scatter_add(pieces, image_shape, self.kernel_size, self.stride, out_hw, dtype)

    def __repr__(self) -> str:
        def show(p):
            return p[0] if p[0] == p[1] else p
        stride = "" if self.stride == self.kernel_size else f", stride={show(self.stride)}"
        return f"{type(self).__name__}(kernel_size={show(self.kernel_size)}{stride})"


class MaxPool2d(_Pool2d):
    """``y[n,c,h,w] = max_{i,j} x[n, c, s_h h + i, s_w w + j]``, the largest entry of each window.

    Args:
        kernel_size: kH, kW: an int or a pair.
        stride:      s_h, s_w: an int or a pair; by default the kernel size (windows tile the image).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Inputs:  x: (N, C, H, W) float array.
        Returns: y: (N, C, H_out, W_out), each window's max, same dtype.  Caches x and y.
        """
        x_t, out_hw = self._checked_chwn(x)
        offsets = self._offsets(x_t, out_hw)
        y_t = next(offsets)[1].copy()
        for _, entries in offsets:             # a running max, kept in place: max(a, b, c) = max(max(a, b), c)
            np.maximum(y_t, entries, out=y_t)
        self._cache_for_backward((x_t, y_t))
        return to_nchw(y_t)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray:
        """Inputs:  dout: (N, C, H_out, W_out), dL/dy.
        Returns: dx: (N, C, H, W), dL/dx: each window's gradient on its (first) max.
        """
        x_t, y_t = self._cached()
        dout_t = to_chwn(dout)
        # y[n,c,h,w] = x at the window's arg-max, so dy[n,c,h,w]/dx[n,c,p,q] = 1 if (p, q) is that
        # arg-max and 0 for every other entry:
        #   dL/dx[n,c,p,q] = sum over the windows (h, w) whose arg-max is (p, q) of dout[n,c,h,w]
        # Where a window holds its max twice, the first in row-major order takes it, as in PyTorch.
        # So go through the kernel offsets in that order; ``unclaimed`` marks the windows whose max
        # no earlier offset has held, and the first offset that holds it takes the window's dout.
        unclaimed = np.ones(y_t.shape, dtype=bool)

        def pieces():
            for offset, entries in self._offsets(x_t, y_t.shape[1:3]):
                is_max = entries == y_t
                is_max &= unclaimed
                np.logical_xor(unclaimed, is_max, out=unclaimed)     # is_max lies within unclaimed: clears it there
                yield offset, dout_t * is_max

        return to_nchw(self._scatter(pieces(), x_t.shape, y_t.shape[1:3], dout_t.dtype))


class AvgPool2d(_Pool2d):
    """``y[n,c,h,w] = 1/(kH kW) sum_{i,j} x[n, c, s_h h + i, s_w w + j]``, the mean of each window.

    Args:
        kernel_size: kH, kW: an int or a pair.
        stride:      s_h, s_w: an int or a pair; by default the kernel size (windows tile the image).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Inputs:  x: (N, C, H, W) float array.
        Returns: y: (N, C, H_out, W_out), each window's mean, same dtype.  Caches the input shape.
        """
        x_t, out_hw = self._checked_chwn(x)
        offsets = self._offsets(x_t, out_hw)
        y_t = next(offsets)[1].copy()
        for _, entries in offsets:
            y_t += entries
        y_t *= y_t.dtype.type(1.0 / (self.kernel_size[0] * self.kernel_size[1]))
        self._cache_for_backward(x_t.shape)
        return to_nchw(y_t)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray:
        """Inputs:  dout: (N, C, H_out, W_out), dL/dy.
        Returns: dx: (N, C, H, W), dL/dx.
        """
        image_shape = self._cached()
        # dy[n,c,h,w]/dx[n,c,p,q] = 1/(kH kW) for each of the window's kH kW entries, so
        #   dL/dx[n,c,p,q] = 1/(kH kW) sum over the windows (h, w) that hold (p, q) of dout[n,c,h,w]
        share = to_chwn(dout) * dout.dtype.type(1.0 / (self.kernel_size[0] * self.kernel_size[1]))
        offsets = [(i, j) for i in range(self.kernel_size[0]) for j in range(self.kernel_size[1])]
        return to_nchw(self._scatter([(offset, share) for offset in offsets], image_shape, share.shape[1:3],
                                      share.dtype))


# ---- kernel offsets, and the scatter back -----------------------------------------

def kernel_offsets(a_t: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], out_hw: tuple[int, int]):
    """Yield ``((i, j), a_t[:, i + s_h h, j + s_w w, :] for all h, w)``, row-major over the kernel.

    Inputs:  a_t: (C, H, W, N).
    Yields:  views (C, H_out, W_out, N): the entry at offset (i, j) of every window.
    """
    (kh, kw), (sh, sw), (h_out, w_out) = kernel, stride, out_hw
    for i in range(kh):
        for j in range(kw):
            yield (i, j), a_t[:, window_slice(i, sh, h_out), window_slice(j, sw, w_out), :]


def scatter_add(pieces, image_shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
                out_hw: tuple[int, int], dtype) -> np.ndarray:
    """The adjoint of ``kernel_offsets``: add each piece back at the entries it was read from.

    Inputs:  pieces: ``((i, j), piece)`` for every kernel offset in row-major order, each
             piece (C, H_out, W_out, N).  image_shape: (C, H, W, N).
    Returns: dx_t: (C, H, W, N), dx_t[c, s_h h + i, s_w w + j, n] += piece_(i,j)[c, h, w, n].
    """
    dx_t = np.zeros(image_shape, dtype=dtype)
    for (_, view), (_, piece) in zip(kernel_offsets(dx_t, kernel, stride, out_hw), pieces):
        view += piece
    return dx_t


# ---- fast path ------------------------------------------------------------------

def scatter_tiles(pieces, image_shape: tuple[int, ...], kernel: tuple[int, int], out_hw: tuple[int, int],
                  dtype) -> np.ndarray:
    """``scatter_add`` for windows that tile the image (stride == kernel), by the reshape trick.

    Inputs:  pieces: ``((i, j), piece)`` for every kernel offset, each piece (C, H_out, W_out, N).
             image_shape: (C, H, W, N).
    Returns: dx_t: (C, H, W, N), piece (i, j) at rows i, i + kH, ... and columns j, j + kW, ...;
             zero in the rows and columns past the last whole window.

    Equals ``scatter_add(pieces, image_shape, kernel, kernel, out_hw, dtype)``: the
    tiled part of the image, reshaped to (C, H_out, kH, W_out, kW, N), holds offset (i, j) at
    ``[:, :, i, :, j, :]``, and since no entry is in two windows each is written once, into
    uninitialised memory, where the plain way zero-fills and then reads and adds.
    """
    (kh, kw), (h_out, w_out) = kernel, out_hw
    c, h, w, n = image_shape
    tiles = np.empty((c, h_out, kh, w_out, kw, n), dtype=dtype)
    for (i, j), piece in pieces:
        tiles[:, :, i, :, j, :] = piece
    tiled = tiles.reshape(c, h_out * kh, w_out * kw, n)
    if (h_out * kh, w_out * kw) == (h, w):
        return tiled
    dx_t = np.zeros(image_shape, dtype=tiled.dtype)
    dx_t[:, :h_out * kh, :w_out * kw, :] = tiled
    return dx_t
