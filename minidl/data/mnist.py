"""MNIST by split name: load the IDX files, or convert them to course CSVs."""
from __future__ import annotations

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
    - data_dir: defaults to ``$MINIDL_DATA`` or ``data/``; missing files are
      downloaded first (:func:`~minidl.data.download.ensure_mnist`).

    Returns:
    - X: (N, 784) float32 array, pixels scaled to [0, 1].
    - y: (N,) int64 array of labels 0..9.
    """
    return load_idx(*_idx_paths(split, data_dir))


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
