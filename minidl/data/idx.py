"""Reading MNIST's original IDX files (gzip-compressed or not).

An IDX file is a big-endian header followed by raw bytes::

    magic  (4 bytes)   0x00000803 = 2051 for images (uint8, 3 dims)
                       0x00000801 = 2049 for labels (uint8, 1 dim)
    dims   (4 bytes each)  e.g. 60000, 28, 28
    data   prod(dims) bytes, row-major

Every check failure raises :class:`~minidl.data.errors.DataError` (a
``ValueError``) naming the file: wrong magic, header dims that disagree with
the payload length, a truncated or corrupt gzip stream, images and labels
of different counts, labels outside 0..9.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from minidl.data.common import digit_labels, pixels_to_float
from minidl.data.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_GZIP_MAGIC = b"\x1f\x8b"
_KIND = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}


def load_idx(images_path: str | os.PathLike, labels_path: str | os.PathLike
             ) -> tuple[np.ndarray, np.ndarray]:
    """Load an IDX images file and its labels file.

    Inputs:
    - images_path: IDX3 images file (e.g. train-images-idx3-ubyte.gz), .gz or raw.
    - labels_path: IDX1 labels file (e.g. train-labels-idx1-ubyte.gz), .gz or raw.

    Returns:
    - X: (N, rows*cols) float32 array (N, 784 for MNIST), pixels scaled to [0, 1].
    - y: (N,) int64 array of labels 0..9.
    """
    pixels, labels = read_idx_pair(images_path, labels_path)
    return pixels_to_float(pixels), digit_labels(labels, str(labels_path))


def read_idx_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`load_idx`, but return (N, rows*cols) uint8 pixels and (N,) uint8 labels."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} "
                        f"holds {len(labels)} labels; the counts must match")
    return images.reshape(len(images), -1), labels


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read one IDX file and check its header.

    Inputs:
    - path: the file, gzip-compressed or raw (detected from its first bytes).
    - magic: IMAGES_MAGIC (2051) or LABELS_MAGIC (2049).

    Returns:
    - a read-only uint8 array of the header's shape, e.g. (60000, 28, 28).
    """
    raw = _read_bytes(Path(path))
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found != magic:
        hint = f" (that is the magic of an IDX {_KIND[found]} file)" if found in _KIND else ""
        got = f"magic number {found}{hint}" if found is not None else f"only {len(raw)} bytes"
        raise DataError(f"{path}: {got}; expected magic number {magic} for IDX {_KIND[magic]}")
    ndim = magic & 0xFF                       # the low byte of the magic is the number of dims
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{path}: {len(raw)} bytes is too short for an IDX {_KIND[magic]} "
                        f"header ({header_len} bytes)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)                # a Python int: no overflow on silly headers
    if len(raw) - header_len != expected:
        raise DataError(f"{path}: header says shape {dims}, i.e. {expected} data bytes, "
                        f"but the file has {len(raw) - header_len}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped if it starts with the gzip magic."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:   # truncated / bad CRC / bad deflate data
        raise DataError(f"{path}: truncated or corrupt gzip file ({err})") from err
