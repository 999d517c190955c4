"""The gradient norm during training on MNIST (NTU MLDS 2018 HW1-2.2).

A small MNIST network trains with mini-batch Adam through ``Trainer``; after
every backward pass the global norm of all parameter gradients is recorded
(``minidl.training.callbacks.GradientStats`` with every parameter), and the batch loss with
``minidl.analysis.RecordingLoss``.

    python -m experiments.mlds.grad_norm_mnist configs/mlds/grad_norm_mnist.yaml

Writes config.yaml, ``grad_norm_mnist.png`` (gradient norm and loss per
iteration, two stacked panels sharing the x axis), ``trace.csv`` (iteration,
grad_norm, loss) and summary.json.  The function-task figure of the same study
comes from ``experiments.mlds.fit_function``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from minidl.layers import ACTIVATIONS
from minidl.runs.cli import main
from minidl.runs.config import Key, layer_sizes, positive, positive_int

SCHEMA = {
    "Data": {"dir": Key((str, type(None)), None, doc="MNIST folder; null: the data home, or ./data"),
             "subset": Key(int, 10000, positive_int, doc="the first N training images")},
    "Model": {"sizes": Key(list, [784, 128, 128, 10], layer_sizes),
              "activation": Key(str, "relu", choices=sorted(ACTIVATIONS))},
    "Train": {"epochs": Key(int, 5, positive_int), "batch_size": Key(int, 100, positive_int),
              "learning_rate": Key(float, 1e-3, positive, doc="Adam"), "seed": Key(int, 0)},
}


def run(cfg: dict, run_dir: Path, data=None, log=print) -> dict:
    """Train once, recording the gradient norm and loss of every iteration.  ``data`` = (X, y, X_test, y_test)."""
    from minidl import plots
    from minidl.analysis import RecordingLoss
    from minidl.data import load_train_test
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.models import MLP
    from minidl.optim import Adam
    from minidl.plots.analysis import plot_grad_norm
    from minidl.runs.folder import MetricsWriter
    from minidl.training import Trainer
    from minidl.training.callbacks import GradientStats, OnRound

    X, y, X_test, y_test = data if data is not None else load_train_test(cfg["Data"]["dir"], cfg["Data"]["subset"])
    train = cfg["Train"]
    rng = np.random.default_rng(train["seed"])
    model = MLP(cfg["Model"]["sizes"], activation=cfg["Model"]["activation"], rng=rng)
    loss = RecordingLoss(SoftmaxCrossEntropy())
    stats = GradientStats(weights_only=False, keep_batches=True)
    trainer = Trainer(model, loss, Adam(model.parameters(), lr=train["learning_rate"]),
                      batch_size=train["batch_size"], rng=rng)
    show = OnRound(lambda t, row: log(f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} "
                                      f"acc {row['train_acc']:.4f}"))
    trainer.fit(X, y, epochs=train["epochs"], callbacks=[stats, show])
    loss.pause()
    test = trainer.evaluate(X_test, y_test)
    grad = np.linalg.norm(np.array(stats.batches), axis=1)      # global norm from the per-parameter norms
    values = np.array(loss.values)
    writer = MetricsWriter(run_dir / "trace.csv")
    for i, (g, v) in enumerate(zip(grad, values), start=1):
        writer.write({"iteration": i, "grad_norm": float(g), "loss": float(v)})
    setting = (f"MLP {cfg['Model']['sizes']} ({cfg['Model']['activation']}), {len(X)} MNIST images, "
               f"batch {train['batch_size']}, Adam lr {train['learning_rate']:g}, {train['epochs']} epochs")
    plots.save(plot_grad_norm({"MNIST": {"grad_norm": grad, "loss": values}},
                              f"gradient norm during training on MNIST\n{setting}",
                              loss_label="mini-batch cross-entropy", xlabel="iteration (mini-batch)"),
               run_dir / "grad_norm_mnist.png")
    log(f"{grad.size} iterations, ||grad|| {grad[0]:.3g} -> {grad[-1]:.3g} (max {grad.max():.3g}), "
        f"test acc {test['acc']:.4f}")
    return {"study": "NTU MLDS 2018 HW1-2.2 gradient norm (MNIST)", "setting": setting,
            "iterations": int(grad.size), "grad_norm": {"first": float(grad[0]), "max": float(grad.max()),
                                                         "last": float(grad[-1])},
            "final_train_loss": float(values[-1]), "test_acc": test["acc"], "test_loss": test["loss"]}


if __name__ == "__main__":
    raise SystemExit(main(__name__))
