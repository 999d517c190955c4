"""The 2-D convolution ``Conv2d``, computed as one matrix product (im2col).

A convolution slides a small weight over the image; at each position it is a
dot product.  Copy every window the weight visits into a column of one matrix,
``cols``, and all the dot products become the single product ``W2 @ cols``: a
Linear layer on the windows.  Its backward pass is then Linear's, plus one
step that adds each window's gradient back where the window was copied from
(col2im).  ``im2col`` and ``col2im`` are at the end of this file.

Layout: the layer takes and returns (N, C, H, W) arrays and works on
(C, H, W, N) inside; see :mod:`minidl.layers.spatial` for why.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minidl import init as initializers
from minidl.layers.base import Layer, check_float_input
from minidl.layers.spatial import check_images, output_size, pair, to_chwn, to_nchw, window_slice
from minidl.parameter import Parameter

# PyTorch's default for Conv2d (and Linear): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as
# kaiming-uniform with a = sqrt(5): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in)
TORCH_INIT = {"name": "kaiming_uniform", "a": math.sqrt(5.0)}


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in every deep-learning library):

        y[n,o,h,w] = b[o] + sum_{c,i,j} W[o,c,i,j] xp[n, c, s_h h + i, s_w w + j]

    where xp is x with ``padding`` zeros on each side of each image.

    Args:
        in_channels:  C, the channels of the input.
        out_channels: O, the channels of the output (the number of filters).
        kernel_size:  kH, kW: an int or a pair.
        stride:       s_h, s_w: an int or a pair.
        padding:      p_h, p_w zeros added on each side: an int or a pair.
        bias:         whether to add ``b``.
        init:         weight initializer (see ``minidl.init.get``); PyTorch's default,
                      U(+-1/sqrt(fan_in)) with fan_in = C kH kW.  The bias is always
                      drawn as PyTorch draws it, U(+-1/sqrt(fan_in)), after W.
        rng:          ``np.random.Generator`` or int seed for the initializer.
        dtype:        parameter dtype, float32 by default.

    Parameters:
        W: (O, C, kH, kW), decay=True.   b: (O,), decay=False.

    Shapes:
        x: (N, C, H, W)  ->  y: (N, O, H_out, W_out),
        H_out = (H + 2 p_h - kH) // s_h + 1,  W_out = (W + 2 p_w - kW) // s_w + 1.
        y is a view whose memory is laid out (O, H_out, W_out, N).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, init=TORCH_INIT, rng=None, dtype=np.float32):
        if int(in_channels) <= 0 or int(out_channels) <= 0:
            raise ValueError(f"Conv2d channel counts must be positive; got {in_channels} -> {out_channels}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride = pair(kernel_size, "kernel_size"), pair(stride, "stride")
        self.padding = pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"Conv2d needs kernel_size >= 1, stride >= 1 and padding >= 0; got "
                             f"{self.kernel_size}, {self.stride}, {self.padding}")
        rng = np.random.default_rng(rng)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.W = Parameter(np.asarray(initializers.get(init)(shape, rng), dtype=dtype), decay=True)
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        self.b = Parameter(rng.uniform(-bound, bound, self.out_channels).astype(dtype), decay=False) if bias else None

    def output_shape(self, input_shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """(N, C, H, W) -> (N, O, H_out, W_out), PyTorch's formula."""
        n, _, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return n, self.out_channels, output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Inputs:  x: (N, C, H, W) float array.
        Returns: y: (N, O, H_out, W_out), same dtype.  Caches the windows ``cols``.
        """
        x = check_float_input(x, self)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        check_images(x, self, self.in_channels, (max(kh - 2 * ph, 1), max(kw - 2 * pw, 1)))
        n, o, h_out, w_out = self.output_shape(x.shape)
        x_t = to_chwn(x, self.padding)                            # (C, Hp, Wp, N)
        cols = im2col(x_t, self.kernel_size, self.stride)         # (C kH kW, H_out W_out N)
        self._cache_for_backward((cols, x_t.shape))
        y = self.W.data.reshape(o, -1) @ cols                     # (O, H_out W_out N)
        if self.b is not None:
            y += self.b.data[:, None]
        return to_nchw(y.reshape(o, h_out, w_out, n))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Inputs:  dout: (N, O, H_out, W_out), dL/dy.
                 input_grad: whether to compute dx (the first layer of a network needs none).
        Returns: dx: (N, C, H, W), dL/dx, or None if not input_grad.
        Sets:    W.grad: (O, C, kH, kW), dL/dW;  b.grad: (O,), dL/db.
        """
        cols, padded_shape = self._cached()
        o = self.out_channels
        # Name the windows: cols[(c,i,j), (h,w,n)] = xp[n, c, s_h h + i, s_w w + j], and
        # W2[o,(c,i,j)] = W[o,c,i,j].  Then the forward pass is a Linear layer on the columns,
        #   Y[o,(h,w,n)] = b[o] + sum_k W2[o,k] cols[k,(h,w,n)],    Y = W2 @ cols + b,
        # so, exactly as in Linear (with the columns as the examples):
        #   dL/dW2[o,k] = sum_{h,w,n} dY[o,(h,w,n)] cols[k,(h,w,n)],     dW2 = dY @ cols.T
        #   dL/db[o]    = sum_{h,w,n} dY[o,(h,w,n)]
        #   dL/dcols[k,(h,w,n)] = sum_o W2[o,k] dY[o,(h,w,n)],         dcols = W2.T @ dY
        dy = to_chwn(dout).reshape(o, -1)                         # (O, H_out W_out N)
        slot = self.W.grad_out(dy, cols)                          # the optimizer's buffer, or None
        dW2 = np.matmul(dy, cols.T, out=None if slot is None else slot.reshape(o, -1))
        self.W.grad = dW2.reshape(self.W.shape) if slot is None else slot
        if self.b is not None:
            self.b.grad = np.add.reduce(dy, axis=1, out=self.b.grad_out(dy, dy))       # dy.sum(axis=1)
        if not input_grad:
            return None
        # Each xp[n,c,p,q] was copied into every column whose window covers it, so its gradient
        # is the sum of those copies' gradients:
        #   dL/dxp[n,c,p,q] = sum over (i,j,h,w) with s_h h + i = p, s_w w + j = q of dcols[(c,i,j),(h,w,n)]
        # which col2im adds up; the padding's share is dropped (it is no input).
        dx_t = col2im(self.W.data.reshape(o, -1).T @ dy, padded_shape, self.kernel_size, self.stride)
        (ph, pw), (_, hp, wp, _) = self.padding, padded_shape
        return to_nchw(dx_t[:, ph:hp - ph, pw:wp - pw, :])

    def __repr__(self) -> str:
        def show(p):
            return p[0] if p[0] == p[1] else p
        extra = "".join(f", {name}={show(value)}" for name, value, default in
                        [("stride", self.stride, (1, 1)), ("padding", self.padding, (0, 0))] if value != default)
        bias = "" if self.b is not None else ", bias=False"
        return (f"Conv2d({self.in_channels} -> {self.out_channels}, kernel_size={show(self.kernel_size)}"
                f"{extra}{bias})")


