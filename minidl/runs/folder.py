"""Run folders: where every experiment writes its outputs.

    runs/<name>-<YYYYmmdd-HHMMSS>/
        config.yaml     the resolved config (after defaults and --set overrides)
        metrics.csv     one row per epoch, appended and flushed as it goes
        summary.json    final numbers, written atomically
        *.png           figures
        .lock           held by the process that writes into the folder

``create_run_dir`` fails *before* any training if the folder cannot be written.
``lock_run_folder`` makes sure that only one process writes into a folder: a
sweep started twice, or a run resumed twice at once, is refused.
"""
from __future__ import annotations

import contextlib
import csv
import math
import os
import signal
import time
from pathlib import Path

from minidl.util.fileio import WriteError, atomic_write_json, atomic_write_text

__all__ = ["create_run_dir", "lock_run_folder", "FolderBusy", "write_config", "write_summary",
           "interrupted_summary", "MetricsWriter", "read_metrics"]


class FolderBusy(ValueError):
    """Another process is writing into this run folder."""


def create_run_dir(output_dir: str | os.PathLike = "runs", name: str = "run", timestamp: bool = True) -> Path:
    """Make ``output_dir/name-<timestamp>/`` (suffixing -2, -3, ... on a clash) and check it is writable."""
    base = Path(output_dir)
    stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}" if timestamp else name
    try:
        base.mkdir(parents=True, exist_ok=True)
        path, n = base / stem, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                if not timestamp:
                    break
                n += 1
                path = base / f"{stem}-{n}"
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"cannot write to output directory {base}: {exc.strerror or exc}") from None
    return path


@contextlib.contextmanager
def lock_run_folder(run_dir: str | os.PathLike):
    """Hold ``run_dir/.lock`` (an OS file lock, released when the process ends, even by
    SIGKILL) while the block runs.  If another process holds it, raise ``FolderBusy``
    at once: the second of two identical sweeps, or of two resumes of one run, refuses
    to start instead of writing the same files as the first.
    """
    from filelock import FileLock, Timeout
    path = Path(run_dir) / ".lock"
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusy(f"{run_dir} is in use: another process is writing into it (it holds {path}). "
                         "Wait for it to finish, or stop it first") from None
    except OSError as exc:
        raise WriteError(path, exc) from None
    try:
        yield
    finally:
        lock.release()


def write_config(run_dir: Path, cfg: dict) -> None:
    import yaml
    atomic_write_text(Path(run_dir) / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))


def _jsonable(value):
    """Replace NaN/inf (not valid JSON) by None, recursively; numpy scalars by Python ones."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_summary(run_dir: Path, summary: dict, started: float | None = None) -> dict:
    """Write ``summary.json`` atomically (NaN and inf become null); returns what was written.

    ``started``, a ``time.perf_counter()`` reading from when the run began, adds
    ``wall_time_s`` (unless the summary has it already).
    """
    summary = dict(summary)
    if started is not None and "wall_time_s" not in summary:
        summary["wall_time_s"] = round(time.perf_counter() - started, 2)
    atomic_write_json(Path(run_dir) / "summary.json", _jsonable(summary))
    return summary


def interrupted_summary(run_dir: Path, exc) -> dict:
    """The summary of a run stopped outside training: status, signal, message, epochs on disk."""
    summary = {"status": "interrupted", "signal": signal.Signals(exc.signum).name if exc.signum else None,
               "message": str(exc)}
    metrics = Path(run_dir) / "metrics.csv"
    if metrics.is_file():
        with open(metrics, "rb") as f:
            summary["epochs_completed"] = max(sum(1 for _ in f) - 1, 0)
    return summary


class MetricsWriter:
    """Append rows to a CSV, flushing each one, so a killed run keeps every finished epoch.

    The header is written with the first row; later rows must have the same keys.
    It is also a ``Trainer.fit`` callback: every round's row is written as it ends.
    """

    def __init__(self, path: str | os.PathLike, append: bool = False):
        self.path = Path(path)
        self.fields: list[str] | None = None
        if append and self.path.exists() and self.path.stat().st_size:
            with open(self.path, newline="") as f:
                self.fields = next(csv.reader(f))
        elif not append:
            try:
                self.path.write_text("")
            except OSError as exc:
                raise WriteError(self.path, exc) from None

    def write(self, row: dict) -> None:
        new = self.fields is None
        if new:
            self.fields = list(row)
        elif list(row) != self.fields:
            raise ValueError(f"{self.path}: row keys {list(row)} differ from the header {self.fields}")
        try:
            with open(self.path, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.fields)
                if new:
                    writer.writeheader()
                writer.writerow({k: _format(v) for k, v in row.items()})
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:       # a row cut short is dropped on resume (the checkpoint after it is missing)
            raise WriteError(self.path, exc) from None

    def end_round(self, trainer, row: dict) -> None:
        self.write(row)


def _format(value):
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()      # numpy scalar -> Python number
    if isinstance(value, float):
        return repr(value)       # shortest exact round-trip text: bit-identical reruns give identical files
    return value


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """Read a metrics CSV back as a list of dicts of floats (non-numeric cells stay strings)."""
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            parsed = {}
            for k, v in row.items():
                try:
                    parsed[k] = float(v)
                except (TypeError, ValueError):
                    parsed[k] = v
            rows.append(parsed)
    return rows
