"""Vanishing gradients in a deep sigmoid net, and the ReLU + Kaiming cure (issue 5, Problem 3).

Trains the two deep networks of Problem 3, (a) eight sigmoid hidden layers
with Xavier weights and (b) the same depth with ReLU and Kaiming-uniform
(fan_out) weights, each with ``Train.grad_stats: true``, so that every
epoch's metrics row carries the mean gradient norm of every weight matrix and
the gradient ratio ``||dL/dW_first|| / ||dL/dW_last||`` (``minidl.hooks.GradientStats``).
It can instead read two finished run folders (``Study.from_runs``).

Run::

    python -m experiments.hw7.gradients configs/hw7/gradients.yaml
    python -m experiments.hw7.gradients configs/hw7/gradients.yaml --train-set Train.epochs=3
    python -m experiments.hw7.gradients configs/hw7/gradients.yaml \\
        --set Study.from_runs.sigmoid=runs/3a_deep_sigmoid-... --set Study.from_runs.relu=runs/3b_deep_relu-...

Writes ``runs/<name>-<time>/``: one training run folder per network (when it
trains them), ``gradients.png`` (per-layer gradient-norm profile after the
first and the last epoch, and accuracy per epoch, side by side),
``grad_ratio.png`` (the ratio per epoch, log axis) and ``summary.json``.

Config::

    Study:
      runs:                          # label -> training config (relative to this file)
        sigmoid: 3a_deep_sigmoid.yaml
        relu: 3b_deep_relu.yaml
      from_runs: null                # or {label: finished run folder}: read these instead of training
      reference: null                # optional finished run folder (e.g. the shallow 2(a) net) whose
                                     # final test accuracy is drawn on the accuracy panels
    Output: {dir: runs, name: null}
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from minidl.runs.config import REQUIRED, ConfigError, Key, apply_overrides, load_yaml, validate
from minidl.runs.folder import create_run_dir, read_metrics, write_config, write_summary

SCHEMA = {
    "Study": {
        "runs": Key(dict, REQUIRED, doc="label -> training config, relative to this file"),
        "from_runs": Key((dict, type(None)), None, doc="label -> finished run folder; skips training"),
        "reference": Key((str, type(None)), None, doc="run folder whose final test accuracy is drawn"),
    },
    "Output": {
        "dir": Key(str, "runs"),
        "name": Key((str, type(None)), None),
    },
}

LABELS = {"sigmoid": "sigmoid + Xavier", "relu": "ReLU + Kaiming"}


def load_study(path: str | Path, overrides=(), train_overrides=()) -> dict:
    """Validate the study file and every training config it names (ConfigError before any work)."""
    from minidl.runs.job_config import resolve
    path = Path(path)
    cfg = validate(apply_overrides(load_yaml(path), overrides), SCHEMA, str(path))
    study = cfg["Study"]
    if not study["runs"]:
        raise ConfigError(f"{path}: Study.runs is empty; name at least one training config")
    train_cfgs = {}
    for label, rel in study["runs"].items():
        if not isinstance(rel, str):
            raise ConfigError(f"{path}: Study.runs.{label} must be a config file name; got {rel!r}")
        cfg_path = path.parent / rel if not Path(rel).is_absolute() else Path(rel)
        train = resolve(apply_overrides(load_yaml(cfg_path), train_overrides), where=str(cfg_path))
        if not train["Train"]["grad_stats"]:
            raise ConfigError(f"{cfg_path}: Train.grad_stats must be true for the gradient study")
        train_cfgs[label] = train
    if study["from_runs"] is not None:
        missing = set(study["runs"]) - set(study["from_runs"])
        if missing:
            raise ConfigError(f"{path}: Study.from_runs lacks {sorted(missing)}; give a run folder for every label "
                              f"of Study.runs ({sorted(study['runs'])})")
        for label, folder in study["from_runs"].items():
            if not (Path(str(folder)) / "metrics.csv").is_file():
                raise ConfigError(f"{path}: Study.from_runs.{label}: no metrics.csv in {folder}")
    if study["reference"] is not None and not (Path(study["reference"]) / "metrics.csv").is_file():
        raise ConfigError(f"{path}: Study.reference: no metrics.csv in {study['reference']}")
    cfg["train_cfgs"] = train_cfgs
    return cfg


def _final_acc(rows: list[dict]) -> float:
    key = "test_acc" if "test_acc" in rows[-1] else "val_acc"
    return float(rows[-1][key])


def run_study(cfg: dict, run_dir: Path, log=print) -> dict:
    """Train (or read) every run, draw the figures, write summary.json.  Returns the summary."""
    from minidl.runs.job import run_training
    from minidl.plots.gradients import plot_gradient_profiles
    from minidl.plots.training import plot_comparison

    start = time.perf_counter()
    study = cfg["Study"]
    write_config(run_dir, {k: v for k, v in cfg.items() if k != "train_cfgs"})
    folders = {}
    for label, train_cfg in cfg["train_cfgs"].items():
        if study["from_runs"] is not None:
            folders[label] = Path(study["from_runs"][label])
            log(f"{label}: reading {folders[label]}")
            continue
        folders[label] = run_dir / label
        folders[label].mkdir()
        summary = run_training(train_cfg, folders[label], log=log)
        if summary["status"] != "completed":
            log(f"{label}: {summary['status']} ({summary.get('message', '')}); plotting the epochs it finished")
    metrics = {label: read_metrics(folder / "metrics.csv") for label, folder in folders.items()}
    empty = [label for label, rows in metrics.items() if not rows]
    if empty:
        raise ValueError(f"no finished epoch in the run(s) {empty}; nothing to plot")
    reference = None
    if study["reference"] is not None:
        ref_rows = read_metrics(Path(study["reference"]) / "metrics.csv")
        reference = (f"shallow net, epoch {int(ref_rows[-1]['epoch'])}", _final_acc(ref_rows))
    pretty = {label: LABELS.get(label, label) for label in metrics}
    depth = {label: len([k for k in rows[0] if k.startswith("grad_norm_")]) for label, rows in metrics.items()}
    plot_gradient_profiles({pretty[k]: v for k, v in metrics.items()}, run_dir / "gradients.png",
                           title=f"MLP with {max(depth.values())} weight layers (8 hidden of 30), SGD Nesterov, "
                                 f"lr {cfg['train_cfgs'][next(iter(metrics))]['Train']['learning_rate']:g}, batch "
                                 f"{cfg['train_cfgs'][next(iter(metrics))]['Train']['batch_size']}",
                           reference=reference)
    plot_comparison({pretty[k]: v for k, v in metrics.items()}, run_dir / "grad_ratio.png", key="grad_ratio",
                    ylabel="||dL/dW_1|| / ||dL/dW_L||, mean over batches", logy=True,
                    title="gradient ratio, first / last weight layer (log scale)")
    summary = {"runs": {}}
    for label, rows in metrics.items():
        ratios = [float(r["grad_ratio"]) for r in rows]
        summary["runs"][label] = {
            "run_dir": str(folders[label]), "epochs": len(rows), "final_acc": _final_acc(rows),
            "best_acc": max(float(r.get("test_acc", r.get("val_acc"))) for r in rows),
            "grad_ratio_first_epoch": ratios[0], "grad_ratio_last_epoch": ratios[-1],
            "grad_ratio_min": min(ratios), "grad_ratio_max": max(ratios),
        }
        log(f"{label}: final accuracy {summary['runs'][label]['final_acc']:.4f}, gradient ratio "
            f"{ratios[0]:.3g} (epoch 1) -> {ratios[-1]:.3g} (epoch {len(rows)})")
    if reference is not None:
        summary["reference"] = {"run_dir": study["reference"], "final_acc": reference[1]}
    summary["wall_time_s"] = round(time.perf_counter() - start, 2)
    write_summary(run_dir, summary)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.hw7.gradients", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="study YAML, e.g. configs/hw7/gradients.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the study file, e.g. --set Study.reference=runs/2a_sgd-...")
    parser.add_argument("--train-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of every training config, e.g. --train-set Train.epochs=3")
    args = parser.parse_args(argv)
    try:
        cfg = load_study(args.config, args.set, args.train_set)
        run_dir = create_run_dir(cfg["Output"]["dir"], cfg["Output"]["name"] or Path(args.config).stem)
        run_study(cfg, run_dir)
    except ValueError as exc:          # ConfigError, DataError and bad run folders are all ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"run folder: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
