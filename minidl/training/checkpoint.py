"""Checkpoints: everything needed to evaluate a model or resume its training.

A checkpoint is one ``.npz`` file, written atomically and read with
``allow_pickle=False`` (a checkpoint can never run code).  Keys::

    model/<name>        parameter arrays, e.g. model/0.W
    optim/<key>         optimizer state (see Optimizer.state_dict)
    meta                a JSON string: epoch, scheduler state, RNG state, best-so-far, ...

A truncated or corrupted file raises ``CheckpointError`` (a ValueError) that
names the file, never a zipfile or NumPy traceback.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

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
    """Read a checkpoint: ``(model_state, optimizer_state, meta)``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        meta = json.loads(str(data.pop("meta"))) if "meta" in data else {}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: checkpoint is truncated or corrupted ({type(exc).__name__}: {exc})") from None
    model = {k[6:]: v for k, v in data.items() if k.startswith("model/")}
    optim = {k[6:]: v for k, v in data.items() if k.startswith("optim/")}
    if not model:
        raise CheckpointError(f"{path}: no model parameters in this file")
    return model, optim, meta


def restore(path, model, optimizer=None) -> dict:
    """Load a checkpoint into ``model`` (and ``optimizer``); returns ``meta``.

    A mismatch of keys or shapes raises CheckpointError listing the missing,
    unexpected and mismatched keys.
    """
    model_state, optim_state, meta = load_checkpoint(path)
    try:
        model.load_state_dict(model_state)
        if optimizer is not None and optim_state:
            optimizer.load_state_dict(optim_state)
    except ValueError as exc:
        raise CheckpointError(f"{os.fspath(path)}: {exc}") from None
    return meta
