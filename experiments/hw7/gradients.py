"""Vanishing gradients in a deep sigmoid net, and the ReLU + Kaiming cure (issue 5, Problem 3).

Trains the two deep networks of Problem 3, (a) eight sigmoid hidden layers
with Xavier weights and (b) the same depth with ReLU and Kaiming-uniform
(fan_out) weights, each with ``Train.grad_stats: true``, so that every
epoch's metrics row carries the mean gradient norm of every weight matrix and
the gradient ratio ``||dL/dW_first|| / ||dL/dW_last||`` (``minidl.training.callbacks.GradientStats``).
It can instead read two finished run folders (``Study.from_runs``).

Run::

    python -m experiments.hw7.gradients configs/hw7/gradients.yaml
    python -m experiments.hw7.gradients configs/hw7/gradients.yaml --set Study.set.Train.epochs=3
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
      set: {}                        # overrides of every training config, e.g. {Train.epochs: 3}
      from_runs: null                # or {label: finished run folder}: read these instead of training
      reference: null                # optional finished run folder (e.g. the shallow 2(a) net) whose
                                     # final test accuracy is drawn on the accuracy panels
    Output: {dir: runs, name: null}
"""
from __future__ import annotations

from pathlib import Path

from minidl.runs.cli import main
from minidl.runs.config import ConfigError, Key
from minidl.runs.folder import read_metrics
from minidl.runs.study_grid import resume_by_rerun
from minidl.runs.study_runs import (RUNS_SCHEMA, check_runs, data_sections, require_metrics, training_configs,
                                    train_or_read)

SCHEMA = {
    "Study": {
        **RUNS_SCHEMA,
        "reference": Key((str, type(None)), None, doc="run folder whose final test accuracy is drawn"),
    },
}

LABELS = {"sigmoid": "sigmoid + Xavier", "relu": "ReLU + Kaiming"}


def check(cfg: dict, where: str) -> None:
    """Every training config resolves and logs gradient statistics; every folder named holds metrics."""
    check_runs(cfg, where)
    study = cfg["Study"]
    for label, train in training_configs(cfg).items():
        if not train["Train"]["grad_stats"]:
            raise ConfigError(f"{study['runs'][label]}: Train.grad_stats must be true for the gradient study")
    if study["reference"] is not None:
        require_metrics(study["reference"], f"{where}: Study.reference")


def _final_acc(rows: list[dict]) -> float:
    key = "test_acc" if "test_acc" in rows[-1] else "val_acc"
    return float(rows[-1][key])


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Train (or read) every run, draw the figures; returns the summary."""
    folders = train_or_read(cfg, run_dir, log)
    metrics = {label: read_metrics(folder / "metrics.csv") for label, folder in folders.items()}
    empty = [label for label, rows in metrics.items() if not rows]
    if empty:
        raise ValueError(f"no finished epoch in the run(s) {empty}; nothing to plot")
    reference = None
    if cfg["Study"]["reference"] is not None:
        ref_rows = read_metrics(Path(cfg["Study"]["reference"]) / "metrics.csv")
        reference = (f"shallow net, epoch {int(ref_rows[-1]['epoch'])}", _final_acc(ref_rows))
    _plot(cfg, metrics, reference, run_dir)
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
        summary["reference"] = {"run_dir": cfg["Study"]["reference"], "final_acc": reference[1]}
    return summary


def _plot(cfg: dict, metrics: dict, reference, run_dir: Path) -> None:
    """gradients.png (per-layer profiles and accuracy) and grad_ratio.png."""
    from minidl import plots
    from minidl.plots.gradients import plot_gradient_profiles
    from minidl.plots.training import plot_comparison
    pretty = {LABELS.get(label, label): rows for label, rows in metrics.items()}
    depth = max(len([k for k in rows[0] if k.startswith("grad_norm_")]) for rows in metrics.values())
    train = training_configs(cfg)[next(iter(metrics))]["Train"]
    fig = plot_gradient_profiles(pretty, title=f"MLP with {depth} weight layers (8 hidden of 30), SGD Nesterov, "
                                                f"lr {train['learning_rate']:g}, batch {train['batch_size']}",
                                 reference=reference)
    plots.save(fig, run_dir / "gradients.png")
    fig = plot_comparison(pretty, key="grad_ratio", ylabel="||dL/dW_1|| / ||dL/dW_L||, mean over batches", logy=True,
                          title="gradient ratio, first / last weight layer (log scale)")
    plots.save(fig, run_dir / "grad_ratio.png")


resume = resume_by_rerun(run)     # --resume RUN_DIR: completed networks kept, an interrupted one continued

__all__ = ["SCHEMA", "check", "data_sections", "run", "resume"]

if __name__ == "__main__":
    raise SystemExit(main(__name__))