# ---- im2col and col2im ------------------------------------------------------------

def im2col(x_t: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Copy every window into a column.

    Inputs:  x_t: (C, Hp, Wp, N), padded images, batch innermost.
             kernel: (kH, kW);  stride: (s_h, s_w).
    Returns: cols: (C kH kW, H_out W_out N),
             cols[(c,i,j), (h,w,n)] = x_t[c, s_h h + i, s_w w + j, n].
    """
    (kh, kw), (sh, sw) = kernel, stride
    c, _, _, n = x_t.shape
    # a read-only view, no copy: windows[c, h', w', n, i, j] = x_t[c, h' + i, w' + j, n]; keep every
    # s-th window position, then order the axes as the columns want them; reshape makes the one copy
    windows = sliding_window_view(x_t, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]    # (C, H_out, W_out, N, kH, kW)
    h_out, w_out = windows.shape[1], windows.shape[2]
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(c * kh * kw, h_out * w_out * n)


def col2im(dcols: np.ndarray, padded_shape, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Add every column back where ``im2col`` copied it from: the adjoint of ``im2col``.

    Inputs:  dcols: (C kH kW, H_out W_out N).
             padded_shape: (C, Hp, Wp, N), the shape ``im2col`` read.
    Returns: dx_t: (C, Hp, Wp, N),
             dx_t[c,p,q,n] = sum over (i,j,h,w) with s_h h + i = p, s_w w + j = q of dcols[(c,i,j),(h,w,n)].
    """
    (kh, kw), (sh, sw) = kernel, stride
    c, hp, wp, n = padded_shape
    h_out, w_out = output_size(hp, kh, sh), output_size(wp, kw, sw)
    dcols = dcols.reshape(c, kh, kw, h_out, w_out, n)
    dx_t = np.zeros(padded_shape, dtype=dcols.dtype)
    # one kernel offset (i, j) at a time: its entries of every window sit at the rows
    # i, i + s_h, ... and the columns j, j + s_w, ...; windows overlap, so add
    for i in range(kh):
        for j in range(kw):
            dx_t[:, window_slice(i, sh, h_out), window_slice(j, sw, w_out), :] += dcols[:, i, j]
    return dx_t
