"""Section 9 (bonus), putting it all together: MLP [200, 100, 50] on MNIST, validated as it trains.

The 60,000 training images are split into the first 50,000 for training and the
last 10,000 for validation.  Training runs in a stream of shuffled passes;
every 200 mini-batches the study records the mean training loss and accuracy
over those 200 batches and the loss and accuracy on a fixed validation subset
(2,000 of the 10,000 images, drawn once).  The parameters with the best
validation-subset accuracy are kept; at the end they are scored on the whole
validation set and on the 10,000 test images.

The loop is ``Trainer.fit`` with rounds of 200 steps (``eval_every=200``), over
shuffled passes that drop each pass's last partial batch; the learning rate is
multiplied by ``lr_gamma`` once per pass, at the end of the round in which the
pass ended.

    python -m experiments.nma.full configs/nma/full.yaml

Writes config.yaml, metrics.csv (one row per 200 batches), curves.png, summary.json.
"""
from __future__ import annotations

import numpy as np

from experiments.nma import BLAS_THREADS, DATA_SCHEMA  # noqa: F401  (BLAS_THREADS: see the package)
from minidl.runs.cli import main
from minidl.runs.config import Key, hidden_widths, optimizer_spec, positive, positive_int

SCHEMA = {
    "Data": DATA_SCHEMA,
    "Study": {
        "hidden": Key(list, [200, 100, 50], hidden_widths),
        "val_examples": Key(int, 10000, positive_int, doc="the last this many training images validate"),
        "val_subset": Key(int, 2000, positive_int, doc="fixed validation images scored every eval_every batches"),
        "eval_every": Key(int, 200, positive_int, doc="mini-batches between validations"),
        "batch_size": Key(int, 128, positive_int),
        "epochs": Key(float, 10.0, positive, doc="passes over the training images (may be fractional)"),
        "optimizer": Key(dict, {"type": "adam", "lr": 1e-3}, optimizer_spec),
        "lr_gamma": Key(float, 1.0, positive, doc="multiply the learning rate by this after every epoch"),
    },
}


def run(cfg: dict, run_dir, log=print) -> dict:
    """Train, validating every ``eval_every`` batches; score the best and the final model; returns the summary."""
    from minidl.data import load_normalized_mnist, train_val_split
    from minidl.losses import NLLLoss
    from minidl.models import NeuromatchMLP
    from minidl.optim import ExponentialLR, build_optimizer
    from minidl.runs.folder import MetricsWriter
    from minidl.training import Trainer
    from minidl.training.callbacks import KeepBest

    st, seed = cfg["Study"], cfg["Data"]["seed"]
    data = load_normalized_mnist(cfg["Data"]["dir"], splits=("train", "test"))
    X, y = data["train"]
    (X_tr, y_tr), (X_val, y_val) = train_val_split(X, y, st["val_examples"] / len(X))
    rng = np.random.default_rng(seed)
    vs = rng.choice(len(X_val), size=min(st["val_subset"], len(X_val)), replace=False)
    model = NeuromatchMLP(st["hidden"], rng)
    optimizer = build_optimizer(st["optimizer"], model.parameters())
    trainer = Trainer(model, NLLLoss(), optimizer, scheduler=ExponentialLR(optimizer, st["lr_gamma"]),
                      batch_size=st["batch_size"], rng=rng)
    steps = int(round(st["epochs"] * (len(X_tr) // st["batch_size"])))
    best = KeepBest("val_acc")
    rows = trainer.fit(X_tr, y_tr, steps=steps, eval_every=st["eval_every"], drop_last=True,
                       eval_sets={"val": (X_val[vs], y_val[vs])},
                       callbacks=[MetricsWriter(run_dir / "metrics.csv"), best]).history
    final = {"val": trainer.evaluate(X_val, y_val), "test": trainer.evaluate(*data["test"])}
    model.load_state_dict(best.state)
    chosen = {"val": trainer.evaluate(X_val, y_val), "test": trainer.evaluate(*data["test"])}
    _plot(st, rows, len(X_tr), len(vs), run_dir)
    log(f"best validation-subset accuracy {best.value:.4f} at step {best.row['step']}: full validation "
        f"{chosen['val']['acc']:.4f}, test {chosen['test']['acc']:.4f}  (final model: validation "
        f"{final['val']['acc']:.4f}, test {final['test']['acc']:.4f})")
    return {"study": "NMA W1D5 section 9: putting it all together", "seed": seed, "hidden": st["hidden"],
            "optimizer": st["optimizer"], "lr_gamma": st["lr_gamma"], "batch_size": st["batch_size"],
            "epochs": st["epochs"], "iterations": trainer.steps, "train_examples": len(X_tr),
            "val_examples": len(X_val), "best_iteration": best.row["step"], "best_val_subset_acc": best.value,
            "best_model": {"val_acc": chosen["val"]["acc"], "val_loss": chosen["val"]["loss"],
                           "test_acc": chosen["test"]["acc"], "test_loss": chosen["test"]["loss"]},
            "final_model": {"val_acc": final["val"]["acc"], "test_acc": final["test"]["acc"],
                            "train_loss_last_block": rows[-1]["train_loss"]}}


def _plot(st: dict, rows: list[dict], n_train: int, n_val: int, run_dir) -> None:
    """curves.png: train and validation-subset loss and accuracy against the step."""
    from minidl import plots
    from minidl.plots.nma import plot_iteration_curves
    spec = st["optimizer"]
    opt_text = (f"{spec['type']}" + (f" momentum {spec['momentum']:g}" if spec.get("momentum") else "")
                + f" lr {spec['lr']:g}" + (f" x{st['lr_gamma']:g}/epoch" if st["lr_gamma"] != 1 else "")
                + (f" weight decay {spec['weight_decay']:g}" if spec.get("weight_decay") else ""))
    fig = plot_iteration_curves(rows, f"MLP {st['hidden']}, {opt_text}, batch {st['batch_size']}, "
                                f"{st['epochs']:g} epochs on {n_train:,} images; validation subset "
                                f"{n_val:,} images every {st['eval_every']} batches")
    plots.save(fig, run_dir / "curves.png")


if __name__ == "__main__":
    raise SystemExit(main(__name__))
