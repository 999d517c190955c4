"""Visualise the optimization process in weight space (NTU MLDS 2018 HW1-2.1).

The same small MNIST network is trained ``Study.runs`` times from different
seeds (different initialisations and batch orders).  Every ``Train.every``
epochs (and at the start) each run's full parameter vector and its first
layer's parameters (``0.W``, ``0.b``) are collected.  All snapshots of all
runs are projected *jointly* to 2-D with PCA (``minidl.analysis.pca_2d``), so
the runs share one set of axes.

    python -m experiments.mlds.weight_pca configs/mlds/weight_pca.yaml

Writes config.yaml, ``pca_whole_model.png`` and ``pca_layer1.png`` (one colour
per run, each point annotated with the training accuracy in %, in epoch order)
and summary.json.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from minidl.layers import ACTIVATIONS
from minidl.runs.cli import main
from minidl.runs.config import Key, layer_sizes, positive, positive_int

SCHEMA = {
    "Data": {"dir": Key((str, type(None)), None, doc="MNIST folder; null: the data home, or ./data"),
             "subset": Key(int, 1000, positive_int, doc="the first N training images")},
    "Model": {"sizes": Key(list, [784, 128, 128, 10], layer_sizes),
              "activation": Key(str, "relu", choices=sorted(ACTIVATIONS))},
    "Train": {"epochs": Key(int, 30, positive_int), "batch_size": Key(int, 200, positive_int),
              "learning_rate": Key(float, 1e-3, positive, doc="Adam"),
              "every": Key(int, 3, positive_int, doc="collect parameters every this many epochs")},
    "Study": {"runs": Key(int, 8, positive_int), "first_seed": Key(int, 0), "workers": Key(int, 2, positive_int)},
}


class Snapshots:
    """A ``Trainer.fit`` callback: at the start and every ``every`` epochs, the whole parameter
    vector, the first layer's, and the accuracy on (X, y)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, every: int):
        self.X, self.y, self.every = X, y, every
        self.epochs, self.whole, self.layer1, self.accs = [], [], [], []

    def take(self, trainer, epoch: int) -> None:
        from minidl.analysis import flatten_params
        self.epochs.append(epoch)
        self.whole.append(flatten_params(trainer.model))
        self.layer1.append(flatten_params(trainer.model.linear_layers()[0]))
        self.accs.append(trainer.evaluate(self.X, self.y)["acc"])

    def begin(self, trainer) -> None:
        self.take(trainer, 0)

    def end_round(self, trainer, row: dict) -> None:
        if row["epoch"] % self.every == 0:
            self.take(trainer, row["epoch"])


def train_one(seed: int, cfg: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """One run; returns {'epochs', 'whole' (S, P), 'layer1' (S, P1), 'train_acc' (S,), 'final', ...}."""
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.models import MLP
    from minidl.optim import Adam
    from minidl.training import Trainer

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    model = MLP(cfg["Model"]["sizes"], activation=cfg["Model"]["activation"], rng=rng)
    train = cfg["Train"]
    trainer = Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=train["learning_rate"]),
                      batch_size=train["batch_size"], rng=rng)
    snapshots = Snapshots(X, y, train["every"])
    trainer.fit(X, y, epochs=train["epochs"], callbacks=[snapshots])
    return {"seed": seed, "epochs": np.array(snapshots.epochs), "whole": np.array(snapshots.whole),
            "layer1": np.array(snapshots.layer1), "train_acc": np.array(snapshots.accs),
            "wall_time_s": time.perf_counter() - start}


def run(cfg: dict, run_dir: Path, data=None, log=print) -> dict:
    """Train every seed, project the snapshots, draw both figures.  ``data`` = (X, y, X_test, y_test) or None."""
    from minidl.data import load_train_test
    from minidl.runs.executors import pinned_process_pool

    X, y, X_test, y_test = data if data is not None else load_train_test(cfg["Data"]["dir"], cfg["Data"]["subset"])
    study = cfg["Study"]
    seeds = list(range(study["first_seed"], study["first_seed"] + study["runs"]))
    if study["workers"] > 1 and len(seeds) > 1:
        with pinned_process_pool(min(study["workers"], len(seeds))) as pool:
            runs = list(pool.map(train_one, seeds, [cfg] * len(seeds), [X] * len(seeds), [y] * len(seeds)))
    else:
        runs = [train_one(s, cfg, X, y) for s in seeds]
    _test_accuracies(cfg, runs, X_test, y_test, log)
    train = cfg["Train"]
    setting = (f"MLP {cfg['Model']['sizes']} ({cfg['Model']['activation']}), {len(X)} MNIST training images, "
               f"batch {train['batch_size']}, Adam lr {train['learning_rate']:g}, {train['epochs']} epochs")
    explained = _project_and_plot(runs, train["every"], setting, run_dir)
    log(f"explained variance (PC1, PC2): whole {explained['whole']}, layer 1 {explained['layer1']}")
    return {
        "study": "NTU MLDS 2018 HW1-2.1 weight-space PCA",
        "setting": setting,
        "parameters": {"whole": int(runs[0]["whole"].shape[1]), "layer1": int(runs[0]["layer1"].shape[1])},
        "snapshots_per_run": len(runs[0]["epochs"]),
        "explained_variance_ratio": explained,
        "runs": [{"seed": r["seed"], "final_train_acc": float(r["train_acc"][-1]), "test_acc": r["test_acc"],
                  "wall_time_s": round(r["wall_time_s"], 2)} for r in runs],
    }


def _test_accuracies(cfg: dict, runs: list[dict], X_test, y_test, log) -> None:
    """Each run's final test accuracy, into ``runs[i]['test_acc']``."""
    from minidl.analysis import unflatten_params
    from minidl.models import MLP
    from minidl.training import accuracy
    model = MLP(cfg["Model"]["sizes"], activation=cfg["Model"]["activation"])
    for r in runs:
        unflatten_params(model, r["whole"][-1])
        r["test_acc"] = accuracy(model.forward(X_test), y_test)
        log(f"seed {r['seed']}: train acc {r['train_acc'][-1]:.3f}, test acc {r['test_acc']:.4f} "
            f"({r['wall_time_s']:.1f} s)")


def _project_and_plot(runs: list[dict], every: int, setting: str, run_dir: Path) -> dict:
    """Joint PCA of all snapshots (and of their displacements), both figures; the explained variances."""
    from minidl import plots
    from minidl.analysis import pca_2d
    from minidl.plots.analysis import plot_weight_pca
    run_ids = np.concatenate([np.full(len(r["epochs"]), r["seed"]) for r in runs])
    epochs = np.concatenate([r["epochs"] for r in runs])
    accs = np.concatenate([r["train_acc"] for r in runs])
    explained = {}
    for key, what, fname in (("whole", "whole model", "pca_whole_model.png"),
                             ("layer1", "layer 1 (0.W, 0.b)", "pca_layer1.png")):
        pca = pca_2d(np.concatenate([r[key] for r in runs]))
        moves = pca_2d(np.concatenate([r[key] - r[key][0] for r in runs]))
        explained[key] = pca.explained_variance_ratio.tolist()
        explained[f"{key}_displacement"] = moves.explained_variance_ratio.tolist()
        title = (f"{len(runs)} runs: PCA of the {what} parameters every {every} epochs "
                 f"(training accuracy in %)\n{setting}")
        plots.save(plot_weight_pca(pca.projections, run_ids, accs, epochs, pca.explained_variance_ratio, title,
                                   moves=(moves.projections, moves.explained_variance_ratio)), run_dir / fname)
    return explained


if __name__ == "__main__":
    raise SystemExit(main(__name__))
