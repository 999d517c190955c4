"""Checks before a run is resumed: its config, its last.npz and its metrics.csv must fit together.

A run folder given to ``--resume`` may have been edited, cut short by a kill, or
damaged.  Anything that does not fit is a ``CheckpointError`` (a ValueError) that
names the file and what is wrong, before any epoch is trained; a metrics row
written just before a kill, after the last checkpoint, is dropped.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from minidl.runs.folder import read_metrics
from minidl.training.checkpoint import CheckpointError, load_checkpoint
from minidl.util.fileio import atomic_write_text

__all__ = ["RESUMABLE_KEYS", "config_differences", "check_same_config", "check_resume_meta", "truncate_metrics"]

# keys that may change when a run is resumed: they do not change what has been computed
RESUMABLE_KEYS = ("Train.epochs", "Train.debug", "Output.dir", "Output.name")


def _flatten(cfg: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in cfg.items():
        if isinstance(value, dict) and key[:1].isupper():
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_differences(old: dict, new: dict) -> list[str]:
    """``['Train.learning_rate: 0.1 -> 0.05', ...]`` for keys that differ, ignoring RESUMABLE_KEYS."""
    a, b = _flatten(old), _flatten(new)
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if k not in RESUMABLE_KEYS and a.get(k) != b.get(k)]


def _kind(value) -> str:
    """The JSON type of ``value``: bool, int, float, str, dict, list or NoneType."""
    for kind in (bool, int, float, str, dict, list):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def _layout_difference(found, expected, where: str = "meta") -> str | None:
    """The first key or leaf type where ``found`` differs from ``expected`` (dicts compared recursively)."""
    if _kind(found) != _kind(expected):
        return f"{where} is {_kind(found)} {found!r}; expected {_kind(expected)}"
    if isinstance(expected, dict):
        for key in sorted(expected.keys() | found.keys(), key=str):
            if key not in found or key not in expected:
                return f"{where}.{key} is {'missing' if key not in found else 'unexpected'}"
            problem = _layout_difference(found[key], expected[key], f"{where}.{key}")
            if problem:
                return problem
    return None


def check_same_config(path: Path, cfg: dict) -> None:
    """Refuse to resume under ``cfg`` (from the run's config.yaml) when the last.npz at ``path``
    was saved under another config, apart from RESUMABLE_KEYS: a damaged or edited config.yaml
    is caught here, before any data is loaded.  Runs saved before the config was recorded pass."""
    config = load_checkpoint(path)[2].get("config")
    if config is not None and not isinstance(config, dict):
        raise CheckpointError(f"{path}: not the resume state this job writes: meta.config is {_kind(config)}")
    changed = config_differences(config, cfg) if config is not None else []
    if changed:
        raise CheckpointError(f"{path}: was saved under a different config than {path.parent / 'config.yaml'}; "
                              "differing keys: " + "; ".join(changed))


def check_resume_meta(path: Path, meta: dict, expected: dict) -> None:
    """Refuse the meta of a last.npz (CheckpointError naming ``path``) unless it has the keys and
    types of ``expected`` (``TrainingRun.resume_meta()`` of the run about to continue; the config
    is ``check_same_config``'s) and numbers that fit together."""
    problem = _layout_difference({**meta, "config": None}, {**expected, "config": None})
    if problem:
        raise CheckpointError(f"{path}: not the resume state this job writes: {problem}")
    epoch, best, scheduler = meta["epoch"], meta["best"], meta["scheduler"]
    if epoch < 0 or not 0 <= best["epoch"] <= epoch:
        raise CheckpointError(f"{path}: epoch {epoch} with best epoch {best['epoch']}; expected 0 <= best <= epoch")
    if not (0 <= best["acc"] <= 1 if best["epoch"] else best["acc"] == -math.inf):
        raise CheckpointError(f"{path}: best accuracy {best['acc']!r} at epoch {best['epoch']} is impossible")
    if scheduler is not None and scheduler["base_lr"] != expected["scheduler"]["base_lr"]:
        raise CheckpointError(f"{path}: the scheduler's base_lr is {scheduler['base_lr']!r}; the config's "
                              f"learning rate is {expected['scheduler']['base_lr']!r}")
    if scheduler is not None and scheduler["last_epoch"] != epoch:
        raise CheckpointError(f"{path}: the scheduler has stepped {scheduler['last_epoch']} times "
                              f"after {epoch} epoch(s); it steps once per epoch")


def truncate_metrics(path: Path, epochs: int) -> list[dict]:
    """Keep the header and the first ``epochs`` rows of metrics.csv (a row can be written just before
    a kill stops the checkpoint that follows it).  Returns the kept rows, parsed.

    Each kept row must hold a number per column, its epoch 1, 2, ...; CheckpointError names the line.
    """
    if not path.is_file():
        if epochs:
            raise CheckpointError(f"{path}: missing, but last.npz says {epochs} epoch(s) were completed")
        return []
    try:
        lines = path.read_bytes().decode("utf-8").split("\n")    # not splitlines: it also splits at \f, \x1c, ...
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if lines[-1] == "":
        lines.pop()             # the newline that ends the last row
    if len(lines) - 1 < epochs:
        raise CheckpointError(f"{path}: has {max(len(lines) - 1, 0)} epoch rows but last.npz says {epochs}")
    kept = lines[:epochs + 1] if epochs else []
    if kept:
        _check_metrics_rows(path, [line.removesuffix("\r").split(",") for line in kept])
    atomic_write_text(path, "".join(line + "\n" for line in kept))
    return read_metrics(path) if kept else []


def _check_metrics_rows(path: Path, rows: list[list[str]]) -> None:
    """``rows[0]`` a header with an ``epoch`` column; then rows of as many numbers, epochs 1, 2, ..."""
    header = rows[0]
    names_ok = all(name and name.isprintable() and '"' not in name for name in header)   # no quote, BOM, '\r'
    if "epoch" not in header or not names_ok or len(set(header)) < len(header):
        raise CheckpointError(f"{path}, line 1: not a metrics header (distinct printable names without quotes, "
                              f"one of them epoch): {','.join(header)[:80]!r}")
    for n, cells in enumerate(rows[1:], start=1):
        bad = next((cell for cell in cells if not _NUMBER.fullmatch(cell)), None)
        if bad is not None:
            raise CheckpointError(f"{path}, line {n + 1}: {bad[:20]!r} is not a number")
        values = [float(cell) for cell in cells]
        if len(values) != len(header):
            raise CheckpointError(f"{path}, line {n + 1}: {len(values)} values for {len(header)} columns")
        if values[header.index("epoch")] != n:
            raise CheckpointError(f"{path}, line {n + 1}: epoch {cells[header.index('epoch')]}; expected {n}")


# a number as MetricsWriter writes it (repr of an int or float); stricter than float(), which
# accepts spaces and a '\r' that the csv module would take for a line break
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|nan)")
