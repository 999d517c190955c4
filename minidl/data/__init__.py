"""MNIST data for minidl: get the files, load them, split them, batch them.

Typical use::

    from minidl.data import load_mnist, train_val_split, iterate_minibatches
    X, y = load_mnist("train")                    # (60000, 784) float32 in [0, 1], (60000,) int64
    (X_tr, y_tr), (X_val, y_val) = train_val_split(X, y)   # 48,000 / 12,000, unshuffled
    rng = np.random.default_rng(0)
    for xb, yb in iterate_minibatches(X_tr, y_tr, 64, rng):  # one epoch, shuffled
        ...

Where things are:

- ``download``    the data home ($MINIDL_DATA, else ~/.local/share/minidl), ensure_mnist, and the
                  MIRRORS / MNIST_MD5 tables (patch them there, e.g. in tests)
- ``idx``         the original IDX files (.gz or raw): load_idx
- ``csvfile``     the course CSV format: load_csv (cached), write_csv
- ``csv_cache``   the ``<csv>.cache.npz`` binary cache and when it is trusted
- ``mnist``       load_mnist(split), load_train_test, load_normalized_mnist, mnist_to_csv
- ``batches``     train_val_split, epoch_batches, iterate_minibatches, subset,
                  sample_with_replacement, shuffle_labels
- ``errors``      DataError(ValueError), ChecksumError, DownloadError

Importing this package reads no files and opens no connections.
"""
from minidl.data.batches import (epoch_batches, iterate_minibatches, sample_with_replacement, shuffle_labels,
                                 subset, train_val_split)
from minidl.data.csvfile import format_csv, load_csv, parse_csv_bytes, write_csv
from minidl.data.download import copy_mnist, data_home, default_data_dir, download_mnist, ensure_mnist
from minidl.data.errors import ChecksumError, DataError, DownloadError
from minidl.data.idx import load_idx
from minidl.data.mnist import SPLITS, find_data, load_mnist, load_normalized_mnist, load_train_test, mnist_to_csv

__all__ = [
    "ChecksumError", "DataError", "DownloadError",
    "SPLITS",
    "copy_mnist", "data_home", "default_data_dir", "download_mnist", "ensure_mnist",
    "epoch_batches", "find_data", "format_csv", "iterate_minibatches", "load_csv", "load_idx", "load_mnist",
    "load_normalized_mnist", "load_train_test", "mnist_to_csv", "parse_csv_bytes", "sample_with_replacement",
    "shuffle_labels", "subset", "train_val_split", "write_csv",
]
