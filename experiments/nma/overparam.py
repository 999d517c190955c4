"""Section 5, non-convexity: overparameterization.

For each hidden-layer shape ([10], [20, 20], [100, 100]) one base network is
initialised; 7 copies of it are perturbed with noise 0.2 * N(0, 1) on every
parameter, and each copy is trained with full-batch gradient descent (lr 5e-2,
150 steps) on the 500-image working set.  Small networks end at different
losses from different starts (the loss is non-convex and some starts are bad);
the tutorial's lesson is that wide networks reach a low loss from every start.

    python -m experiments.nma.overparam configs/nma/overparam.yaml

Writes config.yaml, loss_curves.png (one panel per width, y from 0 to 3),
summary.json.
"""
from __future__ import annotations

import copy

import numpy as np

from experiments.nma import BLAS_THREADS, DATA_SCHEMA  # noqa: F401  (BLAS_THREADS: see the package)
from minidl.analysis import perturb
from minidl.runs.cli import main
from minidl.runs.config import Key, hidden_widths, positive, positive_int


def _shapes(value) -> str | None:
    ok = isinstance(value, list) and value and all(hidden_widths(v) is None for v in value)
    return None if ok else "a list of hidden-width lists, e.g. [[10], [20, 20], [100, 100]]"


SCHEMA = {
    "Data": DATA_SCHEMA,
    "Study": {
        "hidden": Key(list, [[10], [20, 20], [100, 100]], _shapes),
        "inits": Key(int, 7, positive_int, doc="perturbed copies of the base initialisation"),
        "noise": Key(float, 0.2, positive, doc="std of the perturbation"),
        "lr": Key(float, 5e-2, positive),
        "steps": Key(int, 150, positive_int),
        "ylim": Key(list, [0.0, 3.0], doc="shared y-range of the panels"),
    },
}


def train_copies(base, X, y, inits: int, noise: float, lr: float, steps: int, rng) -> list[np.ndarray]:
    """Perturb ``inits`` copies of ``base`` and train each by full-batch GD; their (steps,) loss curves.

    A diverged copy's curve is padded with NaN from the step where it blew up.
    """
    from minidl.losses import NLLLoss
    from minidl.optim import SGD
    from minidl.training import Trainer
    curves = []
    for _ in range(inits):
        model = copy.deepcopy(base)
        perturb(model, noise, rng)
        trainer = Trainer(model, NLLLoss(), SGD(model.parameters(), lr=lr), batch_size=len(X), rng=None)
        losses = np.full(steps, np.nan)
        finished = trainer.fit(X, y, epochs=steps).column("train_loss")
        losses[:len(finished)] = finished
        curves.append(losses)
    return curves


def run(cfg: dict, run_dir, log=print) -> dict:
    """For each width, train the perturbed copies, draw one panel; returns the summary."""
    from minidl import plots
    from minidl.data import load_normalized_mnist, sample_with_replacement
    from minidl.models import NeuromatchMLP
    from minidl.plots.nma import plot_loss_panels

    st, seed = cfg["Study"], cfg["Data"]["seed"]
    data = load_normalized_mnist(cfg["Data"]["dir"])
    rng = np.random.default_rng(seed)
    X, y, _ = sample_with_replacement(*data["train"], cfg["Data"]["working_set"], rng)
    panels, results = [], {}
    for hidden in st["hidden"]:
        base = NeuromatchMLP(hidden, rng)
        curves = train_copies(base, X, y, st["inits"], st["noise"], st["lr"], st["steps"], rng)
        n_params = base.num_parameters()
        finals = np.array([c[-1] for c in curves])
        panels.append((f"MLP {hidden}: {n_params:,} parameters", curves))
        r = results[str(hidden)] = {
            "parameters": n_params, "final_losses": finals.tolist(), "final_loss_min": float(np.nanmin(finals)),
            "final_loss_max": float(np.nanmax(finals)), "final_loss_mean": float(np.nanmean(finals)),
            "diverged": int(np.isnan(finals).sum())}
        log(f"MLP {str(hidden):10s} {r['parameters']:>7,} parameters: final loss {r['final_loss_min']:.3f} .. "
            f"{r['final_loss_max']:.3f} (mean {r['final_loss_mean']:.3f}, diverged {r['diverged']})")
    fig = plot_loss_panels(panels, f"Full-batch GD (lr {st['lr']:g}, {st['steps']} steps) on {len(X)} MNIST images "
                           f"from {st['inits']} perturbed copies (noise {st['noise']:g}) of one initialisation",
                           ylim=tuple(st["ylim"]), xlabel="step (full batch)")
    plots.save(fig, run_dir / "loss_curves.png")
    return {"study": "NMA W1D5 section 5: non-convexity and overparameterization", "working_set": len(X),
            "seed": seed, "lr": st["lr"], "steps": st["steps"], "noise": st["noise"], "models": results}


if __name__ == "__main__":
    raise SystemExit(main(__name__))
