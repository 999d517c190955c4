"""Constants and conversions shared by the MNIST readers (CSV and IDX)."""
from __future__ import annotations

import numpy as np

from minidl.data.errors import DataError

N_PIXELS = 784      # 28 x 28 images, flattened row by row
N_CLASSES = 10      # digits 0-9
PIXEL_MAX = 255     # pixels are stored as integers 0..255


def pixels_to_float(pixels: np.ndarray) -> np.ndarray:
    """Scale integer pixels to [0, 1].

    Inputs:
    - pixels: (N, D) uint8 array of intensities 0..255.

    Returns:
    - X: (N, D) float32 array, ``pixels / 255`` (exactly rounded, one pass).
    """
    return np.divide(pixels, np.float32(PIXEL_MAX), dtype=np.float32)


def digit_labels(labels: np.ndarray, name: str) -> np.ndarray:
    """Return ``labels`` as int64 after checking they are digits 0..9.

    Inputs:
    - labels: (N,) integer array.
    - name: the file the labels came from, used in the error message.

    Returns:
    - y: (N,) int64 array.
    """
    y = labels.astype(np.int64)
    bad = np.flatnonzero((y < 0) | (y >= N_CLASSES))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{name}: labels must be in [0, {N_CLASSES}); got {y[i]} at index {i}")
    return y
