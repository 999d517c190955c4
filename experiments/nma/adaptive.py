"""Section 7, hyperparameter tuning: adaptive methods; SGD, momentum, RMSprop and Adam on the same mini-batches.

MLP [100, 100] on the full 60,000-image training set, batch 128, lr 2e-3,
500 steps, every optimizer from the same initialisation and on the same
sequence of mini-batches (two shuffled passes' worth of indices, drawn once).

The tutorial's optimizers are ``minidl.optim``'s:

    SGD                  w -= lr g                                  SGD(lr)
    momentum (beta 0.9)  v = beta v - lr g; w += v                  SGD(lr, momentum=0.9)
                         (the same iterates as torch's v = beta v + g; w -= lr v at a fixed lr)
    RMSprop (alpha 0.8)  s = alpha s + (1 - alpha) g^2; w -= lr g / sqrt(eps + s)
                                                                    RMSprop(alpha=0.8, eps_inside_sqrt=True)
    Adam                 torch's defaults, betas (0.9, 0.999)       Adam(lr)

    python -m experiments.nma.adaptive configs/nma/adaptive.yaml

Writes config.yaml, loss_curves.png (per-step mini-batch loss, y from 0 to 2.5), summary.json.
"""
from __future__ import annotations

import time

import numpy as np

from experiments.nma import BLAS_THREADS, DATA_SCHEMA  # noqa: F401  (BLAS_THREADS: see the package)
from minidl.runs.cli import main
from minidl.runs.config import Key, hidden_widths, optimizer_specs, positive_int

SCHEMA = {
    "Data": DATA_SCHEMA,
    "Study": {
        "hidden": Key(list, [100, 100], hidden_widths),
        "batch_size": Key(int, 128, positive_int),
        "steps": Key(int, 500, positive_int),
        "optimizers": Key(dict, {"SGD": {"type": "sgd", "lr": 2e-3}}, optimizer_specs,
                          doc="label -> {type, lr, options}"),
        "smooth": Key(int, 20, positive_int, doc="steps in the plotted moving average"),
    },
}


def batch_indices(n: int, batch_size: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """(steps, batch_size) example indices: consecutive shuffled passes over range(n), cut into batches."""
    passes = -(-steps * batch_size // n)
    order = np.concatenate([rng.permutation(n) for _ in range(passes)])
    return order[:steps * batch_size].reshape(steps, batch_size)


def train_steps(model, optimizer, X, y, batches: np.ndarray) -> np.ndarray:
    """One ``Trainer`` step per row of ``batches``; the (T,) mini-batch losses (NaN after a divergence)."""
    from minidl.losses import NLLLoss
    from minidl.training import Trainer
    trainer = Trainer(model, NLLLoss(), optimizer, batch_size=batches.shape[1], rng=None)
    losses = np.full(len(batches), np.nan)
    finished = trainer.fit(X, y, batches=batches, eval_every=1).column("train_loss")
    losses[:len(finished)] = finished
    return losses


def run(cfg: dict, run_dir, log=print) -> dict:
    """Every optimizer from the same start on the same batches; returns the summary."""
    from minidl import plots
    from minidl.data import load_normalized_mnist
    from minidl.losses import NLLLoss
    from minidl.models import NeuromatchMLP
    from minidl.optim import build_optimizer
    from minidl.plots.nma import moving_average, plot_step_losses
    from minidl.training import evaluate

    st, seed = cfg["Study"], cfg["Data"]["seed"]
    data = load_normalized_mnist(cfg["Data"]["dir"], splits=("train", "test"))
    X, y = data["train"]
    rng = np.random.default_rng(seed)
    base = NeuromatchMLP(st["hidden"], rng)
    state = base.state_dict()
    batches = batch_indices(len(X), st["batch_size"], st["steps"], rng)
    curves, results = {}, {}
    for label, spec in st["optimizers"].items():
        base.load_state_dict(state)
        start = time.perf_counter()
        losses = train_steps(base, build_optimizer(spec, base.parameters()), X, y, batches)
        seconds = time.perf_counter() - start
        options = ", ".join(f"{k} {v:g}" for k, v in spec.items() if k in ("lr", "momentum", "alpha"))
        curves[f"{label} ({options})"] = losses
        train, test = evaluate(base, NLLLoss(), X, y), evaluate(base, NLLLoss(), *data["test"])
        r = results[label] = {
            "optimizer": spec, "first_loss": float(losses[0]),
            f"last_{st['smooth']}_steps_mean_loss": float(moving_average(losses, st["smooth"])[-1]),
            "train_loss": train["loss"], "train_acc": train["acc"], "test_acc": test["acc"],
            "seconds": round(seconds, 2), "diverged": bool(np.isnan(losses).any())}
        log(f"{label:10s} batch loss {r['first_loss']:.3f} -> {moving_average(losses, st['smooth'])[-1]:.3f} "
            f"(smoothed); after training: train loss {r['train_loss']:.3f}, train acc {r['train_acc']:.3f}, "
            f"test acc {r['test_acc']:.3f}")
    fig = plot_step_losses(curves, f"MLP {st['hidden']} on 60,000 MNIST images, batch {st['batch_size']}, "
                           f"{st['steps']} steps\nthe same initialisation and mini-batches for every optimizer",
                           smooth=st["smooth"])
    plots.save(fig, run_dir / "loss_curves.png")
    return {"study": "NMA W1D5 section 7: adaptive methods", "seed": seed, "hidden": st["hidden"],
            "batch_size": st["batch_size"], "steps": st["steps"], "optimizers": results}


if __name__ == "__main__":
    raise SystemExit(main(__name__))
