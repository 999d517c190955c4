"""Can the network fit random labels? (NTU MLDS 2018 HW1-3.1, after Zhang et al. 2017)

A small MNIST network (784-20-20-20-10, 16,750 parameters: the report's) is trained on 1,000
training images whose labels have been shuffled at random
(``minidl.data.shuffle_labels``: a seeded permutation, so every class keeps its
count and only the pairing of images and labels is destroyed).  After every
epoch it is evaluated on those 1,000 images with their random labels and on
the 10,000 test images with their true labels.  Training stops once the
training accuracy reaches ``Train.stop_at_train_acc`` (1.0: every random label
memorised), or after ``Train.max_epochs``.

    python -m experiments.mlds.random_labels configs/mlds/random_labels.yaml

Writes config.yaml, ``metrics.csv`` (one row per epoch, appended as it goes),
``random_labels.png`` and summary.json (with the first epoch at which the
training accuracy passed 0.99).  Ctrl-C stops at the next batch; the epochs so
far are kept, and the figure and summary are still written.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from minidl.layers import ACTIVATIONS
from minidl.runs.cli import main
from minidl.runs.config import Key, layer_sizes, positive, positive_int

PASS_MARK = 0.99

SCHEMA = {
    "Data": {"dir": Key((str, type(None)), None, doc="MNIST folder; null: the data home, or ./data"),
             "subset": Key(int, 1000, positive_int, doc="the first N training images"),
             "label_seed": Key(int, 0, doc="seed of the label permutation")},
    "Model": {"sizes": Key(list, [784, 20, 20, 20, 10], layer_sizes, doc="the report's 16,750 parameters"),
              "activation": Key(str, "relu", choices=sorted(ACTIVATIONS))},
    "Train": {"learning_rate": Key(float, 3e-3, positive, doc="Adam"),
              "batch_size": Key(int, 100, positive_int),
              "max_epochs": Key(int, 5000, positive_int),
              "stop_at_train_acc": Key(float, 1.0, lambda v: None if positive(v) is None and v <= 1 else "in (0, 1]"),
              "seed": Key(int, 0, doc="initialisation and batch order"),
              "log_every": Key(int, 100, positive_int, doc="print a line every this many epochs")},
}


def run(cfg: dict, run_dir: Path, data=None, log=print) -> dict:
    """Train on shuffled labels until they are memorised.  ``data`` = (X, y, X_test, y_test) or None."""
    from minidl import plots
    from minidl.data import load_train_test, shuffle_labels
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.models import MLP
    from minidl.optim import Adam
    from minidl.plots.generalization import plot_random_labels
    from minidl.runs.folder import MetricsWriter
    from minidl.training import Trainer
    from minidl.training.callbacks import OnRound, StopAt
    from minidl.training.signals import StopOnSignals

    X, y_true, X_test, y_test = data if data is not None else load_train_test(cfg["Data"]["dir"],
                                                                            cfg["Data"]["subset"])
    y = shuffle_labels(y_true, cfg["Data"]["label_seed"])
    train = cfg["Train"]
    rng = np.random.default_rng(train["seed"])
    model = MLP(cfg["Model"]["sizes"], activation=cfg["Model"]["activation"], rng=rng)
    trainer = Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=train["learning_rate"]),
                      batch_size=train["batch_size"], rng=rng)
    setting = (f"MLP {cfg['Model']['sizes']} {cfg['Model']['activation']} ({model.num_parameters():,} parameters), "
               f"{len(X):,} MNIST images with shuffled labels, Adam lr {train['learning_rate']:g}, "
               f"batch {train['batch_size']}")
    log(f"{setting}; {np.mean(y == y_true):.3f} of the shuffled labels happen to be right")

    def show(trainer, row):
        if row["epoch"] % train["log_every"] == 0 or row["epoch"] == 1:
            log(f"epoch {row['epoch']:5d}: train (random labels) loss {row['train_loss']:.4f} "
                f"acc {row['train_acc']:.3f}   test (true labels) loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}")

    # the "train" evaluation replaces the epoch's running means with a pass over the 1,000 images
    result = trainer.fit(X, y, epochs=train["max_epochs"], eval_sets={"train": (X, y), "test": (X_test, y_test)},
                         callbacks=[StopOnSignals(log), MetricsWriter(run_dir / "metrics.csv"), OnRound(show),
                                    StopAt("train_acc", train["stop_at_train_acc"])])
    rows = result.history
    status = {"completed": "max_epochs"}.get(result.status, result.status)
    passed = next((r["epoch"] for r in rows if r["train_acc"] > PASS_MARK), None)
    if result.message:
        log(result.message)
    if rows:
        stop = {"reached": f"stopped at train accuracy {rows[-1]['train_acc']:.2f}", "max_epochs": "epoch limit",
                "interrupted": "interrupted", "diverged": "diverged"}[status]
        plots.save(plot_random_labels(rows, f"fitting random labels: train on shuffled labels, test on true labels "
                                            f"({len(rows)} epochs, {stop})\n{setting}", passed_epoch=passed),
                   run_dir / "random_labels.png")
    log(f"{status} after {len(rows)} epochs; train accuracy passed {PASS_MARK} at epoch {passed}")
    summary = {"study": "NTU MLDS 2018 HW1-3.1 fitting random labels", "setting": setting, "status": status,
               "epochs": len(rows), f"train_acc_passed_{PASS_MARK}_at_epoch": passed,
               "final": rows[-1] if rows else None,
               "best_test_acc": max((r["test_acc"] for r in rows), default=None)}
    if result.signal:
        summary["signal"] = result.signal
    return summary


if __name__ == "__main__":
    raise SystemExit(main(__name__))
