"""Atomic file writes: a reader never sees a half-written file.

Every writer here writes to a temporary file in the *same directory* as the
target and then moves it into place with ``os.replace``, which is atomic on
POSIX and Windows.  If the process dies half-way, the old file (or no file)
is left, plus at worst a stray ``.tmp`` file - never a truncated target.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class WriteError(ValueError):
    """A file could not be written (disk full, permission lost, quota): names the file and the OS error."""

    def __init__(self, path, error: OSError):
        self.path, self.error = Path(path), error
        reason = error.strerror or str(error)
        super().__init__(f"cannot write {path}: {reason}; the files written before it are intact")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + os.replace).

    A failing write (an OSError) leaves ``path`` as it was and raises ``WriteError``.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.chmod(tmp, 0o666 & ~_umask())    # mkstemp makes 0600; give the usual permissions of a new file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise WriteError(path, exc) from None
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """``np.savez`` to ``path`` atomically.  Arrays only: load with allow_pickle=False."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
