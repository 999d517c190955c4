"""Section 2, case study: successfully training an MLP for image classification.

The tutorial's model (its section 2.2) is 784 inputs -> one hidden layer of 10
ReLU units -> 10 outputs with a (log-)softmax, trained with the negative
log-likelihood.  Here it is trained with Adam, lr 7e-4, for 200 full-batch steps
on the 500-image working set, and each hidden unit's 784 input weights (its
filter) are drawn as a 28x28 image: red pixels drive the unit up, blue down.
Beside it, the same training for a linear model (784 -> 10), whose weights are
one template per class, and for a wider MLP (``mlp_hidden``, 100 units), whose
first filters are drawn by the same function (``minidl.plots.nma.plot_weight_images``).

    python -m experiments.nma.case_study configs/nma/case_study.yaml

Writes config.yaml, loss.png, filters_tutorial.png, weights_linear.png,
filters_mlp.png, summary.json.
"""
from __future__ import annotations

import numpy as np

from experiments.nma import BLAS_THREADS, DATA_SCHEMA  # noqa: F401  (BLAS_THREADS: see the package)
from minidl.runs.cli import main
from minidl.runs.config import Key, hidden_widths, positive, positive_int

SCHEMA = {
    "Data": DATA_SCHEMA,
    "Study": {
        "lr": Key(float, 7e-4, positive, doc="Adam learning rate"),
        "steps": Key(int, 200, positive_int, doc="full-batch steps"),
        "tutorial_hidden": Key(list, [10], hidden_widths, doc="the tutorial's model: 784 -> 10 hidden -> 10"),
        "mlp_hidden": Key(list, [100], hidden_widths, doc="a wider MLP whose first-layer filters are shown too"),
        "filters_shown": Key(int, 20, positive_int, doc="how many of its filters to draw"),
    },
}


def train_adam(hidden, X, y, lr: float, steps: int, rng):
    """Build ``NeuromatchMLP(hidden)`` and take ``steps`` full-batch Adam steps.  Returns (model, losses)."""
    from minidl.losses import NLLLoss
    from minidl.models import NeuromatchMLP
    from minidl.optim import Adam
    from minidl.training import Trainer
    model = NeuromatchMLP(hidden, rng)
    trainer = Trainer(model, NLLLoss(), Adam(model.parameters(), lr=lr), batch_size=len(X), rng=None)
    return model, trainer.fit(X, y, epochs=steps).column("train_loss")


def run(cfg: dict, run_dir, log=print) -> dict:
    """Train the tutorial's MLP, the linear model and the wider MLP; draw their weights and losses.
    Returns the summary."""
    from minidl import plots
    from minidl.data import load_normalized_mnist, sample_with_replacement
    from minidl.training import accuracy

    st, seed = cfg["Study"], cfg["Data"]["seed"]
    data = load_normalized_mnist(cfg["Data"]["dir"], splits=("train", "test"))
    X, y, _ = sample_with_replacement(*data["train"], cfg["Data"]["working_set"], np.random.default_rng(seed))
    X_test, y_test = data["test"]
    summary = {"study": "NMA W1D5 section 2: case study", "working_set": len(X), "seed": seed,
               "optimizer": f"Adam lr {st['lr']:g}, full batch", "steps": st["steps"], "models": {}}
    curves = {}
    for name, hidden in (("tutorial", st["tutorial_hidden"]), ("linear", []), ("mlp", st["mlp_hidden"])):
        model, losses = train_adam(hidden, X, y, st["lr"], st["steps"], np.random.default_rng(seed))
        label = f"MLP {hidden}" + (" (the tutorial's)" if name == "tutorial" else "") if hidden else "linear"
        curves[label] = losses
        m = summary["models"][name] = {
            "hidden": hidden, "initial_loss": float(losses[0]), "final_loss": float(losses[-1]),
            "train_acc": accuracy(model.forward(X), y), "test_acc": accuracy(model.forward(X_test), y_test)}
        _plot_weights(name, model, hidden, st, len(X), run_dir)
        log(f"{name:8s} loss {m['initial_loss']:.3f} -> {m['final_loss']:.3f}  "
            f"train acc {m['train_acc']:.3f}  test acc {m['test_acc']:.3f}")
    fig, ax = plots.subplots()
    for label, losses in curves.items():
        ax.plot(np.arange(len(losses)), losses, label=label)
    ax.set(xlabel="step (full batch)", ylabel="training loss (NLL, nats)",
           title=f"Adam lr {st['lr']:g} on the {len(X)}-image working set")
    ax.legend()
    plots.save(fig, run_dir / "loss.png")
    return summary


def _plot_weights(name: str, model, hidden, st: dict, n: int, run_dir) -> None:
    """weights_linear.png (one image per class), or filters_<name>.png (the first-layer filters)."""
    from minidl import plots
    from minidl.plots.nma import plot_weight_images
    if not hidden:
        fig = plot_weight_images(model, f"Linear model's weights per class after {st['steps']} Adam steps "
                                 f"(lr {st['lr']:g}) on {n} MNIST images",
                                 panel_titles=[f"digit {k}" for k in range(10)])
        plots.save(fig, run_dir / "weights_linear.png")
        return
    shown = min(st["filters_shown"], hidden[0])
    which = "all" if shown == hidden[0] else f"first {shown}"
    whose = f"the tutorial's MLP {hidden}" if name == "tutorial" else f"MLP {hidden}"
    fig = plot_weight_images(model, f"First-layer filters of {whose} ({which}), {st['steps']} Adam steps "
                             f"(lr {st['lr']:g}) on {n} images", max_images=shown)
    plots.save(fig, run_dir / f"filters_{name}.png")


if __name__ == "__main__":
    raise SystemExit(main(__name__))
