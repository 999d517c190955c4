"""Principal component analysis to two dimensions, for pictures of weight space."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["PCA2D", "pca_2d"]


class PCA2D(NamedTuple):
    """projections: (M, 2) coordinates of each vector on the first two principal axes.
    explained_variance_ratio: (2,) fraction of the total variance along each axis."""
    projections: np.ndarray
    explained_variance_ratio: np.ndarray


def pca_2d(vectors) -> PCA2D:
    """Project M vectors of length P onto their first two principal axes.

    With the centred data A = V - mean (M, P) and its thin SVD A = U S W^T,
    the principal axes are the rows of W^T, the coordinates are U S, and axis k
    explains S_k^2 / sum(S^2) of the variance.  The SVD of the (M, P) matrix
    costs O(M^2 P), so thousands of snapshots of a 100,000-parameter network
    are fine; the P x P covariance matrix is never formed.

    Signs are fixed so that the largest-magnitude entry of each axis is
    positive: the same data always give the same picture.

    Inputs:  vectors (M, P), M >= 2 (e.g. M parameter snapshots).
    Returns: ``PCA2D(projections (M, 2), explained_variance_ratio (2,))``, float64.
    """
    A = np.asarray(vectors, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] < 2 or A.shape[1] < 1:
        raise ValueError(f"pca_2d expects an (M, P) array with M >= 2 vectors; got shape {A.shape}")
    if not np.isfinite(A).all():
        raise ValueError("pca_2d got non-finite values (NaN or inf) in the vectors")
    A = A - A.mean(axis=0)
    U, S, Wt = np.linalg.svd(A, full_matrices=False)
    k = min(2, S.size)
    signs = np.sign(Wt[np.arange(k), np.abs(Wt[:k]).argmax(axis=1)])
    signs[signs == 0] = 1
    proj = np.zeros((A.shape[0], 2))
    proj[:, :k] = U[:, :k] * (S[:k] * signs)
    total = float(np.sum(S ** 2))
    ratio = np.zeros(2)
    if total > 0:
        ratio[:k] = S[:k] ** 2 / total
    return PCA2D(proj, ratio)
