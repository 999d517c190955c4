"""The best learning rate of each optimizer on one figure (issue 5, Problem 2(b)).

Reads finished learning-rate sweeps (``python -m experiments.sweep``), picks
in each the rate whose run has the highest test accuracy at its last epoch
(or, with ``select: max``, at its best epoch), and draws those best curves
together, with any extra finished runs (e.g. the tuned 2(c) config).

Run (after the sweeps)::

    python -m experiments.hw7.compare configs/hw7/compare.yaml
    python -m experiments.hw7.compare configs/hw7/compare.yaml --set Compare.runs.tuned=runs/2c_tuned-...

Writes ``runs/<name>-<time>/``: ``comparison.png``, ``summary.json`` (every
point of every sweep with its final and best accuracy, and the best rate per
sweep) and prints the same table.

Config::

    Compare:
      sweeps:                        # legend label -> sweep file (relative to this file)
        SGD (Nesterov 0.8): ../sweeps/hw7_sgd_lr.yaml
        Adam: ../sweeps/hw7_adam_lr.yaml
      metric: test_acc               # the metrics.csv column compared and drawn
      select: last                   # last: the metric at the last epoch; max: its best epoch
      runs: {}                       # extra legend label -> finished run folder
    Output: {dir: runs, name: null}
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from minidl.runs.cli import main
from minidl.runs.config import REQUIRED, ConfigError, Key
from minidl.runs.folder import read_metrics

SCHEMA = {
    "Compare": {
        "sweeps": Key(dict, REQUIRED, doc="legend label -> sweep file, relative to this file"),
        "metric": Key(str, "test_acc"),
        "select": Key(str, "last", choices=["last", "max"]),
        "runs": Key((dict, type(None)), None, doc="extra legend label -> finished run folder"),
    },
}


def check(cfg: dict, where: str) -> None:
    """Every sweep has run (ConfigError says how to run it if not), every extra run folder has metrics.

    The sweep files are rewritten relative to the working directory, as config.yaml records them.
    """
    from minidl.runs.sweep_runner import sweep_folder
    for label, rel in cfg["Compare"]["sweeps"].items():
        sweep_path = os.path.normpath(Path(where).parent / str(rel))
        folder = sweep_folder(sweep_path)
        if not (folder / "results.csv").is_file():
            raise ConfigError(f"{where}: Compare.sweeps.{label}: no results in {folder}; run it first: "
                              f"python -m experiments.sweep {sweep_path}")
        cfg["Compare"]["sweeps"][label] = sweep_path
    for label, folder in (cfg["Compare"]["runs"] or {}).items():
        if not (Path(str(folder)) / "metrics.csv").is_file():
            raise ConfigError(f"{where}: Compare.runs.{label}: no metrics.csv in {folder}")


def score(rows: list[dict], metric: str, select: str) -> float | None:
    """The metric at the last epoch (select 'last') or its maximum ('max'); None without rows."""
    values = [float(r[metric]) for r in rows if r.get(metric) not in (None, "")]
    if not values:
        return None
    return values[-1] if select == "last" else max(values)


def read_sweep(folder: Path, metric: str, select: str) -> list[dict]:
    """One entry per point of a finished sweep: its grid values, status, score and metrics rows."""
    with open(folder / "results.csv", newline="") as f:
        results = list(csv.DictReader(f))
    points = []
    for row in results:
        grid = {k: v for k, v in row.items() if "." in k}
        metrics_path = Path(row["run_dir"]) / "metrics.csv"
        rows = read_metrics(metrics_path) if metrics_path.is_file() and metrics_path.stat().st_size else []
        points.append({"grid": grid, "status": row["status"], "epochs": len(rows),
                       "score": score(rows, metric, select), "rows": rows})
    return points


def best_point(label: str, folder: Path, metric: str, select: str, log) -> tuple[dict, dict]:
    """The best point of one sweep, and the sweep's entry of summary.json; logs a table."""
    points = read_sweep(folder, metric, select)
    # a diverged run's last epoch is from before it blew up: it cannot be the best rate
    ranked = [p for p in points if p["status"] == "completed" and p["score"] is not None]
    if not ranked:
        raise ValueError(f"sweep {folder} has no completed point with a {metric} column")
    best = max(ranked, key=lambda p: p["score"])
    entry = {"folder": str(folder), "best": best["grid"], "best_score": best["score"],
             "points": [{**p["grid"], "status": p["status"], "epochs": p["epochs"], f"{metric}_{select}": p["score"],
                         f"{metric}_max": score(p["rows"], metric, "max")} for p in points]}
    log(f"{label} ({folder}):")
    for p in points:
        mark = "  <- best" if p is best else ""
        shown = "-" if p["score"] is None else f"{p['score']:.4f}"
        log(f"  {', '.join(f'{k}={v}' for k, v in p['grid'].items())}: {p['status']}, "
            f"{p['epochs']} epochs, {metric} ({select}) {shown}{mark}")
    return best, entry


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Pick the best point of each sweep, draw them (and the extra runs) on one figure; returns the summary."""
    from minidl import plots
    from minidl.plots.training import metric_label, plot_comparison
    from minidl.runs.sweep_runner import sweep_folder
    spec = cfg["Compare"]
    metric, select = spec["metric"], spec["select"]
    curves, summary = {}, {"metric": metric, "select": select, "sweeps": {}, "runs": {}}
    for label, sweep_path in spec["sweeps"].items():
        best, summary["sweeps"][label] = best_point(label, sweep_folder(sweep_path), metric, select, log)
        values = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in best["grid"].items())
        curves[f"{label}: best {values}"] = best["rows"]
    for label, folder in (spec["runs"] or {}).items():
        rows = read_metrics(Path(folder) / "metrics.csv")
        curves[label] = rows
        summary["runs"][label] = {"run_dir": str(folder), f"{metric}_{select}": score(rows, metric, select)}
    fig = plot_comparison(curves, key=metric, ylabel=metric_label(metric),
                          title=f"best learning rate of each optimizer: {metric_label(metric)} per epoch")
    plots.save(fig, run_dir / "comparison.png")
    return summary


if __name__ == "__main__":
    raise SystemExit(main(__name__))
