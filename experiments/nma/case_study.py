"""Section 1, case study: a linear MNIST classifier and what its weights look like.

A linear model (784 -> 10, log-softmax, NLL) is trained with Adam, lr 7e-4, for
200 full-batch steps on the 500-image working set.  Each class's 784 weights
are then shown as a 28x28 image: red pixels push the class score up, blue push
it down.  For comparison, an MLP with one hidden layer is trained the same way
and its first-layer filters are drawn by the same function
(``minidl.plots.nma.plot_weight_images``).

    python -m experiments.nma.case_study configs/nma/case_study.yaml

Writes config.yaml, loss.png, weights_linear.png, filters_mlp.png, summary.json.
"""
from __future__ import annotations

from experiments.nma import common  # noqa: F401  (first: it pins BLAS to one thread before NumPy loads)

import time

import numpy as np

from experiments.nma.common import (build_model, cli, full_batch_steps, hidden_dims, load_normalized_mnist,
                                    start_run, working_set)
from minidl.runs.config import Key, positive, positive_int
from minidl.losses import NLLLoss
from minidl.optim import Adam
from minidl.runs.folder import write_summary
from minidl.training import Trainer, accuracy

STUDY_SCHEMA = {
    "lr": Key(float, 7e-4, positive, doc="Adam learning rate"),
    "steps": Key(int, 200, positive_int, doc="full-batch steps"),
    "mlp_hidden": Key(list, [100], hidden_dims, doc="the MLP whose first-layer filters are shown too"),
    "filters_shown": Key(int, 20, positive_int, doc="how many of its filters to draw"),
}


def train_adam(hidden, X, y, lr: float, steps: int, rng):
    """Build ``MLP(784, hidden, 10)`` and take ``steps`` full-batch Adam steps.  Returns (model, losses)."""
    model = build_model(hidden, rng)
    trainer = Trainer(model, NLLLoss(), Adam(model.parameters(), lr=lr), batch_size=len(X), rng=None)
    return model, full_batch_steps(trainer, X, y, steps)


def run(cfg: dict, run_dir) -> dict:
    from minidl import plots
    from minidl.plots.nma import plot_weight_images

    t0 = time.perf_counter()
    st, seed = cfg["Study"], cfg["Data"]["seed"]
    data = load_normalized_mnist(cfg["Data"]["dir"], splits=("train", "test"))
    rng = np.random.default_rng(seed)
    X, y, _ = working_set(*data["train"], cfg["Data"]["working_set"], rng)
    X_test, y_test = data["test"]
    n = len(X)

    summary = {"study": "NMA W1D5 section 1: case study", "working_set": n, "seed": seed,
               "optimizer": f"Adam lr {st['lr']:g}, full batch", "steps": st["steps"], "models": {}}
    curves = {}
    for name, hidden in (("linear", []), ("mlp", st["mlp_hidden"])):
        model, losses = train_adam(hidden, X, y, st["lr"], st["steps"], np.random.default_rng(seed))
        curves[f"{'linear' if not hidden else f'MLP {hidden}'}"] = losses
        summary["models"][name] = {
            "hidden": hidden, "initial_loss": float(losses[0]), "final_loss": float(losses[-1]),
            "train_acc": accuracy(model.forward(X), y), "test_acc": accuracy(model.forward(X_test), y_test)}
        if not hidden:
            fig = plot_weight_images(model, f"Linear model's weights per class after {st['steps']} Adam steps "
                                     f"(lr {st['lr']:g}) on {n} MNIST images",
                                     panel_titles=[f"digit {k}" for k in range(10)])
            plots.save(fig, run_dir / "weights_linear.png")
        else:
            fig = plot_weight_images(model, f"First-layer filters of MLP {hidden} (first {st['filters_shown']}), "
                                     f"{st['steps']} Adam steps on {n} images", max_images=st["filters_shown"])
            plots.save(fig, run_dir / "filters_mlp.png")

    fig, ax = plots.subplots()
    for label, losses in curves.items():
        ax.plot(np.arange(len(losses)), losses, label=label)
    ax.set(xlabel="step (full batch)", ylabel="training loss (NLL, nats)",
           title=f"Adam lr {st['lr']:g} on the {n}-image working set")
    ax.legend()
    plots.save(fig, run_dir / "loss.png")
    summary["wall_time_s"] = round(time.perf_counter() - t0, 2)
    write_summary(run_dir, summary)
    return summary


def main(argv=None):
    cfg, run_dir = start_run(argv, STUDY_SCHEMA, "python -m experiments.nma.case_study",
                             "NMA W1D5 section 1: a linear MNIST model and its weight images.",
                             "configs/nma/case_study.yaml")
    summary = run(cfg, run_dir)
    for name, m in summary["models"].items():
        print(f"{name:6s} loss {m['initial_loss']:.3f} -> {m['final_loss']:.3f}  "
              f"train acc {m['train_acc']:.3f}  test acc {m['test_acc']:.3f}")
    print(f"wrote {run_dir}")
    return run_dir


if __name__ == "__main__":
    cli(main)
