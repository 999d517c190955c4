"""What happens when the gradient is almost zero (NTU MLDS 2018 HW1-2.3).

For each of ``Study.runs`` seeds:

1. train a small network (~140 parameters) on the function-fitting task with
   the MSE loss (full-batch Adam, ``Train``);
2. switch the objective to the squared gradient norm f(theta) = ||g(theta)||^2,
   g = dL/dtheta, and minimise it until ||g|| < ``GradNorm.threshold`` or the
   step budget runs out.  Its gradient is grad f = 2 H g, one Hessian-vector
   product (``minidl.analysis.hessian_vector_product``, exact R-operator or a
   central difference of analytic gradients: ``GradNorm.hvp``).  Two methods:

   - ``adam``: Adam on f with the gradient 2 H g, the course's recipe;
   - ``levenberg_marquardt`` (default): f is a least-squares problem with
     residual g and Jacobian H, so the damped Gauss-Newton step solves
     (H^2 + mu I) d = -H g.  The right-hand side is the same gradient H g;
     the curvature H^2 comes from the exact Hessian (P Hessian-vector products,
     cheap at P ~ 140).  We use it because gradient steps on f barely move
     ||g||: f's curvature is H^2, so its condition number is the square of
     the loss's (see docs/mlds-optimization.md);

3. compute the full Hessian at the end point and its minimal ratio (the
   fraction of eigenvalues > 0, ``minimal_ratio``).

Runs go to parallel worker processes pinned to one BLAS thread each.

    python -m experiments.mlds.minimal_ratio configs/mlds/minimal_ratio.yaml
    python -m experiments.mlds.minimal_ratio configs/mlds/minimal_ratio.yaml --set Study.runs=10
    python -m experiments.mlds.minimal_ratio --replot runs/minimal_ratio-<time>     # redraw the figure

Writes config.yaml, runs.csv (one row per seed), minimal_ratio.png (final loss
against minimal ratio; runs that missed the threshold are red crosses) and
summary.json.
"""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np

from minidl.layers import ACTIVATIONS
from minidl.runs.cli import load_config, main
from minidl.runs.config import ConfigError, Key, layer_sizes, positive, positive_int
from minidl.toys.functions import FUNCTIONS, function_data
from minidl.util.fileio import atomic_write_text


def _sizes(value):
    ok = layer_sizes(value) is None and value[0] == 1 and value[-1] == 1
    return None if ok else "layer sizes [1, ..., 1], e.g. [1, 10, 10, 1]"


SCHEMA = {
    "Data": {"function": Key(str, "sinc", choices=sorted(FUNCTIONS)),
             "points": Key(int, 500, positive_int)},
    "Model": {"sizes": Key(list, [1, 10, 10, 1], _sizes), "activation": Key(str, "tanh", choices=sorted(ACTIVATIONS))},
    "Train": {"epochs": Key(int, 500, positive_int, doc="phase 1: full-batch Adam steps on the loss"),
              "learning_rate": Key(float, 1e-2, positive)},
    "GradNorm": {
        "method": Key(str, "levenberg_marquardt", choices=["levenberg_marquardt", "adam"]),
        "hvp": Key(str, "exact", choices=["exact", "fd"], doc="how H g is computed"),
        "steps": Key(int, 100, positive_int, doc="step budget of phase 2"),
        "learning_rate": Key(float, 1e-3, positive, doc="adam only"),
        "threshold": Key(float, 1e-3, positive, doc="stop when ||g|| < threshold"),
    },
    "Study": {"runs": Key(int, 100, positive_int), "first_seed": Key(int, 0),
              "workers": Key(int, 2, positive_int)},
}


def _minimise_adam(model, loss, X, y, spec):
    """Adam on f = ||g||^2 with grad f = 2 H g.  Returns (loss, g, steps taken)."""
    from minidl.analysis import flatten_params, hessian_vector_product, loss_and_grad, unflatten_params
    from minidl.optim import Adam
    from minidl.parameter import Parameter
    theta = Parameter(flatten_params(model))
    opt = Adam([theta], lr=spec["learning_rate"])
    value, g = loss_and_grad(model, loss, X, y)
    step = 0
    while step < spec["steps"] and np.linalg.norm(g) >= spec["threshold"]:
        theta.grad = 2 * hessian_vector_product(model, loss, X, y, g, method=spec["hvp"])
        opt.step()
        unflatten_params(model, theta.data)
        value, g = loss_and_grad(model, loss, X, y)
        step += 1
    return value, g, step


