"""Figures made of images: a grid of digits, e.g. what data augmentation does to them."""
from __future__ import annotations

import numpy as np

from minidl.plots import Figure, subplots

__all__ = ["plot_image_grid"]


def plot_image_grid(images: np.ndarray, title: str, row_labels=None, col_labels=None) -> Figure:
    """``images`` (R, K, H, W): R rows of K grey images, 0 black to 1 white (values are clipped).

    ``row_labels`` (R) and ``col_labels`` (K) name the rows and columns, e.g. the
    digit and "original", "augmented 1", ...
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"plot_image_grid expects images of shape (rows, columns, H, W); got {images.shape}")
    rows, cols = images.shape[:2]
    fig, axes = subplots(rows, cols, width=1.25, height=1.3, squeeze=False)
    for r in range(rows):
        for k in range(cols):
            ax = axes[r, k]
            ax.imshow(np.clip(images[r, k], 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if r == 0 and col_labels is not None:
                ax.set_title(col_labels[k], fontsize=8)
            if k == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[r], fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
