"""Checkpoints: everything needed to evaluate a model or resume its training.

A checkpoint is one ``.npz`` file, written atomically and read with
``allow_pickle=False`` (a checkpoint can never run code).  Keys::

    model/<name>        parameter arrays, e.g. model/0.W
    optim/<key>         optimizer state (see Optimizer.state_dict)
    meta                a JSON string: epoch, scheduler state, RNG state, best-so-far, ...

A truncated, corrupted or foreign file raises ``CheckpointError`` (a ValueError)
that names the file and what is wrong, never a zipfile, zlib, JSON or NumPy
traceback (``tests/test_fuzz_checkpoint.py`` fuzzes it).
"""
from __future__ import annotations

import json
import os
import tokenize
import zipfile
import zlib

import numpy as np
from numpy.lib.npyio import NpzFile

from minidl.util.fileio import atomic_save_npz

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "restore"]


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or does not fit the model."""


def save_checkpoint(path, model, optimizer=None, meta: dict | None = None) -> None:
    """Write model parameters, optional optimizer state and a JSON-able ``meta`` dict."""
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    if optimizer is not None:
        arrays.update({f"optim/{k}": v for k, v in optimizer.state_dict().items()})
    arrays["meta"] = np.array(json.dumps(meta or {}))
    atomic_save_npz(path, **arrays)


def load_checkpoint(path) -> tuple[dict, dict, dict]:
    """Read a checkpoint: ``(model_state, optimizer_state, meta)``.

    Refused with a CheckpointError naming the file: a missing, empty, truncated
    or corrupted file; anything but an .npz archive of numeric arrays (pickled
    objects are never loaded); an entry other than ``model/<name>``,
    ``optim/<key>`` and ``meta``; parameters that are not floating-point; a
    ``meta`` that is not one JSON object.
    """
    path = os.fspath(path)
    data = _read_npz(path)
    meta = _read_meta(path, data.pop("meta", None))
    model = {k[6:]: v for k, v in data.items() if k.startswith("model/")}
    optim = {k[6:]: v for k, v in data.items() if k.startswith("optim/")}
    unknown = sorted(set(data) - {f"model/{k}" for k in model} - {f"optim/{k}" for k in optim})
    if unknown:
        raise CheckpointError(f"{path}: unexpected entries {unknown}; a checkpoint holds model/<name>, "
                              "optim/<key> and meta")
    if not model:
        raise CheckpointError(f"{path}: no model parameters in this file")
    for prefix, state, kinds, expected in (("model", model, "f", "floating-point"),
                                           ("optim", optim, "fiu", "numbers")):
        for key, value in state.items():
            if value.dtype.kind not in kinds:
                raise CheckpointError(f"{path}: {prefix}/{key} has dtype {value.dtype}; expected {expected}")
    return model, optim, meta


# what a damaged file can raise on its way through zipfile, zlib and np.load
_DAMAGED = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError, NotImplementedError,
            RuntimeError,            # zipfile: "File is encrypted"
            SyntaxError, tokenize.TokenError,   # NumPy's fallback parser of an .npy header (for Python 2's)
            MemoryError)             # a corrupted .npy header can claim an enormous shape: NumPy allocates first


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of the .npz archive at ``path``, read without pickle."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: checkpoint not found")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path}: the file is empty")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, NpzFile):
            raise CheckpointError(f"{path}: not a checkpoint: one .npy array, not an .npz archive")
        with loaded as f:
            others = [name for name in f.zip.namelist() if not name.endswith(".npy")]
            if others:
                raise CheckpointError(f"{path}: not a checkpoint: {others[0]!r} in the archive is not an array")
            return {k: f[k] for k in f.files}
    except CheckpointError:
        raise
    except _DAMAGED as exc:
        if "allow_pickle" in str(exc):          # np.load's refusal of a pickle or an object array
            raise CheckpointError(f"{path}: holds pickled Python objects; a checkpoint is numeric arrays only "
                                  "and is read without pickle, so that loading it can never run code") from None
        raise CheckpointError(f"{path}: checkpoint is truncated or corrupted ({type(exc).__name__}: {exc})") from None


def _read_meta(path: str, meta) -> dict:
    """The ``meta`` entry: one JSON string that holds an object."""
    if meta is None:
        raise CheckpointError(f"{path}: no meta entry (every checkpoint has one)")
    if meta.shape != () or meta.dtype.kind != "U":
        raise CheckpointError(f"{path}: meta must be one JSON string; got a {meta.dtype} array of shape {meta.shape}")
    try:
        value = json.loads(meta.item())
    except (ValueError, RecursionError) as exc:         # JSONDecodeError is a ValueError
        raise CheckpointError(f"{path}: meta is not valid JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: meta must be a JSON object; got {type(value).__name__}")
    return value


def restore(path, model, optimizer=None) -> dict:
    """Load a checkpoint into ``model`` (and ``optimizer``, whose state it must then hold); returns ``meta``.

    A mismatch of keys or shapes raises CheckpointError listing the missing,
    unexpected and mismatched keys.
    """
    model_state, optim_state, meta = load_checkpoint(path)
    try:
        model.load_state_dict(model_state)
        if optimizer is not None:           # a checkpoint without optimizer state cannot resume one
            optimizer.load_state_dict(optim_state)
    except ValueError as exc:
        raise CheckpointError(f"{os.fspath(path)}: {exc}") from None
    return meta