def _minimise_lm(model, loss, X, y, spec):
    """Levenberg-Marquardt on the residual g: d = -(H^2 + mu I)^-1 H g, in H's eigenbasis.

    A step is kept only if it lowers ||g||; mu shrinks after a kept step and grows
    after a rejected one.  Returns (loss, g, accepted steps).
    """
    from minidl.analysis import flatten_params, hessian, loss_and_grad, unflatten_params
    theta = flatten_params(model)
    value, g = loss_and_grad(model, loss, X, y)
    norm, mu, step = np.linalg.norm(g), None, 0
    while step < spec["steps"] and norm >= spec["threshold"]:
        lam, Q = np.linalg.eigh(hessian(model, loss, X, y, method=spec["hvp"]))
        if mu is None:
            mu = 1e-6 * float(np.max(lam ** 2))     # start close to Gauss-Newton
        gq = Q.T @ g
        while True:
            candidate = theta - Q @ (lam * gq / (lam ** 2 + mu))
            unflatten_params(model, candidate)
            new_value, new_g = loss_and_grad(model, loss, X, y)
            if np.linalg.norm(new_g) < norm:
                theta, value, g, norm = candidate, new_value, new_g, np.linalg.norm(new_g)
                mu /= 10
                break
            mu *= 4
            if mu > 1e12 * float(np.max(lam ** 2)):      # no step lowers ||g||: give up
                unflatten_params(model, theta)
                loss_and_grad(model, loss, X, y)
                return value, g, step
        step += 1
    return value, g, step


