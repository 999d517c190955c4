"""A training job: a resolved config in, a run folder out.

``run_training(cfg, run_dir)`` is what ``python -m experiments.train`` and
every sweep point execute:

1. load MNIST (IDX files, or the course's CSV files) and split train/val/test;
2. build the model, optimizer and scheduler from the config;
3. train epoch by epoch, appending a row to ``metrics.csv`` after each one and
   keeping ``best.npz`` (best validation accuracy) and ``last.npz``;
4. reload the best model, measure test accuracy, write ``summary.json`` and
   ``curves.png``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from minidl import data as mnist
from minidl.checkpoint import restore, save_checkpoint
from minidl.losses import SoftmaxCrossEntropy
from minidl.runs import MetricsWriter, write_config, write_summary
from minidl.trainconfig import build_model, build_optimizer, build_scheduler
from minidl.training import Diverged, Trainer

__all__ = ["load_data", "run_training"]


def load_data(cfg: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{'train': (X, y), 'val': (X, y), 'test': (X, y)}`` as the ``Data`` section asks.

    The split is the course's: the first (1 - val_fraction) of the training
    file trains, the rest validates, unshuffled.  ``subset`` then keeps the
    first N training examples (or a random N with ``subset_seed``).
    """
    d = cfg["Data"]
    if d["train_csv"]:
        X, y = mnist.load_csv(d["train_csv"])
    else:
        X, y = mnist.load_mnist("train", d["dir"])
    if d["test_csv"]:
        X_test, y_test = mnist.load_csv(d["test_csv"])
    else:
        X_test, y_test = mnist.load_mnist("test", d["dir"])
    (X_tr, y_tr), (X_val, y_val) = mnist.train_val_split(X, y, d["val_fraction"])
    if d["subset"] is not None:
        rng = None if d["subset_seed"] is None else np.random.default_rng(d["subset_seed"])
        X_tr, y_tr = mnist.subset(X_tr, y_tr, d["subset"], rng=rng)
    splits = {"train": (X_tr, y_tr), "val": (X_val, y_val), "test": (X_test, y_test)}
    if d["normalize"]:
        mean, std = float(X_tr.mean()), float(X_tr.std())
        splits = {k: ((X - mean) / std, y) for k, (X, y) in splits.items()}
    dtype = np.dtype(cfg["Train"]["dtype"])
    return {k: (X.astype(dtype, copy=False), y) for k, (X, y) in splits.items()}


def _log(message: str) -> None:
    print(message, flush=True)


def run_training(cfg: dict, run_dir: str | Path, data=None, hooks=(), log=_log) -> dict:
    """Train as ``cfg`` says, writing everything into ``run_dir``.  Returns the summary dict.

    ``data`` may be passed in (as ``load_data`` returns it) to skip loading;
    ``hooks`` are training hooks whose ``end_epoch()`` columns join metrics.csv
    (``Train.grad_stats: true`` adds ``minidl.hooks.GradientStats``).

    Each epoch is evaluated on the validation split, or, when ``Data.val_fraction``
    is 0 (train on all 60,000), on the test set: the columns are then named
    ``test_loss`` / ``test_acc`` and the best checkpoint is chosen on them, the
    protocol of assignments that report test accuracy per epoch.

    A diverged run stops with ``status: diverged`` in its summary, keeping
    ``best.npz`` from before the divergence.
    """
    run_dir = Path(run_dir)
    start = time.perf_counter()
    write_config(run_dir, cfg)
    data = data if data is not None else load_data(cfg)
    X_tr, y_tr = data["train"]
    split = "val" if len(data["val"][0]) else "test"
    X_ev, y_ev = data[split]
    train = cfg["Train"]
    hooks = list(hooks)
    if train["grad_stats"]:
        from minidl.hooks import GradientStats
        hooks.append(GradientStats())
    init_seq, shuffle_seq = np.random.SeedSequence(train["seed"]).spawn(2)
    model = build_model(cfg, np.random.default_rng(init_seq))
    optimizer = build_optimizer(cfg, model.parameters())
    scheduler = build_scheduler(cfg, optimizer)
    trainer = Trainer(model, SoftmaxCrossEntropy(), optimizer, scheduler, train["batch_size"],
                      rng=np.random.default_rng(shuffle_seq), hooks=hooks,
                      log_every=100 if train["debug"] else 0, log=log)
    metrics = MetricsWriter(run_dir / "metrics.csv")
    rows, best = [], {"acc": -1.0, "epoch": 0}
    status, message = "completed", ""
    log(f"{run_dir.name}: {type(model).__name__} {sum(p.size for p in model.parameters()):,} parameters, "
        f"{len(X_tr):,} train / {len(X_ev):,} {'validation' if split == 'val' else 'test'} examples, "
        f"{train['epochs']} epochs")
    show_progress = sys.stderr.isatty()
    for epoch in range(1, train["epochs"] + 1):
        t0, lr = time.perf_counter(), optimizer.lr
        try:
            tr = trainer.train_epoch(X_tr, y_tr, progress=f"epoch {epoch}/{train['epochs']}" if show_progress else None)
        except Diverged as exc:
            status, message = "diverged", str(exc)
            log(message)
            break
        ev = trainer.evaluate(X_ev, y_ev)
        extra = trainer.end_epoch()
        row = {"epoch": epoch, "train_loss": tr["loss"], "train_acc": tr["acc"],
               f"{split}_loss": ev["loss"], f"{split}_acc": ev["acc"], "lr": lr, **extra,
               "seconds": round(time.perf_counter() - t0, 3)}
        metrics.write(row)
        rows.append(row)
        if ev["acc"] > best["acc"]:
            best = {"acc": ev["acc"], "epoch": epoch}
            save_checkpoint(run_dir / "best.npz", model, meta={"epoch": epoch, f"{split}_acc": ev["acc"]})
        log(f"epoch {epoch:3d}/{train['epochs']}  train loss {tr['loss']:.4f} acc {tr['acc']:.4f}  "
            f"{split} loss {ev['loss']:.4f} acc {ev['acc']:.4f}  lr {lr:.3g}  {row['seconds']:.1f}s")
    summary = {"status": status, "seed": train["seed"], "epochs_completed": len(rows),
               "best_epoch": best["epoch"], f"best_{split}_acc": best["acc"] if rows else None}
    if message:
        summary["message"] = message
    if rows:
        restore(run_dir / "best.npz", model)
        te = trainer.evaluate(*data["test"])
        summary.update(test_acc=te["acc"], test_loss=te["loss"])
        from minidl.plots.training import plot_curves
        plot_curves(rows, run_dir / "curves.png", title=f"{run_dir.name}: {_describe(cfg)}")
        log(f"test accuracy of the best model (epoch {best['epoch']}): {te['acc']:.4f}")
    summary["wall_time_s"] = round(time.perf_counter() - start, 2)
    write_summary(run_dir, summary)
    return summary


def _describe(cfg: dict) -> str:
    t, m = cfg["Train"], cfg["Model"]
    model = m["type"] if m["type"] != "MLP" else f"MLP {m['sizes']} {m['activation']}"
    if m["type"] == "TwoLayerNet":
        model += f" h={m['hidden_size']}"
    return f"{model}, {t['optimizer']} lr={t['learning_rate']:g} reg={t['reg']:g} batch={t['batch_size']}"
