"""Section 7, putting it all together: MLP [200, 100, 50] on MNIST, validated as it trains.

The 60,000 training images are split into the first 50,000 for training and the
last 10,000 for validation.  Training runs in a stream of shuffled passes;
every 200 mini-batches the study records the mean training loss and accuracy
over those 200 batches and the loss and accuracy on a fixed validation subset
(2,000 of the 10,000 images, drawn once).  The parameters with the best
validation-subset accuracy are kept; at the end they are scored on the whole
validation set and on the 10,000 test images.

Each block of 200 batches is one ``Trainer.train_epoch`` call on those batches'
examples (in their shuffled order, ``rng=None``), so the loop is the library's.

    python -m experiments.nma.full configs/nma/full.yaml

Writes config.yaml, metrics.csv (one row per 200 batches), curves.png, summary.json.
"""
from __future__ import annotations

from experiments.nma import common  # noqa: F401  (first: it pins BLAS to one thread before NumPy loads)

import time

import numpy as np

from experiments.nma.common import (build_model, cli, hidden_dims, load_normalized_mnist, make_optimizer,
                                    optimizer_specs, start_run)
from minidl.runs.config import Key, positive, positive_int
from minidl.data import train_val_split
from minidl.losses import NLLLoss
from minidl.optim import ExponentialLR
from minidl.runs.folder import MetricsWriter, write_summary
from minidl.training import Trainer


def _one_optimizer(value) -> str | None:
    return optimizer_specs({"optimizer": value}) if isinstance(value, dict) else "a mapping {type, lr, options}"


STUDY_SCHEMA = {
    "hidden": Key(list, [200, 100, 50], hidden_dims),
    "val_examples": Key(int, 10000, positive_int, doc="the last this many training images validate"),
    "val_subset": Key(int, 2000, positive_int, doc="fixed validation images scored every eval_every batches"),
    "eval_every": Key(int, 200, positive_int, doc="mini-batches between validations"),
    "batch_size": Key(int, 128, positive_int),
    "epochs": Key(float, 10.0, positive, doc="passes over the training images (may be fractional)"),
    "optimizer": Key(dict, {"type": "adam", "lr": 1e-3}, _one_optimizer),
    "lr_gamma": Key(float, 1.0, positive, doc="multiply the learning rate by this after every epoch"),
}


def batch_stream(n: int, batch_size: int, rng: np.random.Generator):
    """Endless mini-batches of indices: each pass is a fresh permutation of range(n)."""
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):      # full batches only
            yield order[start:start + batch_size]


def run(cfg: dict, run_dir) -> dict:
    from minidl import plots
    from minidl.plots.nma import plot_iteration_curves

    t0 = time.perf_counter()
    st, seed = cfg["Study"], cfg["Data"]["seed"]
    data = load_normalized_mnist(cfg["Data"]["dir"], splits=("train", "test"))
    X, y = data["train"]
    (X_tr, y_tr), (X_val, y_val) = train_val_split(X, y, st["val_examples"] / len(X))
    rng = np.random.default_rng(seed)
    vs = rng.choice(len(X_val), size=min(st["val_subset"], len(X_val)), replace=False)
    X_vs, y_vs = X_val[vs], y_val[vs]

    model = build_model(st["hidden"], rng)
    optimizer = make_optimizer(st["optimizer"], model.parameters())
    trainer = Trainer(model, NLLLoss(), optimizer, scheduler=ExponentialLR(optimizer, st["lr_gamma"]),
                      batch_size=st["batch_size"], rng=None)
    batches_per_epoch = len(X_tr) // st["batch_size"]
    total = int(round(st["epochs"] * batches_per_epoch))
    stream = batch_stream(len(X_tr), st["batch_size"], rng)
    metrics = MetricsWriter(run_dir / "metrics.csv")
    rows, best, best_state, done = [], -1.0, None, 0
    while done < total:
        block = min(st["eval_every"], total - done)
        idx = np.concatenate([next(stream) for _ in range(block)])
        train = trainer.train_epoch(X_tr[idx], y_tr[idx])
        before = done // batches_per_epoch
        done += block
        for _ in range(done // batches_per_epoch - before):       # an epoch boundary was crossed
            trainer.end_epoch()
        val = trainer.evaluate(X_vs, y_vs)
        row = {"iteration": done, "epoch": round(done / batches_per_epoch, 3), "lr": optimizer.lr,
               "train_loss": train["loss"], "train_acc": train["acc"], "val_loss": val["loss"], "val_acc": val["acc"],
               "seconds": round(time.perf_counter() - t0, 2)}
        rows.append(row)
        metrics.write(row)
        if val["acc"] > best:
            best, best_state = val["acc"], model.state_dict()
    final = {"val": trainer.evaluate(X_val, y_val), "test": trainer.evaluate(*data["test"])}
    model.load_state_dict(best_state)
    chosen = {"val": trainer.evaluate(X_val, y_val), "test": trainer.evaluate(*data["test"])}

    spec = st["optimizer"]
    opt_text = (f"{spec['type']}" + (f" momentum {spec['momentum']:g}" if spec.get("momentum") else "")
                + f" lr {spec['lr']:g}" + (f" x{st['lr_gamma']:g}/epoch" if st["lr_gamma"] != 1 else "")
                + (f" weight decay {spec['weight_decay']:g}" if spec.get("weight_decay") else ""))
    fig = plot_iteration_curves(rows, f"MLP {st['hidden']}, {opt_text}, batch {st['batch_size']}, "
                                f"{st['epochs']:g} epochs on {len(X_tr):,} images; validation subset "
                                f"{len(X_vs):,} images every {st['eval_every']} batches")
    plots.save(fig, run_dir / "curves.png")
    best_row = max(rows, key=lambda r: r["val_acc"])
    summary = {"study": "NMA W1D5 section 7: putting it all together", "seed": seed, "hidden": st["hidden"],
               "optimizer": spec, "lr_gamma": st["lr_gamma"], "batch_size": st["batch_size"], "epochs": st["epochs"],
               "iterations": done, "train_examples": len(X_tr), "val_examples": len(X_val),
               "best_iteration": best_row["iteration"], "best_val_subset_acc": best,
               "best_model": {"val_acc": chosen["val"]["acc"], "val_loss": chosen["val"]["loss"],
                              "test_acc": chosen["test"]["acc"], "test_loss": chosen["test"]["loss"]},
               "final_model": {"val_acc": final["val"]["acc"], "test_acc": final["test"]["acc"],
                               "train_loss_last_block": rows[-1]["train_loss"]},
               "wall_time_s": round(time.perf_counter() - t0, 2)}
    write_summary(run_dir, summary)
    return summary


def main(argv=None):
    cfg, run_dir = start_run(argv, STUDY_SCHEMA, "python -m experiments.nma.full",
                             "NMA W1D5 section 7: MLP [200, 100, 50] with validation every 200 batches.",
                             "configs/nma/full.yaml")
    s = run(cfg, run_dir)
    b = s["best_model"]
    print(f"best validation-subset accuracy {s['best_val_subset_acc']:.4f} at iteration {s['best_iteration']}: "
          f"full validation {b['val_acc']:.4f}, test {b['test_acc']:.4f}  (final model: validation "
          f"{s['final_model']['val_acc']:.4f}, test {s['final_model']['test_acc']:.4f}); {s['wall_time_s']:.0f} s")
    print(f"wrote {run_dir}")
    return run_dir


if __name__ == "__main__":
    cli(main)
