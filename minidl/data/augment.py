"""Data augmentation: random small distortions of each training batch, "expanding the data" (HW7 2(c)).

Every image of a batch gets its own random affine map: a rotation of up to
``rotate`` degrees, a scale of up to ``1 +/- scale`` and a translation of up
to ``shift`` pixels in each direction, all drawn uniformly from the run's
seeded Generator.  The new image is read off the old one by bilinear
interpolation, with zeros (the background) outside it.  Nothing loops over
the images: the coordinates of every output pixel of the batch are computed at
once, and the four neighbours of each are gathered with one fancy index.

Evaluation never augments: only ``Trainer.fit``'s training steps call it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Augment", "augment_batch"]


@dataclass(frozen=True)
class Augment:
    """The ``Data.augment`` options: maximum shift (pixels), rotation (degrees) and relative scale."""
    shift: float = 0.0
    rotate: float = 0.0
    scale: float = 0.0

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return augment_batch(x, rng, self.shift, self.rotate, self.scale)


def _as_images(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) as is; (N, D) with D a square (784) as (N, 1, sqrt(D), sqrt(D)), a view."""
    if x.ndim == 4:
        return x
    side = int(round(np.sqrt(x.shape[1]))) if x.ndim == 2 else 0
    if x.ndim != 2 or side * side != x.shape[1]:
        raise ValueError(f"augment expects images (N, C, H, W) or flat square images (N, H*W); got shape {x.shape}")
    return x.reshape(len(x), 1, side, side)


def _source_coordinates(n: int, h: int, w: int, rng, shift, rotate, scale, dtype):
    """Where each output pixel of each image is read from: qy, qx, each (N, H*W).

    Output pixel p (about the image centre c) comes from q = A^{-1} (p - c - t) + c,
    with A = s R(theta): rotate and scale about the centre, then translate by t.
    """
    theta = np.deg2rad(rng.uniform(-rotate, rotate, n)).astype(dtype)
    s = rng.uniform(1 - scale, 1 + scale, n).astype(dtype)
    ty, tx = (rng.uniform(-shift, shift, (2, n))).astype(dtype)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    rows, cols = np.meshgrid(np.arange(h, dtype=dtype), np.arange(w, dtype=dtype), indexing="ij")
    dy = rows.reshape(1, -1) - cy - ty[:, None]                  # (N, H*W)
    dx = cols.reshape(1, -1) - cx - tx[:, None]
    cos, sin = (np.cos(theta) / s)[:, None], (np.sin(theta) / s)[:, None]
    return cos * dy - sin * dx + cy, sin * dy + cos * dx + cx


def augment_batch(x: np.ndarray, rng: np.random.Generator, shift: float = 0.0, rotate: float = 0.0,
                  scale: float = 0.0) -> np.ndarray:
    """A randomly shifted, rotated and scaled copy of a batch of images.

    Inputs:
        x: (N, C, H, W) images, or (N, H*W) flat square ones (MNIST rows).
        rng: the Generator the distortions are drawn from (4 draws of N numbers).
        shift: up to this many pixels each way; rotate: up to this many degrees;
        scale: the size is multiplied by up to 1 +/- scale.
    Returns:
        an array of x's shape and dtype.
    """
    if min(shift, rotate, scale) < 0 or scale >= 1:
        raise ValueError(f"augment: shift and rotate must be >= 0 and scale in [0, 1); "
                         f"got shift={shift}, rotate={rotate}, scale={scale}")
    images = _as_images(x)
    n, c, h, w = images.shape
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    qy, qx = _source_coordinates(n, h, w, rng, shift, rotate, scale, dtype)
    y0, x0 = np.floor(qy), np.floor(qx)
    wy, wx = (qy - y0)[:, None, :], (qx - x0)[:, None, :]          # (N, 1, H*W) weights of the next pixel
    # a border of two zeros (outside is background): a top-left neighbour clipped to [-2, H] and the
    # pixel after it both fall on the border when the point lies outside the image
    width = w + 4
    padded = np.zeros((n, c, h + 4, width), dtype=dtype)
    padded[:, :, 2:-2, 2:-2] = images
    corner = (np.clip(y0, -2, h).astype(np.intp) + 2) * width + np.clip(x0, -2, w).astype(np.intp) + 2
    corners = corner[:, None, :] + np.array([0, 1, width, width + 1])[None, :, None]   # (N, 4, H*W)
    near = np.take_along_axis(padded.reshape(n, c, 1, -1), corners.reshape(n, 1, 1, -1), axis=3)
    tl, tr, bl, br = near.reshape(n, c, 4, -1).transpose(2, 0, 1, 3)       # each (N, C, H*W)
    out = (tl + (tr - tl) * wx) * (1 - wy) + (bl + (br - bl) * wx) * wy
    return out.reshape(x.shape)
