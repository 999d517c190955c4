"""Train a few MNIST networks for a study, through the sweep runner, and load them back.

The generalization studies (parameter count, interpolation, batch size) each
train a handful of networks that differ in one or two settings.  Their configs
hold a main-job training config and the settings that vary::

    Training:                    # a config for experiments.train, as in configs/config_exp.yaml
      Model: {type: MLP, sizes: [784, 64, 64, 10], activation: relu}
      Train: {optimizer: adam, learning_rate: 1.0e-3, epochs: 10, seed: 0}
      Data:  {val_fraction: 0, subset: 10000}
    Grid:                        # dotted keys of Training -> values; every combination is trained
      Train.batch_size: [16, 64, 256, 1024, 4096]

``train_grid`` hands the points to ``minidl.runs.sweep_runner.run_sweep``, which trains
them in parallel worker processes (one BLAS thread each) into
``<run folder>/sweep-models/``.  Every point is a complete main-job run
folder: config.yaml, metrics.csv, curves.png, last.npz.  So the training of
every model can be inspected, and nothing here is a second training loop.
``load_model`` rebuilds a trained network from its folder.

``--resume RUN_DIR`` runs a study again into its folder (``resume_by_rerun``):
the sweep runner skips the models that finished, and trains the others.

Every point's config is resolved (validated) before any training starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minidl.runs.config import REQUIRED, ConfigError, Key

__all__ = ["GRID_SCHEMA", "TRAINING_KEY", "Trained", "IncompleteGrid", "resolve_points", "grid_check", "resume_by_rerun", "train_grid", "load_model", "load_splits",
           "train_test_metrics"]

TRAINING_KEY = Key(dict, REQUIRED, doc="a main-job training config (Model, Train, Data) shared by every model")
GRID_SCHEMA = {
    "Training": TRAINING_KEY,
    "Grid": Key(dict, REQUIRED, doc="{dotted key of Training: [values]}; one model per combination"),
}


class IncompleteGrid(ValueError):
    """Some models of a study did not finish training (diverged, interrupted or failed)."""


@dataclass
class Trained:
    """One trained point: its overrides, resolved training config, run folder and summary.json."""
    point: dict
    cfg: dict
    folder: Path
    summary: dict


def resolve_points(training: dict, points: list[dict], where: str) -> list[dict]:
    """The resolved training config of every point (a ConfigError names the bad point now)."""
    from minidl.runs.sweep_runner import resolve_point
    if not points:
        raise ConfigError(f"{where}: the grid has no points")
    return [resolve_point(training, point, where) for point in points]


def grid_check(points_of):
    """A study's ``check``: every model's training config resolves, before the run folder exists.

    ``points_of(cfg, where) -> [point, ...]`` gives the study's grid.  An error
    names the file, the Training section and the point, e.g.
    ``configs/mlds/x.yaml (Training) [batch_size=16]: unknown key Train.learnig_rate``.
    """
    def check(cfg: dict, where: str) -> None:
        resolve_points(cfg["Training"], points_of(cfg, where), f"{where} (Training)")
    return check


def resume_by_rerun(run):
    """A grid study's ``resume``: ``run`` again into the same folder, where the models that
    finished are found and skipped, so only the unfinished ones train."""
    def resume(run_dir, cfg: dict, log=print) -> dict:
        log(f"{Path(run_dir).name}: resuming; the models that finished are kept")
        return run(cfg, Path(run_dir), log=log)
    resume.__doc__ = f"Continue {run.__module__}: the models that finished are kept, the others trained."
    return resume


def train_grid(training: dict, points: list[dict], run_dir: Path, workers: int, log=print) -> list[Trained]:
    """Train every point with the sweep runner; returns them in grid order.

    Raises IncompleteGrid if a point did not complete (diverged, interrupted or
    failed), naming it and its folder; the points that finished stay on disk.
    """
    import json

    from minidl.runs.sweep_runner import Sweep, point_label, run_sweep
    cfgs = resolve_points(training, points, str(run_dir))           # every error before any work
    sweep = Sweep("models", training, points, metric="test_acc")
    rows = run_sweep(sweep, Path(run_dir) / "sweep-models", workers=workers, log=log)   # grid order
    trained, problems = [], []
    for point, cfg, row in zip(points, cfgs, rows):
        folder = Path(row["run_dir"])
        summary = json.loads((folder / "summary.json").read_text())
        if summary.get("status") != "completed":
            problems.append(f"{point_label(point)}: {summary.get('status')} "
                            f"{summary.get('error') or summary.get('message') or ''} ({folder})")
        trained.append(Trained(point, cfg, folder, summary))
    if problems:
        raise IncompleteGrid(f"{run_dir}: {len(problems)} of {len(points)} models did not complete training, "
                          "and the study needs all of them:\n  " + "\n  ".join(problems))
    return trained


def load_model(trained: Trained):
    """The network of a trained point, with its final parameters (last.npz)."""
    from minidl.training.checkpoint import restore
    from minidl.runs.job_config import build_model
    model = build_model(trained.cfg, np.random.default_rng(0))     # the parameters are overwritten
    restore(trained.folder / "last.npz", model)
    return model


def load_splits(training_cfg: dict) -> dict:
    """``{'train': (X, y), 'test': (X, y)}`` exactly as the points trained and were evaluated on."""
    from minidl.runs.job import load_data
    data = load_data(training_cfg)
    return {"train": data["train"], "test": data["test"]}


def train_test_metrics(model, splits: dict) -> dict:
    """``{'train_loss', 'train_acc', 'test_loss', 'test_acc'}`` of ``model`` on ``load_splits``' two splits."""
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.training import evaluate
    loss, out = SoftmaxCrossEntropy(), {}
    for split in ("train", "test"):
        result = evaluate(model, loss, *splits[split])
        out[f"{split}_loss"], out[f"{split}_acc"] = result["loss"], result["acc"]
    return out
