"""Can the network fit random labels? (NTU MLDS 2018 HW1-3.1, after Zhang et al. 2017)

A small MNIST network (784-20-20-10, 16,330 parameters) is trained on 1,000
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

import time
from pathlib import Path

import numpy as np

from minidl.runs.cli import OUTPUT_SCHEMA, cli, load_study_config, run_study
from experiments.mlds.weight_pca import SCHEMA as PCA_SCHEMA
from experiments.mlds.weight_pca import load_mnist_subset
from minidl.runs.config import Key, positive, positive_int

PASS_MARK = 0.99

SCHEMA = {
    "Data": {"dir": PCA_SCHEMA["Data"]["dir"],
             "subset": Key(int, 1000, positive_int, doc="the first N training images"),
             "label_seed": Key(int, 0, doc="seed of the label permutation")},
    "Model": {"sizes": Key(list, [784, 20, 20, 10], PCA_SCHEMA["Model"]["sizes"].check),
              "activation": PCA_SCHEMA["Model"]["activation"]},
    "Train": {"learning_rate": Key(float, 3e-3, positive, doc="Adam"),
              "batch_size": Key(int, 100, positive_int),
              "max_epochs": Key(int, 5000, positive_int),
              "stop_at_train_acc": Key(float, 1.0, lambda v: None if positive(v) is None and v <= 1 else "in (0, 1]"),
              "seed": Key(int, 0, doc="initialisation and batch order"),
              "log_every": Key(int, 100, positive_int, doc="print a line every this many epochs")},
    "Output": OUTPUT_SCHEMA,
}


def run(cfg: dict, run_dir: Path, data=None, log=print) -> dict:
    """Train on shuffled labels until they are memorised.  ``data`` = (X, y, X_test, y_test) or None."""
    from minidl.data import shuffle_labels
    from minidl.training.signals import stop_on_signals
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.models import MLP
    from minidl.optim import Adam
    from minidl.plots.generalization import plot_random_labels
    from minidl.runs.folder import MetricsWriter, write_summary
    from minidl.training import Diverged, Interrupted, Trainer

    start = time.perf_counter()
    X, y_true, X_test, y_test = data if data is not None else load_mnist_subset(cfg["Data"]["dir"],
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
    writer = MetricsWriter(run_dir / "metrics.csv")
    rows, passed, status = [], None, "max_epochs"
    with stop_on_signals(trainer, log):
        for epoch in range(1, train["max_epochs"] + 1):
            try:
                trainer.train_epoch(X, y)
            except Interrupted:
                status = "interrupted"
                log(f"interrupted during epoch {epoch}: the {len(rows)} finished epochs are kept")
                break
            except Diverged as exc:
                status = "diverged"
                log(str(exc))
                break
            trainer.end_epoch()
            tr, te = trainer.evaluate(X, y), trainer.evaluate(X_test, y_test)
            row = {"epoch": epoch, "train_loss": tr["loss"], "train_acc": tr["acc"],
                   "test_loss": te["loss"], "test_acc": te["acc"]}
            writer.write(row)
            rows.append(row)
            if passed is None and tr["acc"] > PASS_MARK:
                passed = epoch
            if epoch % train["log_every"] == 0 or epoch == 1:
                log(f"epoch {epoch:5d}: train (random labels) loss {tr['loss']:.4f} acc {tr['acc']:.3f}   "
                    f"test (true labels) loss {te['loss']:.4f} acc {te['acc']:.4f}")
            if tr["acc"] >= train["stop_at_train_acc"]:
                status = "reached"
                break
    if rows:
        stop = {"reached": f"stopped at train accuracy {rows[-1]['train_acc']:.2f}", "max_epochs": "epoch limit",
                "interrupted": "interrupted", "diverged": "diverged"}[status]
        plot_random_labels(rows, run_dir / "random_labels.png",
                           f"fitting random labels: train on shuffled labels, test on true labels "
                           f"({len(rows)} epochs, {stop})\n{setting}", passed_epoch=passed)
    summary = {"study": "NTU MLDS 2018 HW1-3.1 fitting random labels", "setting": setting, "status": status,
               "epochs": len(rows), f"train_acc_passed_{PASS_MARK}_at_epoch": passed,
               "final": rows[-1] if rows else None,
               "best_test_acc": max((r["test_acc"] for r in rows), default=None),
               "wall_time_s": round(time.perf_counter() - start, 2)}
    if status == "interrupted":
        import signal
        summary["signal"] = signal.Signals(trainer.stop_requested).name
    write_summary(run_dir, summary)
    log(f"{status} after {len(rows)} epochs; train accuracy passed {PASS_MARK} at epoch {passed}; "
        f"{summary['wall_time_s']:.1f} s: {run_dir}")
    return summary


def load_config(path: str, overrides=()) -> dict:
    return load_study_config(path, overrides, SCHEMA)


def main(argv=None) -> Path:
    """Run the study; an interrupted run exits with 128 + the signal number, as ``experiments.train`` does."""
    import json
    import signal
    import sys
    run_dir = run_study(argv, "experiments.mlds.random_labels", __doc__, SCHEMA, run)
    summary = json.loads((run_dir / "summary.json").read_text())
    if summary["status"] == "interrupted":
        sys.exit(128 + signal.Signals[summary["signal"]])
    return run_dir


if __name__ == "__main__":
    cli(main)
