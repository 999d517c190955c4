"""A binary cache for parsed CSV files: ``<file>.csv.cache.npz`` next to the CSV.

The cache holds the parsed uint8 pixels and labels plus a *source key*:
the CSV's size and modification time (``st_mtime_ns``) when it was parsed,
and the SHA-1 of the bytes that were parsed.  It is trusted only if

1. it opens with ``allow_pickle=False`` and every array has the expected
   name, dtype and shape (a truncated or corrupted file fails here: the zip
   CRC catches flipped bytes), and
2. the CSV still has the stored size and mtime, and
3. when the CSV's mtime is not older than the cache file's own mtime, the
   CSV's SHA-1 matches too.

Rule 3 is git's "racy clean" rule: file timestamps are coarse (a few ms on
Linux, 1-2 s on some file systems), so a CSV rewritten with the same size
within the same tick in which the cache was written would keep its
mtime.  Only in that case do we pay for hashing the file.

Anything else - a missing, stale, unreadable or inconsistent cache - means
"parse the CSV again and rewrite the cache"; a bad cache never raises.
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np

from minidl.data.common import N_CLASSES, N_PIXELS
from minidl.util.fileio import atomic_save_npz

CACHE_SUFFIX = ".cache.npz"
_VERSION = 1


def cache_path_for(source: Path) -> Path:
    """The cache file of ``source``: e.g. ``data/mnist_train.csv.cache.npz``."""
    source = Path(source)
    return source.with_name(source.name + CACHE_SUFFIX)


def source_key(source: Path) -> np.ndarray:
    """(2,) int64 array [size in bytes, mtime in ns] of ``source`` (raises FileNotFoundError)."""
    st = Path(source).stat()
    return np.array([st.st_size, st.st_mtime_ns], dtype=np.int64)


def load(source: Path, key: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the cached (pixels (N, 784) uint8, labels (N,) uint8) of ``source``, or None.

    ``key`` is :func:`source_key` of the source, taken by the caller.
    """
    path = cache_path_for(source)
    try:
        cache_mtime_ns = path.stat().st_mtime_ns
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in ("version", "key", "sha1", "pixels", "labels")}
    except Exception:  # noqa: BLE001 - missing, truncated, corrupt, pickled...: rebuild it
        return None
    if not _consistent(arrays, key):
        return None
    racy = key[1] >= cache_mtime_ns
    if racy and _sha1(Path(source).read_bytes()) != arrays["sha1"].tobytes():
        return None
    return arrays["pixels"], arrays["labels"]


def save(source: Path, key: np.ndarray, data: bytes, pixels: np.ndarray, labels: np.ndarray) -> None:
    """Write the cache of ``source`` atomically; warn (don't fail) if it cannot be written.

    Inputs:
    - key: :func:`source_key` taken *before* ``data`` was read.
    - data: the bytes that were parsed (hashed for rule 3).
    - pixels: (N, 784) uint8;  labels: (N,) uint8.
    """
    path = cache_path_for(source)
    try:
        atomic_save_npz(path, version=np.array(_VERSION), key=key,
                        sha1=np.frombuffer(_sha1(data), dtype=np.uint8),
                        pixels=pixels, labels=labels)
    except OSError as err:
        warnings.warn(f"could not write the CSV cache {path} ({err}); "
                      "the CSV will be parsed again next time", stacklevel=3)


def _consistent(arrays: dict[str, np.ndarray], key: np.ndarray) -> bool:
    """Do the cached arrays have the expected dtypes and shapes, and the expected key?"""
    version, stored_key, sha1 = arrays["version"], arrays["key"], arrays["sha1"]
    pixels, labels = arrays["pixels"], arrays["labels"]
    return (version.dtype.kind == "i" and version.shape == () and int(version) == _VERSION
            and stored_key.dtype == np.int64 and stored_key.shape == key.shape
            and bool(np.all(stored_key == key))
            and sha1.dtype == np.uint8 and sha1.shape == (20,)
            and pixels.dtype == np.uint8 and pixels.ndim == 2 and pixels.shape[1] == N_PIXELS
            and pixels.shape[0] > 0
            and labels.dtype == np.uint8 and labels.shape == (pixels.shape[0],)
            and int(labels.max()) < N_CLASSES)


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()
