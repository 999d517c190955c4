"""What convolutions buy, and what expanding the data buys (HW7 Problem 3(c) and 2(c)).

Trains (or reads) three networks on all 60,000 training images, each evaluated on
the test set after every epoch (``val_fraction: 0``, as the other hw7 runs):

- the LeNet-style CNN trained on randomly shifted, rotated and scaled digits (``cnn_augment.yaml``),
- the same CNN on the plain digits (``cnn.yaml``),
- the best MLP of Problem 3(c) (``3c_deep.yaml``),

Run::

    python -m experiments.hw7.convolutions configs/hw7/convolutions.yaml
    python -m experiments.hw7.convolutions configs/hw7/convolutions.yaml --set Study.set.Train.epochs=2
    python -m experiments.hw7.convolutions --resume runs/convolutions-<time>

Writes ``runs/convolutions-<time>/``: one training run folder per network,
``comparison.png`` (test accuracy per epoch, and the test error on a log axis),
``filters.png`` (the first convolution's filters as images), ``augmentation.png``
(test digits and what the augmentation makes of them) and ``summary.json``
(the last epoch's test accuracy, the epochs and the wall time of each network).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from minidl.runs.cli import main
from minidl.runs.folder import read_metrics
from minidl.runs.study_grid import resume_by_rerun
from minidl.runs.study_runs import RUNS_SCHEMA, check_runs, data_sections, training_configs, train_or_read

__all__ = ["SCHEMA", "check", "data_sections", "run", "resume"]

SCHEMA = {"Study": dict(RUNS_SCHEMA)}
check = check_runs


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Train (or read) every network, draw the three figures; returns the summary."""
    import json
    folders = train_or_read(cfg, run_dir, log)
    metrics = {label: read_metrics(folder / "metrics.csv") for label, folder in folders.items()}
    summary = {"runs": {}}
    for label, rows in metrics.items():
        run_summary = json.loads((folders[label] / "summary.json").read_text())
        key = "test_acc" if rows and "test_acc" in rows[-1] else "val_acc"
        summary["runs"][label] = {"run_dir": str(folders[label]), "status": run_summary.get("status"),
                                  "epochs": len(rows), f"last_epoch_{key}": float(rows[-1][key]) if rows else None,
                                  "wall_time_s": run_summary.get("wall_time_s")}
        log(f"{label}: {summary['runs'][label][f'last_epoch_{key}']} after {len(rows)} epochs, "
            f"{run_summary.get('wall_time_s')} s")
    _plot(cfg, folders, metrics, summary, run_dir)
    return summary


def _plot(cfg: dict, folders: dict, metrics: dict, summary: dict, run_dir: Path) -> None:
    from minidl import plots
    from minidl.plots.training import plot_accuracy_and_error
    configs = training_configs(cfg)
    subsets = {c["Data"]["subset"] for c in configs.values()}
    images = "all 60,000 images" if subsets == {None} else f"the first {'/'.join(map(str, subsets))} images"
    labels = {label: f"{label} ({_minutes(summary['runs'][label]['wall_time_s'])})" for label in metrics}
    fig = plot_accuracy_and_error({labels[k]: rows for k, rows in metrics.items()}, key=_key(metrics),
                                  title=f"MNIST, trained on {images}: convolutions against the best MLP")
    plots.save(fig, run_dir / "comparison.png")
    conv = next((label for label, c in configs.items() if c["Model"]["type"] == "Sequential"), None)
    if conv is not None:
        plots.save(_filters_figure(configs[conv], folders[conv], conv), run_dir / "filters.png")
    augmented = next((label for label, c in configs.items() if c["Data"]["augment"]), None)
    if augmented is not None:
        plots.save(_augmentation_figure(configs[augmented]), run_dir / "augmentation.png")


def _key(metrics: dict) -> str:
    first = next(rows for rows in metrics.values() if rows)
    return "test_acc" if "test_acc" in first[-1] else "val_acc"


def _minutes(seconds) -> str:
    return "time unknown" if seconds is None else f"{seconds / 60:.1f} min"


def _filters_figure(train_cfg: dict, folder: Path, label: str):
    """The first convolution's filters, each a kH x kW image (summed over input channels)."""
    from minidl.plots.nma import plot_weight_images
    from minidl.runs.study_grid import Trained, load_model
    model = load_model(Trained({}, train_cfg, folder, {}))
    weights = model.layers[0].W.data.sum(axis=1)                      # (O, kH, kW)
    o, kh, kw = weights.shape
    return plot_weight_images(weights.reshape(o, kh * kw).T, f"{label}: the {o} filters of the first "
                              f"convolution ({kh}x{kw}), after training", panel_titles=[f"filter {i}" for i in range(o)],
                              ncols=8, image_shape=(kh, kw))


def _augmentation_figure(train_cfg: dict, digits: int = 6, copies: int = 7):
    """Test digits (first column) and ``copies`` random distortions of each, as training sees them."""
    from minidl.data import load_mnist
    from minidl.data.augment import Augment
    from minidl.plots.images import plot_image_grid
    options = train_cfg["Data"]["augment"]
    X, y = load_mnist("test", train_cfg["Data"]["dir"])
    rows = [X[np.flatnonzero(y == d)[0]].reshape(1, 1, 28, 28) for d in range(digits)]
    rng = np.random.default_rng(0)
    grid = np.stack([np.concatenate([row[:, 0], Augment(**options)(np.repeat(row, copies, axis=0), rng)[:, 0]])
                     for row in rows])
    words = ", ".join(f"{k} {v}" for k, v in options.items())
    return plot_image_grid(grid, f"Data.augment ({words}): a test digit, then {copies} random distortions of it",
                           row_labels=[f"digit {d}" for d in range(digits)],
                           col_labels=["original"] + [f"augmented {i + 1}" for i in range(copies)])


resume = resume_by_rerun(run)     # --resume RUN_DIR: completed networks kept, an interrupted one continued

if __name__ == "__main__":
    raise SystemExit(main(__name__))
