"""Visualise the optimization process in weight space (NTU MLDS 2018 HW1-2.1).

The same small MNIST network is trained ``Study.runs`` times from different
seeds (different initialisations and batch orders).  Every ``Train.every``
epochs (and at the start) each run's full parameter vector and its first
layer's parameters (``0.W``, ``0.b``) are collected.  All snapshots of all
runs are projected *jointly* to 2-D with PCA (``minidl.analysis.pca_2d``), so
the runs share one set of axes.

    python -m experiments.mlds.weight_pca configs/mlds/weight_pca.yaml
    MINIDL_DATA=/work/shared/data/mnist python -m experiments.mlds.weight_pca configs/mlds/weight_pca.yaml

Writes config.yaml, ``pca_whole_model.png`` and ``pca_layer1.png`` (one colour
per run, each point annotated with the training accuracy in %, in epoch order)
and summary.json.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from minidl.runs.config import Key, positive, positive_int
from minidl.layers import ACTIVATIONS
from minidl.runs.cli import OUTPUT_SCHEMA, cli, load_study_config, run_study
from minidl.runs.folder import write_summary


def _sizes(value):
    ok = (isinstance(value, list) and len(value) >= 2
          and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value))
    return None if ok else "layer sizes, e.g. [784, 128, 128, 10]"


SCHEMA = {
    "Data": {"dir": Key((str, type(None)), None, doc="MNIST folder; null: $MINIDL_DATA or data/"),
             "subset": Key(int, 1000, positive_int, doc="the first N training images")},
    "Model": {"sizes": Key(list, [784, 128, 128, 10], _sizes), "activation": Key(str, "relu", choices=sorted(ACTIVATIONS))},
    "Train": {"epochs": Key(int, 30, positive_int), "batch_size": Key(int, 200, positive_int),
              "learning_rate": Key(float, 1e-3, positive, doc="Adam"),
              "every": Key(int, 3, positive_int, doc="collect parameters every this many epochs")},
    "Study": {"runs": Key(int, 8, positive_int), "first_seed": Key(int, 0), "workers": Key(int, 2, positive_int)},
    "Output": OUTPUT_SCHEMA,
}


def load_mnist_subset(data_dir, n: int):
    """(X_train, y_train) = the first n training images, (X_test, y_test) = the 10,000 test images."""
    from minidl.data import load_mnist, subset
    X, y = load_mnist("train", data_dir)
    X, y = subset(X, y, n)
    X_test, y_test = load_mnist("test", data_dir)
    return X, y, X_test, y_test


def train_one(seed: int, cfg: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """One run; returns {'epochs', 'whole' (S, P), 'layer1' (S, P1), 'train_acc' (S,), 'final', ...}."""
    from minidl.analysis import flatten_params
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
    first = model.linear_layers()[0]
    epochs, whole, layer1, accs = [], [], [], []

    def snapshot(epoch):
        epochs.append(epoch)
        whole.append(flatten_params(model))
        layer1.append(flatten_params(first))
        accs.append(trainer.evaluate(X, y)["acc"])

    snapshot(0)
    for epoch in range(1, train["epochs"] + 1):
        trainer.train_epoch(X, y)
        trainer.end_epoch()
        if epoch % train["every"] == 0:
            snapshot(epoch)
    return {"seed": seed, "epochs": np.array(epochs), "whole": np.array(whole), "layer1": np.array(layer1),
            "train_acc": np.array(accs), "wall_time_s": time.perf_counter() - start}


def run(cfg: dict, run_dir: Path, data=None, log=print) -> dict:
    """Train every seed, project the snapshots, draw both figures.  ``data`` = (X, y, X_test, y_test) or None."""
    from minidl.analysis import pca_2d, unflatten_params
    from minidl.runs.executors import pinned_process_pool
    from minidl.models import MLP
    from minidl.plots.analysis import plot_weight_pca
    from minidl.training import accuracy

    start = time.perf_counter()
    X, y, X_test, y_test = data if data is not None else load_mnist_subset(cfg["Data"]["dir"], cfg["Data"]["subset"])
    study = cfg["Study"]
    seeds = list(range(study["first_seed"], study["first_seed"] + study["runs"]))
    if study["workers"] > 1 and len(seeds) > 1:
        with pinned_process_pool(min(study["workers"], len(seeds))) as pool:
            runs = list(pool.map(train_one, seeds, [cfg] * len(seeds), [X] * len(seeds), [y] * len(seeds)))
    else:
        runs = [train_one(s, cfg, X, y) for s in seeds]
    model = MLP(cfg["Model"]["sizes"], activation=cfg["Model"]["activation"])
    for r in runs:
        unflatten_params(model, r["whole"][-1])
        r["test_acc"] = accuracy(model.forward(X_test), y_test)
        log(f"seed {r['seed']}: train acc {r['train_acc'][-1]:.3f}, test acc {r['test_acc']:.4f} "
            f"({r['wall_time_s']:.1f} s)")
    run_ids = np.concatenate([np.full(len(r["epochs"]), r["seed"]) for r in runs])
    epochs = np.concatenate([r["epochs"] for r in runs])
    accs = np.concatenate([r["train_acc"] for r in runs])
    train = cfg["Train"]
    setting = (f"MLP {cfg['Model']['sizes']} ({cfg['Model']['activation']}), {len(X)} MNIST training images, "
               f"batch {train['batch_size']}, Adam lr {train['learning_rate']:g}, {train['epochs']} epochs")
    explained = {}
    for key, what, fname in (("whole", "whole model", "pca_whole_model.png"),
                             ("layer1", "layer 1 (0.W, 0.b)", "pca_layer1.png")):
        pca = pca_2d(np.concatenate([r[key] for r in runs]))
        moves = pca_2d(np.concatenate([r[key] - r[key][0] for r in runs]))
        explained[key] = pca.explained_variance_ratio.tolist()
        explained[f"{key}_displacement"] = moves.explained_variance_ratio.tolist()
        title = (f"{len(runs)} runs: PCA of the {what} parameters every {train['every']} epochs "
                 f"(training accuracy in %)\n{setting}")
        plot_weight_pca(pca.projections, run_ids, accs, epochs, pca.explained_variance_ratio, run_dir / fname,
                        title, moves=(moves.projections, moves.explained_variance_ratio))
    summary = {
        "study": "NTU MLDS 2018 HW1-2.1 weight-space PCA",
        "setting": setting,
        "parameters": {"whole": int(runs[0]["whole"].shape[1]), "layer1": int(runs[0]["layer1"].shape[1])},
        "snapshots_per_run": len(runs[0]["epochs"]),
        "explained_variance_ratio": explained,
        "runs": [{"seed": r["seed"], "final_train_acc": float(r["train_acc"][-1]), "test_acc": r["test_acc"],
                  "wall_time_s": round(r["wall_time_s"], 2)} for r in runs],
        "wall_time_s": round(time.perf_counter() - start, 2),
    }
    write_summary(run_dir, summary)
    log(f"explained variance (PC1, PC2): whole {explained['whole']}, layer 1 {explained['layer1']}; "
        f"{summary['wall_time_s']:.1f} s: {run_dir}")
    return summary


def load_config(path: str, overrides=()) -> dict:
    return load_study_config(path, overrides, SCHEMA)


def main(argv=None) -> Path:
    return run_study(argv, "experiments.mlds.weight_pca", __doc__, SCHEMA, run)


if __name__ == "__main__":
    cli(main)
