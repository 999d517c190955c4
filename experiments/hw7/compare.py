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

import argparse
import csv
import sys
import time
from pathlib import Path

from minidl.runs.cli import OUTPUT_SCHEMA
from minidl.runs.config import REQUIRED, ConfigError, Key, apply_overrides, load_yaml, validate
from minidl.runs.folder import create_run_dir, read_metrics, write_config, write_summary

SCHEMA = {
    "Compare": {
        "sweeps": Key(dict, REQUIRED, doc="legend label -> sweep file, relative to this file"),
        "metric": Key(str, "test_acc"),
        "select": Key(str, "last", choices=["last", "max"]),
        "runs": Key((dict, type(None)), None, doc="extra legend label -> finished run folder"),
    },
    "Output": OUTPUT_SCHEMA,
}


def load_compare(path: str | Path, overrides=()) -> dict:
    """Validate the comparison file; locate each sweep's folder (ConfigError if not run yet)."""
    from minidl.runs.sweep_runner import load_sweep
    path = Path(path)
    cfg = validate(apply_overrides(load_yaml(path), overrides), SCHEMA, str(path))
    folders = {}
    for label, rel in cfg["Compare"]["sweeps"].items():
        sweep_path = path.parent / str(rel)
        sweep = load_sweep(sweep_path)
        folder = Path(sweep["output_dir"]) / f"sweep-{sweep['name']}"
        if not (folder / "results.csv").is_file():
            raise ConfigError(f"{path}: Compare.sweeps.{label}: no results in {folder}; run it first: "
                              f"python -m experiments.sweep {sweep_path}")
        folders[label] = folder
    for label, folder in (cfg["Compare"]["runs"] or {}).items():
        if not (Path(str(folder)) / "metrics.csv").is_file():
            raise ConfigError(f"{path}: Compare.runs.{label}: no metrics.csv in {folder}")
    cfg["sweep_folders"] = folders
    return cfg


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


def run_compare(cfg: dict, run_dir: Path, log=print) -> dict:
    from minidl.plots.training import metric_label, plot_comparison
    start = time.perf_counter()
    spec = cfg["Compare"]
    metric, select = spec["metric"], spec["select"]
    write_config(run_dir, {k: v for k, v in cfg.items() if k != "sweep_folders"})
    curves, summary = {}, {"metric": metric, "select": select, "sweeps": {}, "runs": {}}
    for label, folder in cfg["sweep_folders"].items():
        points = read_sweep(folder, metric, select)
        # a diverged run's last epoch is from before it blew up: it cannot be the best rate
        ranked = [p for p in points if p["status"] == "completed" and p["score"] is not None]
        if not ranked:
            raise ValueError(f"sweep {folder} has no completed point with a {metric} column")
        best = max(ranked, key=lambda p: p["score"])
        values = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in best["grid"].items())
        curves[f"{label}: best {values}"] = best["rows"]
        summary["sweeps"][label] = {
            "folder": str(folder), "best": best["grid"], "best_score": best["score"],
            "points": [{**p["grid"], "status": p["status"], "epochs": p["epochs"], f"{metric}_{select}": p["score"],
                        f"{metric}_max": score(p["rows"], metric, "max")} for p in points]}
        log(f"{label} ({folder}):")
        for p in points:
            mark = "  <- best" if p is best else ""
            shown = "-" if p["score"] is None else f"{p['score']:.4f}"
            log(f"  {', '.join(f'{k}={v}' for k, v in p['grid'].items())}: {p['status']}, "
                f"{p['epochs']} epochs, {metric} ({select}) {shown}{mark}")
    for label, folder in (spec["runs"] or {}).items():
        rows = read_metrics(Path(folder) / "metrics.csv")
        curves[label] = rows
        summary["runs"][label] = {"run_dir": str(folder), f"{metric}_{select}": score(rows, metric, select)}
    plot_comparison(curves, run_dir / "comparison.png", key=metric, ylabel=metric_label(metric),
                    title=f"best learning rate of each optimizer: {metric_label(metric)} per epoch")
    summary["wall_time_s"] = round(time.perf_counter() - start, 2)
    write_summary(run_dir, summary)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.hw7.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="comparison YAML, e.g. configs/hw7/compare.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key, e.g. --set Compare.select=max")
    args = parser.parse_args(argv)
    try:
        cfg = load_compare(args.config, args.set)
        run_dir = create_run_dir(cfg["Output"]["dir"], cfg["Output"]["name"] or Path(args.config).stem)
        run_compare(cfg, run_dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"run folder: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
