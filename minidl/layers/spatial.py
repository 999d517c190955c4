"""What the spatial layers (Conv2d, MaxPool2d, AvgPool2d) share: sizes, input checks, layout.

Sizes.  A window of size k moved in steps of s over an axis of length H, padded
by p zeros on each side, fits

    H_out = floor((H + 2p - k) / s) + 1                    (PyTorch's formula)

times.  ``kernel_size``, ``stride`` and ``padding`` take an int (the same on both
axes) or a pair ``(along H, along W)``.

Layout.  Every spatial layer takes and returns arrays of shape (N, C, H, W).
Inside, it works on the same numbers laid out as (C, H, W, N), batch innermost:
then the slice ``x_t[:, i:i + H_out, j:j + W_out, :]`` that a kernel offset
(i, j) reads is made of runs of W_out * N contiguous numbers, where in
(N, C, H, W) the runs would be only W_out long, and NumPy copies and adds long
runs several times faster.  A layer returns its (C, H, W, N) result as the
transposed *view* ``y_t.transpose(3, 0, 1, 2)``: an (N, C, H, W) array, as the
contract says, whose memory is still (C, H, W, N), so the next spatial layer's
``to_chwn`` finds it contiguous and copies nothing.  (Element-wise layers such
as ReLU keep the memory order of their input, so they pass the layout on.)
"""
from __future__ import annotations

import numpy as np


def pair(value, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``; a ValueError naming ``name`` for anything else."""
    values = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{name} must be an int or a pair of ints; got {value!r}")
    return int(values[0]), int(values[1])


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """How many windows fit along one axis: ``(size + 2 * padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def check_images(x: np.ndarray, who, channels: int | None, smallest: tuple[int, int]) -> None:
    """Raise a ValueError naming ``who`` unless ``x`` is (N, channels, H, W) with H, W >= ``smallest``.

    ``channels=None`` accepts any channel count; ``smallest`` is the least image
    that fits one window (the kernel size minus the padding on both sides).
    """
    expected = f"(N, {'C' if channels is None else channels}, H, W)"
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        raise ValueError(f"{who!r} expects input of shape {expected}; got shape {x.shape}")
    if x.shape[2] < smallest[0] or x.shape[3] < smallest[1]:
        raise ValueError(f"{who!r} got input of shape {x.shape}: its {x.shape[2]}x{x.shape[3]} images are "
                         f"smaller than one window; expected {expected} with H >= {smallest[0]} "
                         f"and W >= {smallest[1]}")


def to_chwn(x: np.ndarray, padding: tuple[int, int] = (0, 0)) -> np.ndarray:
    """x: (N, C, H, W)  ->  x_t: (C, H + 2 ph, W + 2 pw, N), contiguous, zero-padded.

    Copies nothing when ``x`` is the view a spatial layer returned and there is
    no padding; otherwise one copy, which also writes the padding.
    """
    ph, pw = padding
    if ph == 0 and pw == 0:
        return np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    n, c, h, w = x.shape
    x_t = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    x_t[:, ph:ph + h, pw:pw + w, :] = x.transpose(1, 2, 3, 0)
    return x_t


def to_nchw(x_t: np.ndarray) -> np.ndarray:
    """x_t: (C, H, W, N)  ->  the (N, C, H, W) view of the same memory (no copy)."""
    return x_t.transpose(3, 0, 1, 2)


def window_slice(offset: int, stride: int, count: int) -> slice:
    """The positions that kernel offset ``offset`` reads along one axis, one per window:
    ``offset, offset + stride, ..., offset + (count - 1) * stride``."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)
