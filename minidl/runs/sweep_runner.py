"""The sweep runner: one training job per point of a grid, run in parallel.

A sweep file names a base training config and a grid of ``--set``-style
overrides::

    Sweep:
      base: ../config_twolayer.yaml        # relative to this file
      name: twolayer_lr                    # default: the file's stem
      grid:
        Train.learning_rate: [1.0, 0.1, 0.05, 0.01]
      set:                                  # fixed overrides for every point
        Train.epochs: 10

``python -m experiments.sweep FILE`` runs it: every point runs
``minidl.runs.job.run_training`` in its own folder under ``runs/sweep-<name>/``.
A point's folder is named after its values and a hash of its resolved config,
so re-running the same sweep skips the points that already finished.
``--set`` changes the sweep file: ``--set Sweep.set.Train.epochs=2`` changes the
base config of every point, ``--set Output.dir=X`` moves the sweep folder.

Where the points run is the executor's business (``minidl.runs.executors``): a
local process pool (the default), or a Dask cluster.  Workers are pinned to one
BLAS thread each, so ``--workers 2`` on two cores runs two points side by side
without contention.  Whatever the executor, this module, on the client, writes
the sweep folder and draws every figure.

Outputs in the sweep folder: config.yaml, one run folder per point (with its
``curves.png``), ``results.csv`` (one row per point, rewritten atomically as
points finish), ``comparison.png`` (validation accuracy per epoch, one line per
point) and summary.json.

Seeds: when the grid has a ``Train.seed`` axis, the seeds are repeats, not a
hyperparameter.  The sweep then also writes ``results_by_value.csv`` (mean,
standard deviation and count of the accuracies over seeds, one row per value
of the other keys), and ``comparison.png`` draws the mean curve per value.
"""
from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from minidl.runs.config import (REQUIRED, ConfigError, Key, apply_overrides, as_overrides, dotted_keys, load_yaml,
                                validate)
from minidl.runs.executors import make_executor
from minidl.runs.folder import create_run_dir, read_metrics
from minidl.training.signals import phase, raise_if_interrupted
from minidl.util.fileio import atomic_write_text

__all__ = ["SCHEMA", "FLAGS", "Sweep", "check", "data_sections", "run", "run_folder", "sweep_folder", "expand_grid", "run_sweep",
           "point_id", "point_label", "resolve_point", "aggregate_over_seeds"]

SEED_KEY = "Train.seed"

SCHEMA = {
    "Sweep": {
        "base": Key(str, REQUIRED, doc="training config, relative to the sweep file"),
        "name": Key((str, type(None)), None, doc="the folder is runs/sweep-<name>; null: the file's stem"),
        "grid": Key(dict, REQUIRED, doc="{dotted key: [values]}; the product is swept"),
        "set": Key((dict, type(None)), None, doc="fixed overrides of the base config for every point"),
        "metric": Key(str, "val_acc", doc="metrics.csv column drawn in comparison.png"),
        "workers": Key((int, type(None)), None, doc="worker processes; null: all cores"),
        "executor": Key((str, type(None)), None, choices=["local", "dask", None],
                        doc="local processes, or a Dask cluster; null: dask when scheduler is set"),
        "scheduler": Key((str, type(None)), None,
                         doc="address of a running `dask scheduler`, tls://HOST:8786 (certificates: docs/dask.md)"),
    },
    "Output": {"dir": Key(str, "runs")},
}

FLAGS = {"--workers": "Sweep.workers", "--executor": "Sweep.executor", "--scheduler": "Sweep.scheduler"}


@dataclass
class Sweep:
    """What to run: the base training config (a raw dict, before validation) and the grid points."""
    name: str
    base_cfg: dict
    points: list[dict]
    metric: str = "val_acc"


def check(cfg: dict, where: str) -> None:
    """Resolve the base path and the name, then every point's training config (errors before any work)."""
    spec = cfg["Sweep"]
    base = Path(spec["base"])
    if not base.is_absolute() and (Path(where).parent / base).is_file():
        base = Path(where).parent / base
    spec["base"] = os.path.normpath(base)
    spec["name"] = spec["name"] or Path(where).stem
    spec["set"], spec["grid"] = dotted_keys(spec["set"]), dotted_keys(spec["grid"])
    if spec["scheduler"] and spec["executor"] == "local":
        raise ConfigError(f"{where}: Sweep.scheduler needs Sweep.executor dask (or --executor dask)")
    if spec["scheduler"] and spec["workers"] is not None:
        raise ConfigError(f"{where}: Sweep.workers sizes a cluster started here; with Sweep.scheduler, "
                          "the cluster's own workers run")
    if spec["workers"] is not None and spec["workers"] < 1:
        raise ConfigError(f"{where}: Sweep.workers must be at least 1; got {spec['workers']}")
    sweep = sweep_of(cfg, where)
    for point in sweep.points:
        resolve_point(sweep.base_cfg, point, where)


def data_sections(cfg: dict) -> list[dict]:
    """The distinct Data sections of the points: the entry point finds the data before any work."""
    sweep = sweep_of(cfg)
    sections = [resolve_point(sweep.base_cfg, point, sweep.name)["Data"] for point in sweep.points]
    return list({json.dumps(section, sort_keys=True): section for section in sections}.values())


