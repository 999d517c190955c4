"""Run folders: where every experiment writes its outputs.

    runs/<name>-<YYYYmmdd-HHMMSS>/
        config.yaml     the resolved config (after defaults and --set overrides)
        metrics.csv     one row per epoch, appended and flushed as it goes
        summary.json    final numbers, written atomically
        *.png           figures

``create_run_dir`` fails *before* any training if the folder cannot be written.
"""
from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

from minidl.util.fileio import atomic_write_json, atomic_write_text

__all__ = ["create_run_dir", "write_config", "write_summary", "MetricsWriter", "read_metrics"]


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
            self.path.write_text("")

    def write(self, row: dict) -> None:
        new = self.fields is None
        if new:
            self.fields = list(row)
        elif list(row) != self.fields:
            raise ValueError(f"{self.path}: row keys {list(row)} differ from the header {self.fields}")
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields)
            if new:
                writer.writeheader()
            writer.writerow({k: _format(v) for k, v in row.items()})
            f.flush()
            os.fsync(f.fileno())

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
