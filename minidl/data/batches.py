"""Splitting a dataset and walking through it in minibatches.

Randomness always comes from an explicit ``np.random.Generator``; with
``rng=None`` everything is deterministic and in file order.
"""
from __future__ import annotations

import operator
from collections.abc import Iterator

import numpy as np


def train_val_split(X: np.ndarray, y: np.ndarray, val_fraction: float = 0.2
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Course convention: the first (1 - val_fraction) for training, the rest for validation.

    Unshuffled, so it is the same split every time: 60,000 -> 48,000 + 12,000.

    Inputs:
    - X: (N, ...) array;  y: (N,) array.
    - val_fraction: in [0, 1); the validation size is round(N * val_fraction).

    Returns:
    - ((X_train, y_train), (X_val, y_val)): views of X and y, no copies.
    """
    n = _check_pair(X, y)
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction}")
    n_train = n - int(round(n * val_fraction))
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def iterate_minibatches(X: np.ndarray, y: np.ndarray, batch_size: int,
                        rng: np.random.Generator | None = None
                        ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield one epoch of minibatches (xb, yb); the last, smaller batch is kept.

    Inputs:
    - X: (N, ...) array;  y: (N,) array.
    - batch_size: positive int.
    - rng: if given, the epoch visits the examples in the order of one
      ``rng.permutation(N)`` (a fresh order each call, reproducible from the
      seed); if None, in file order.

    Yields:
    - xb: (B, ...) and yb: (B,), with B = batch_size except possibly the last.
      Unshuffled batches are views; shuffled ones are one gather per batch,
      so an epoch never copies the whole dataset at once.
    """
    # Checked here, not in the generator, so bad arguments fail at the call.
    n = _check_pair(X, y)
    batch_size = _positive_int(batch_size, "batch_size")
    if rng is not None:
        _check_rng(rng)
    return ((X[idx], y[idx]) for idx in epoch_batches(n, batch_size, rng))


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator | None = None,
                  drop_last: bool = False) -> list:
    """The mini-batches of one epoch over ``n`` examples, as indices into the data.

    With ``rng``: index arrays of one fresh permutation, ``rng.permutation(n)``.
    Without: slices in order (so ``X[batch]`` is a view).  The last, smaller
    batch is kept unless ``drop_last``.
    """
    stop = n - n % batch_size if drop_last else n
    if rng is None:
        return [slice(start, start + batch_size) for start in range(0, stop, batch_size)]
    order = rng.permutation(n)
    return [order[start:start + batch_size] for start in range(0, stop, batch_size)]


def sample_with_replacement(X: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator):
    """``n`` examples drawn uniformly **with replacement** (``rng.choice``), e.g. the
    Neuromatch tutorial's 500-image working set.

    X: (N, ...), y: (N,)  ->  (n, ...), (n,) copies, and the (n,) indices used.
    """
    _check_pair(X, y)
    idx = rng.choice(len(X), size=n, replace=True)
    return X[idx], y[idx], idx


def subset(X: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` examples, or ``n`` distinct random ones when ``rng`` is given.

    Inputs:
    - X: (N, ...) array;  y: (N,) array.
    - n: 1 <= n <= N.
    - rng: if given, draw n indices without replacement (in random order).

    Returns:
    - (X_sub (n, ...), y_sub (n,)): views for the first n, copies for a random n.
    """
    total = _check_pair(X, y)
    n = _positive_int(n, "n")
    if n > total:
        raise ValueError(f"subset size n must be in [1, {total}] (the dataset size); got {n}")
    if rng is None:
        return X[:n], y[:n]
    _check_rng(rng)
    idx = rng.choice(total, size=n, replace=False)
    return X[idx], y[idx]


def shuffle_labels(y: np.ndarray, rng) -> np.ndarray:
    """The labels ``y`` (N,) in a random order: a new array, for the random-labels experiment.

    A permutation, not fresh draws: every class keeps its count, so only the
    pairing of images with labels is destroyed (Zhang et al. 2017).  ``rng``
    is a np.random.Generator or an int seed; the same seed gives the same labels.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"shuffle_labels expects labels of shape (N,); got {y.shape}")
    return y[np.random.default_rng(rng).permutation(len(y))]


def _check_pair(X: np.ndarray, y: np.ndarray) -> int:
    """Return N after checking X is (N, ...) and y is (N,)."""
    if np.ndim(X) < 1 or np.ndim(y) != 1 or len(X) != len(y):
        raise ValueError(f"expected X of shape (N, ...) and y of shape (N,); "
                         f"got {np.shape(X)} and {np.shape(y)}")
    return len(X)


def _positive_int(value, name: str) -> int:
    """``value`` as an int >= 1; accepts int and np.integer, rejects bool, 2.0 and "2"."""
    try:
        number = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        number = None
    if number is None or number < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return number


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator (e.g. np.random.default_rng(0)); "
                        f"got {type(rng).__name__}")