def sweep_of(cfg: dict, where: str = "sweep") -> Sweep:
    """The ``Sweep`` a checked sweep config describes: its base config with ``Sweep.set`` applied."""
    spec = cfg["Sweep"]
    base_cfg = apply_overrides(load_yaml(spec["base"]), as_overrides(spec["set"]), source=f"{where}: Sweep.set")
    return Sweep(spec["name"], base_cfg, expand_grid(spec["grid"], where), spec["metric"])


def run_folder(cfg: dict, stem: str) -> Path:
    """``<Output.dir>/sweep-<name>``: the same folder every time, so a re-run skips finished points."""
    return create_run_dir(cfg["Output"]["dir"], f"sweep-{cfg['Sweep']['name']}", timestamp=False)


def sweep_folder(path: str | Path) -> Path:
    """The folder the sweep file at ``path`` runs into (ConfigError if the file is bad)."""
    cfg = validate(load_yaml(path), SCHEMA, str(path))
    check(cfg, str(path))
    return Path(cfg["Output"]["dir"]) / f"sweep-{cfg['Sweep']['name']}"


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Run the sweep of a checked config into ``run_dir``; returns its summary."""
    spec = cfg["Sweep"]
    executor = spec["executor"] or ("dask" if spec["scheduler"] else "local")
    rows = run_sweep(sweep_of(cfg, str(run_dir)), run_dir, spec["workers"], executor, spec["scheduler"], log)
    counts = {status: sum(r["status"] == status for r in rows) for status in ("completed", "diverged", "failed")}
    return {"status": "failed" if counts["failed"] else "completed", "points": len(rows), **counts,
            "results": str(run_dir / "results.csv")}


def _format_value(value) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def expand_grid(grid: dict, where: str = "sweep") -> list[dict]:
    """``{'a': [1, 2], 'b': [3]}`` -> ``[{'a': 1, 'b': 3}, {'a': 2, 'b': 3}]`` (in file order)."""
    if not grid:
        raise ConfigError(f"{where}: Sweep.grid is empty; give at least one key with a list of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: Sweep.grid.{key} must be a non-empty list of values; got {values!r}")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def point_label(point: dict) -> str:
    """Short legend label, e.g. ``learning_rate=0.1, reg=0.001``."""
    return ", ".join(f"{k.split('.')[-1]}={_format_value(v)}" for k, v in point.items())


def point_id(resolved_cfg: dict) -> str:
    """A stable 10-hex-digit hash of a resolved config (ignoring Output): identifies a point."""
    relevant = {k: v for k, v in resolved_cfg.items() if k != "Output"}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:10]


def resolve_point(base_cfg: dict, point: dict, where: str) -> dict:
    from minidl.runs.job_config import resolve
    return resolve(apply_overrides(base_cfg, as_overrides(point), source=f"{where}: grid point"), where=f"{where} [{point_label(point)}]")


def _slug(point: dict) -> str:
    text = "_".join(f"{k.split('.')[-1]}{_format_value(v)}" for k, v in point.items())
    return "".join(c if c.isalnum() or c in ".-_" else "-" for c in text)[:60]


# test_acc is the test accuracy of the model of epoch model_epoch: the best validation epoch's,
# or with no validation split the last epoch's (then best_val_acc and best_epoch are empty)
RESULT_FIELDS = ["status", "best_val_acc", "best_epoch", "test_acc", "model_epoch", "epochs_completed", "wall_time_s"]


def _write_csv(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    fields = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _write_results(sweep_dir: Path, rows: list[dict]) -> None:
    _write_csv(sweep_dir / "results.csv", rows)


def aggregate_over_seeds(rows: list[dict], metrics=("test_acc", "best_val_acc")) -> list[dict]:
    """Group ``results.csv`` rows by every grid key except ``Train.seed``; mean, std and n of ``metrics``.

    Only completed points count.  Rows keep the order in which each value first appears.
    """
    import statistics
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        keys = tuple((k, v) for k, v in row.items() if "." in k and k != SEED_KEY)
        groups.setdefault(keys, []).append(row)
    out = []
    for keys, members in groups.items():
        done = [r for r in members if r["status"] == "completed"]
        entry = dict(keys)
        for metric in metrics:
            values = [float(r[metric]) for r in done if r.get(metric) not in (None, "")]
            entry[f"{metric}_mean"] = round(statistics.fmean(values), 4) if values else ""
            entry[f"{metric}_std"] = round(statistics.stdev(values), 4) if len(values) > 1 else ""
        entry["n_seeds"] = len(done)
        out.append(entry)
    return out


def run_sweep(sweep: Sweep, sweep_dir: Path, workers: int | None = None, executor: str = "local",
              scheduler: str | None = None, log=print) -> list[dict]:
    """Run every point of ``sweep`` into ``sweep_dir``; returns the result rows, one per point, in grid order.

    ``executor`` says where the points run (see ``minidl.runs.executors``): ``'local'``,
    a pool of ``workers`` processes (default: all cores), or ``'dask'``, the Dask
    cluster at ``scheduler`` (``'tls://host:8786'``, with this client's certificates
    in Dask's configuration: ``minidl.runs.dask_tls``), or without one a LocalCluster
    of ``workers`` processes.  Either way the points are recorded here, on the
    client, as they finish: the point's run folder and ``curves.png``, and
    ``results.csv`` rewritten; the comparison figure is drawn at the end.
    """
    cfgs = [resolve_point(sweep.base_cfg, p, sweep.name) for p in sweep.points]   # all errors before any work
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    folders = [sweep_dir / f"{_slug(p)}-{point_id(c)}" for p, c in zip(sweep.points, cfgs)]
    results: list[dict | None] = [_finished(folder) for folder in folders]
    todo = [i for i, summary in enumerate(results) if summary is None]
    total = len(cfgs)
    log(f"sweep {sweep.name}: {total} points, {total - len(todo)} already done, folder {sweep_dir}")
    t0 = time.perf_counter()

    def record(i: int, summary: dict) -> None:
        """A point has finished and its folder is on disk: draw its curves, log it, rewrite results.csv."""
        phase("recording a finished point")
        results[i] = summary
        _plot_point(folders[i], cfgs[i])
        done = sum(r is not None for r in results)
        acc = summary.get("test_acc")
        tail = f"test acc {acc:.4f}" if isinstance(acc, float) else summary.get("error", summary.get("message", ""))
        log(f"[{done}/{total}] {point_label(sweep.points[i])}: {summary['status']} {tail}  "
            f"({time.perf_counter() - t0:.0f} s)")
        _write_results(sweep_dir, _rows(sweep, folders, results))
        raise_if_interrupted(summary, f"sweep stopped after {done} of {total} points")   # a point ran here

    if todo:
        n_workers = min(workers or os.cpu_count() or 1, len(todo))
        with make_executor(executor, n_workers, scheduler) as runner:
            log(f"running {len(todo)} points on {runner.describe()}")
            for i, summary in runner.run([(i, cfgs[i], folders[i]) for i in todo]):
                record(i, summary)
    rows = _rows(sweep, folders, results)
    _write_results(sweep_dir, rows)
    phase("drawing the comparison")
    _write_comparison(sweep, sweep_dir, folders, rows, log)
    log(f"sweep finished in {time.perf_counter() - t0:.1f} s: {sweep_dir / 'results.csv'}, {sweep_dir / 'comparison.png'}")
    return rows


def _finished(folder: Path) -> dict | None:
    """The summary of a point that an earlier run finished (completed or diverged), else None."""
    summary_path = folder / "summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        if summary.get("status") in ("completed", "diverged"):
            return summary
    return None


def _metrics(folder: Path) -> list[dict]:
    path = folder / "metrics.csv"
    return read_metrics(path) if path.is_file() and path.stat().st_size else []


def _plot_point(folder: Path, cfg: dict) -> None:
    """``curves.png`` of one point, drawn here on the client (workers draw nothing)."""
    from minidl.runs.job import plot_run
    rows = _metrics(folder)
    if rows:
        plot_run(folder, cfg, rows)


def _write_comparison(sweep: Sweep, sweep_dir: Path, folders: list[Path], rows: list[dict], log) -> None:
    """``comparison.png`` (mean curve per value when there is a seed axis) and ``results_by_value.csv``."""
    from minidl import plots
    from minidl.plots.training import mean_curve, metric_label, plot_accuracy_and_error, plot_comparison
    curves: dict[str, list[list[dict]]] = {}
    for point, folder in zip(sweep.points, folders):
        label = point_label({k: v for k, v in point.items() if k != SEED_KEY}) or "all"
        curves.setdefault(label, []).append(_metrics(folder))
    n_seeds = len({p[SEED_KEY] for p in sweep.points}) if SEED_KEY in sweep.points[0] else 1
    if n_seeds > 1:
        by_value = aggregate_over_seeds(rows)
        _write_csv(sweep_dir / "results_by_value.csv", by_value)
        for row in by_value:
            log("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
    metric = sweep.metric
    title = f"sweep {sweep.name}: {metric_label(metric)} per epoch"
    if n_seeds > 1:
        title += f" (mean over {n_seeds} seeds)"
    means = {label: mean_curve(runs, metric) for label, runs in curves.items()}
    if metric.endswith("_acc"):        # the error on a log axis tells rates apart near 1; the best is marked
        fig = plot_accuracy_and_error(means, key=metric, title=title, mark_best=len(means) > 1)
    else:
        fig = plot_comparison(means, key=metric, ylabel=metric_label(metric), title=title)
    plots.save(fig, sweep_dir / "comparison.png")


def _rows(sweep: Sweep, folders: list[Path], results: list) -> list[dict]:
    rows = []
    for point, folder, summary in zip(sweep.points, folders, results):
        if summary is None:
            continue
        row = {k: _format_value(v) for k, v in point.items()}
        row.update({k: summary.get(k, "") for k in RESULT_FIELDS})
        row["error"] = summary.get("error", summary.get("message", ""))
        row["run_dir"] = str(folder)
        rows.append(row)
    return rows
