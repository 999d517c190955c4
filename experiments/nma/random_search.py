"""Section 3, high-dimensional search: random search against gradient descent.

From one point in weight space, how much do 100 random perturbations of every
parameter (noise 1e-2 * N(0, 1)) change the loss, and how much does one
gradient step (lr 1e-2) change it?  Measured at initialisation and again after
partial training (Adam, as in the case study), on the 500-image working set.

A random direction d is, to first order, orthogonal to the gradient g: the
loss changes by g.d + O(|d|^2), which is as often positive as negative and has
spread noise * |g|.  The gradient step changes it by -lr |g|^2 + O(lr^2): it is
the best first-order direction, and it is found with one backward pass instead
of many forward passes.

    python -m experiments.nma.random_search configs/nma/random_search.yaml

Writes config.yaml, delta_loss.png (histograms, gradient step marked), summary.json.
"""
from __future__ import annotations

import numpy as np

from experiments.nma import BLAS_THREADS, DATA_SCHEMA  # noqa: F401  (BLAS_THREADS: see the package)
from minidl.analysis import perturb
from minidl.runs.cli import main
from minidl.runs.config import Key, hidden_widths, non_negative, positive, positive_int

STUDY_SCHEMA = {
    "hidden": Key(list, [], hidden_widths, doc="hidden widths; [] is the tutorial's linear model"),
    "directions": Key(int, 100, positive_int, doc="random perturbations per stage"),
    "noise": Key(float, 1e-2, positive, doc="std of the random perturbation of every parameter"),
    "lr": Key(float, 1e-2, positive, doc="learning rate of the single gradient step"),
    "partial_steps": Key(int, 100, non_negative, doc="full-batch Adam steps before the second stage"),
    "partial_lr": Key(float, 7e-4, positive, doc="Adam learning rate of the partial training"),
}
SCHEMA = {"Data": DATA_SCHEMA, "Study": STUDY_SCHEMA}


def _loss(model, loss, X, y) -> float:
    return float(loss.forward(model.forward(X), y))


def random_direction_deltas(model, loss, X, y, n: int, noise: float, rng: np.random.Generator):
    """Loss change of ``n`` random perturbations ``theta + noise * N(0, I)`` of all parameters.

    Each perturbation starts from the same theta (they are not accumulated) and draws its
    noise with ``minidl.analysis.perturb``.  The parameters are restored afterwards.
    Returns ``(base_loss, deltas (n,))`` with deltas[i] = L(theta + d_i) - L(theta).
    """
    params = model.parameters()
    saved = [p.data.copy() for p in params]
    base = _loss(model, loss, X, y)
    deltas = np.empty(n)
    try:
        for i in range(n):
            perturb(model, noise, rng)
            deltas[i] = _loss(model, loss, X, y) - base
            for p, s in zip(params, saved):
                p.data[...] = s
    finally:
        for p, s in zip(params, saved):
            p.data[...] = s
    return base, deltas


def gradient_step_delta(model, loss, X, y, lr: float) -> tuple[float, float]:
    """Loss change of one full-batch gradient step ``theta - lr * grad L(theta)``; parameters restored.

    Returns ``(delta, grad_norm)``, grad_norm = |grad L| over all parameters.
    """
    params = model.parameters()
    saved = [p.data.copy() for p in params]
    base = _loss(model, loss, X, y)
    model.backward(loss.backward(), input_grad=False)
    grad_norm = float(np.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum()) for p in params)))
    try:
        for p in params:
            p.data -= (lr * p.grad).astype(p.data.dtype)
        delta = _loss(model, loss, X, y) - base
    finally:
        for p, s in zip(params, saved):
            p.data[...] = s
    return delta, grad_norm


def run(cfg: dict, run_dir, log=print) -> dict:
    """Both stages: random perturbations and one gradient step, at initialisation and after training."""
    from minidl import plots
    from minidl.data import load_normalized_mnist, sample_with_replacement
    from minidl.losses import NLLLoss
    from minidl.models import NeuromatchMLP
    from minidl.optim import Adam
    from minidl.plots.nma import plot_delta_histograms
    from minidl.training import Trainer

    st, seed = cfg["Study"], cfg["Data"]["seed"]
    data = load_normalized_mnist(cfg["Data"]["dir"])
    rng = np.random.default_rng(seed)
    X, y, _ = sample_with_replacement(*data["train"], cfg["Data"]["working_set"], rng)
    model, loss = NeuromatchMLP(st["hidden"], rng), NLLLoss()
    trainer = Trainer(model, loss, Adam(model.parameters(), lr=st["partial_lr"]), batch_size=len(X), rng=None)
    stages, out = [], {}
    for label, key, steps in (("at initialisation", "init", 0),
                              (f"after {st['partial_steps']} Adam steps", "partial", st["partial_steps"])):
        if steps:
            trainer.fit(X, y, epochs=steps)
        base, deltas = random_direction_deltas(model, loss, X, y, st["directions"], st["noise"], rng)
        g_delta, g_norm = gradient_step_delta(model, loss, X, y, st["lr"])
        stages.append({"label": label, "deltas": deltas, "grad_delta": g_delta, "noise": st["noise"], "lr": st["lr"]})
        s = out[key] = {"loss": base, "grad_norm": g_norm, "gradient_step_delta": g_delta,
                        "random_delta_mean": float(deltas.mean()), "random_delta_std": float(deltas.std()),
                        "random_delta_best": float(deltas.min()),
                        "random_fraction_lowering_loss": float((deltas < 0).mean()),
                        "gradient_step_vs_best_random": float(g_delta / deltas.min()) if deltas.min() < 0 else None}
        log(f"{key:8s} loss {s['loss']:.4f}  gradient step {s['gradient_step_delta']:+.2e}  random: mean "
            f"{s['random_delta_mean']:+.2e} std {s['random_delta_std']:.2e} best {s['random_delta_best']:+.2e} "
            f"({100 * s['random_fraction_lowering_loss']:.0f}% lower the loss)")
    name = "linear model" if not st["hidden"] else f"MLP {st['hidden']}"
    fig = plot_delta_histograms(stages, f"{name} on {len(X)} MNIST images: random perturbations of all "
                                f"{model.num_parameters()} parameters vs one gradient step")
    plots.save(fig, run_dir / "delta_loss.png")
    return {"study": "NMA W1D5 section 3: random search vs gradient descent", "model": name,
            "working_set": len(X), "seed": seed, "directions": st["directions"], "noise": st["noise"],
            "lr": st["lr"], "stages": out}


if __name__ == "__main__":
    raise SystemExit(main(__name__))
