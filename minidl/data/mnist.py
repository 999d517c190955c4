"""MNIST by split name: load the IDX files, or convert them to course CSVs."""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import numpy as np

from minidl.data.csvfile import write_csv
from minidl.data.download import ensure_mnist, find_mnist_file
from minidl.data.idx import load_idx, read_idx_pair

# split -> (images file, labels file, course CSV name)
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "mnist_train.csv"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "mnist_test.csv"),
}


def load_mnist(split: str, data_dir: str | os.PathLike | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Load the MNIST training or test set from its IDX files.

    Inputs:
    - split: 'train' (60,000 images) or 'test' (10,000 images).
    - data_dir: defaults to the data home (``minidl.data.default_data_dir``); missing files are
      downloaded first (:func:`~minidl.data.download.ensure_mnist`).

    Returns:
    - X: (N, 784) float32 array, pixels scaled to [0, 1].
    - y: (N,) int64 array of labels 0..9.
    """
    return load_idx(*_idx_paths(split, data_dir))


def find_data(section: dict, where: str = "config") -> None:
    """Make sure the data a config's ``Data`` section names can be read, before a run starts.

    ``section`` may name course CSV files (``train_csv``, ``test_csv``), which must
    exist, and an MNIST folder (``dir``; None: the data home, or ./data), whose four
    files are downloaded now if missing.  Raises DataError naming ``where`` and the key.
    """
    from minidl.data.errors import DataError
    for key in ("train_csv", "test_csv"):
        path = section.get(key)
        if path and not Path(path).is_file():
            raise DataError(f"{where}: Data.{key}: no such file {path}")
    if not (section.get("train_csv") and section.get("test_csv")):
        try:
            ensure_mnist(section.get("dir"))
        except DataError as exc:
            raise type(exc)(f"{where}: {exc}") from None


def load_train_test(data_dir: str | os.PathLike | None = None, subset: int | None = None):
    """``(X, y, X_test, y_test)``: the first ``subset`` training images (all when None), and the test set.

    Shapes: (n, 784) float32, (n,) int64, (10000, 784), (10000,).
    """
    from minidl.data.batches import subset as first_n
    X, y = load_mnist("train", data_dir)
    if subset is not None:
        X, y = first_n(X, y, subset)
    X_test, y_test = load_mnist("test", data_dir)
    return X, y, X_test, y_test


def load_normalized_mnist(data_dir: str | os.PathLike | None = None, splits=("train",)) -> dict:
    """MNIST standardised by the training set's pixel mean and standard deviation (the
    Neuromatch tutorial's transform: one scalar each, over all pixels, 0.1307 and 0.3081).

    Returns ``{split: (X (N, 784) float32, y (N,) int64)}`` for each requested split,
    plus ``"stats": (mean, std)`` (floats, computed in float64 on the 60,000 training images).
    The arrays are cached per data folder and shared between calls: they are read-only.
    """
    cached = _normalized_mnist(None if data_dir is None else str(data_dir))
    return {"stats": cached["stats"], **{split: cached[split] for split in splits}}


@functools.lru_cache(maxsize=1)
def _normalized_mnist(data_dir) -> dict:
    X, y = load_mnist("train", data_dir)
    mean, std = float(X.mean(dtype=np.float64)), float(X.std(dtype=np.float64))
    out = {"stats": (mean, std)}
    for split in ("train", "test"):
        Xs, ys = (X, y) if split == "train" else load_mnist(split, data_dir)
        Xs = (Xs - np.float32(mean)) / np.float32(std)      # a new float32 array
        Xs.flags.writeable = False
        out[split] = (Xs, ys)
    return out


def mnist_to_csv(data_dir: str | os.PathLike | None = None,
                 dest: str | os.PathLike | None = None, verbose: bool = True) -> list[Path]:
    """Write ``mnist_train.csv`` and ``mnist_test.csv`` (course format) into ``dest``.

    Inputs:
    - data_dir: where the IDX files are (downloaded if missing).
    - dest: where the CSVs go (default: data_dir).

    Returns the two CSV paths.
    """
    paths = []
    for split in SPLITS:
        images_path, labels_path = _idx_paths(split, data_dir)
        pixels, labels = read_idx_pair(images_path, labels_path)
        target = Path(dest if dest is not None else images_path.parent) / SPLITS[split][2]
        write_csv(target, pixels, labels)
        if verbose:
            print(f"{target}: wrote {len(labels)} rows", file=sys.stderr, flush=True)
        paths.append(target)
    return paths


def _idx_paths(split: str, data_dir: str | os.PathLike | None) -> tuple[Path, Path]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}; got {split!r}")
    data_dir = ensure_mnist(data_dir)
    images, labels, _ = SPLITS[split]
    return find_mnist_file(data_dir, images), find_mnist_file(data_dir, labels)