def one_run(seed: int, cfg: dict) -> dict:
    """Both phases and the Hessian for one seed (runs in a worker process)."""
    from minidl.analysis import default_tolerance, hessian, loss_and_grad, minimal_ratio
    from minidl.losses import MSELoss
    from minidl.models import MLP
    from minidl.optim import Adam
    from minidl.training import Trainer

    start = time.perf_counter()
    X, y = function_data(cfg["Data"]["function"], cfg["Data"]["points"])
    model = MLP(cfg["Model"]["sizes"], activation=cfg["Model"]["activation"], rng=np.random.default_rng(seed),
                dtype=np.float64)
    loss = MSELoss()
    trainer = Trainer(model, loss, Adam(model.parameters(), lr=cfg["Train"]["learning_rate"]),
                      batch_size=len(X), classification=False)
    trainer.fit(X, y, epochs=cfg["Train"]["epochs"])
    loss1, g1 = loss_and_grad(model, loss, X, y)
    spec = cfg["GradNorm"]
    minimise = _minimise_lm if spec["method"] == "levenberg_marquardt" else _minimise_adam
    value, g, steps = minimise(model, loss, X, y, spec)
    eigenvalues = np.linalg.eigvalsh(hessian(model, loss, X, y))
    gnorm = float(np.linalg.norm(g))
    return {"seed": seed, "params": model.num_parameters(), "loss_phase1": loss1,
            "grad_norm_phase1": float(np.linalg.norm(g1)), "final_loss": value, "final_grad_norm": gnorm,
            "steps": steps, "converged": gnorm < spec["threshold"], "minimal_ratio": minimal_ratio(eigenvalues),
            "negative_eigenvalues": int(np.count_nonzero(eigenvalues < -default_tolerance(eigenvalues))),
            "flat_eigenvalues": int(np.count_nonzero(np.abs(eigenvalues) <= default_tolerance(eigenvalues))),
            "min_eigenvalue": float(eigenvalues[0]), "max_eigenvalue": float(eigenvalues[-1]),
            "wall_time_s": round(time.perf_counter() - start, 3)}


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Every seed in worker processes; runs.csv, the figure; returns the summary."""
    from minidl.runs.executors import pinned_process_pool

    study = cfg["Study"]
    seeds = list(range(study["first_seed"], study["first_seed"] + study["runs"]))
    rows = []
    if study["workers"] > 1 and len(seeds) > 1:
        with pinned_process_pool(min(study["workers"], len(seeds))) as pool:
            for row in pool.map(one_run, seeds, [cfg] * len(seeds)):
                rows.append(row)
                log(_row_text(row, len(rows), len(seeds)))
    else:
        for seed in seeds:
            rows.append(one_run(seed, cfg))
            log(_row_text(rows[-1], len(rows), len(seeds)))
    _write_rows(run_dir / "runs.csv", rows)
    ratios, losses, converged = plot_rows(cfg, rows, run_dir)
    spec = cfg["GradNorm"]
    ok = converged if converged.any() else np.ones_like(converged)
    corr = float(np.corrcoef(ratios[ok], np.log10(losses[ok]))[0, 1]) if ok.sum() > 2 and ratios[ok].std() > 0 else None
    summary = {
        "study": "NTU MLDS 2018 HW1-2.3 minimal ratio at near-zero gradient",
        "runs": len(rows), "params": rows[0]["params"], "converged": int(converged.sum()),
        "minimal_ratio": {"mean": float(ratios.mean()), "min": float(ratios.min()), "max": float(ratios.max())},
        "final_loss": {"median": float(np.median(losses)), "min": float(losses.min()), "max": float(losses.max())},
        "corr_minimal_ratio_vs_log10_loss": corr, "corr_over": "converged runs" if converged.any() else "all runs",
        "median_phase2_steps": float(np.median([r["steps"] for r in rows])),
        "mean_run_time_s": float(np.mean([r["wall_time_s"] for r in rows])),
    }
    log(f"{summary['converged']}/{len(rows)} reached ||grad|| < {spec['threshold']:g}; minimal ratio "
        f"{ratios.min():.3f}..{ratios.max():.3f}; corr(ratio, log10 loss) = {corr}")
    return summary


def plot_rows(cfg: dict, rows: list[dict], run_dir: Path):
    """Draw minimal_ratio.png from the per-seed rows; returns (ratios, losses, converged) arrays."""
    from minidl import plots
    from minidl.plots.analysis import plot_minimal_ratio
    ratios = np.array([float(r["minimal_ratio"]) for r in rows])
    losses = np.array([float(r["final_loss"]) for r in rows])
    converged = np.array([r["converged"] in (True, "True") for r in rows])
    spec, model = cfg["GradNorm"], cfg["Model"]
    method = {"levenberg_marquardt": "Levenberg-Marquardt", "adam": f"Adam (lr {spec['learning_rate']:g})"}[spec["method"]]
    title = (f"{len(rows)} runs of MLP {model['sizes']} ({rows[0]['params']} params, {model['activation']})\n"
             f"on {cfg['Data']['points']} points of y = {FUNCTIONS[cfg['Data']['function']][0].replace(' / ', '/')}; "
             f"{cfg['Train']['epochs']} Adam steps on the MSE,\n"
             f"then minimise ||grad||^2 by {method}, at most {spec['steps']} steps")
    plots.save(plot_minimal_ratio(ratios, losses, converged, title, spec["threshold"]), run_dir / "minimal_ratio.png")
    return ratios, losses, converged


def replot(run_dir: str | Path) -> Path:
    """Redraw minimal_ratio.png of a finished run from its config.yaml and runs.csv."""
    run_dir = Path(run_dir)
    if not (run_dir / "runs.csv").is_file():
        raise ConfigError(f"{run_dir}: no runs.csv to redraw; expected the folder of a finished minimal_ratio run")
    cfg = load_config(__name__, run_dir / "config.yaml")
    with open(run_dir / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    plot_rows(cfg, rows, run_dir)
    return run_dir / "minimal_ratio.png"


def _row_text(row: dict, done: int, total: int) -> str:
    return (f"[{done}/{total}] seed {row['seed']}: loss {row['loss_phase1']:.2e} -> {row['final_loss']:.2e}, "
            f"||g|| {row['grad_norm_phase1']:.1e} -> {row['final_grad_norm']:.1e} in {row['steps']} steps, "
            f"minimal ratio {row['minimal_ratio']:.3f} ({row['wall_time_s']:.1f} s)")


def _write_rows(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


if __name__ == "__main__":
    raise SystemExit(main(__name__))
