"""What happens when the gradient is almost zero (NTU MLDS 2018 HW1-2.3).

For each of ``Study.runs`` seeds:

1. train a small network (~140 parameters, float64) on the function-fitting task with
   the MSE loss (full-batch Adam, ``Train``);
2. drive the gradient g = dL/dtheta towards zero until ||g|| <= ``GradNorm.threshold`` or the step
   budget runs out (``GradNorm.method``; the second-order ones are in
   ``minidl.analysis.critical_points`` and use the exact Hessian, P ~ 140, eigendecomposed each step):

   - ``saddle_free_newton`` (default): lower the loss with d = -Q diag(1 / (|lam| + mu)) Q^T g, mu
     adapted like a trust region.  It reaches ||g|| <= 1e-5 in about 100 steps, by going downhill;
   - ``levenberg_marquardt``: treat g as a residual with Jacobian H and solve (H^2 + mu I) d = -H g,
     towards the nearest critical point whatever its loss.  Near Adam's end points those are
     degenerate and it converges only linearly (see docs/mlds-optimization.md);
   - ``adam``: Adam on f = ||g||^2 with the gradient grad f = 2 H g (one Hessian-vector product,
     ``GradNorm.hvp``), the course's recipe;

3. compute the full Hessian at the end point and count its eigenvalues: the minimal ratio (the fraction
   > tol) at tol = 0 and at the rank tolerance P * eps * max|lam| (``default_tolerance``), the
   negative ones at both, and whether the point is a minimum or a saddle (no eigenvalue < -tol).

Runs go to parallel worker processes pinned to one BLAS thread each.

    python -m experiments.mlds.minimal_ratio configs/mlds/minimal_ratio.yaml
    python -m experiments.mlds.minimal_ratio configs/mlds/minimal_ratio.yaml --set Study.runs=10
    python -m experiments.mlds.minimal_ratio --replot runs/minimal_ratio-<time>     # redraw the figures

Writes config.yaml, runs.csv (one row per seed), eigenvalues.npz (seeds (R,), eigenvalues (R, P)),
minimal_ratio.png (final loss against the minimal ratio; minima and saddles, runs that missed the
threshold as red crosses), minimal_ratio_tolerance.png (the ratio against the tolerance; the counts
of negative eigenvalues) and summary.json.
"""
from __future__ import annotations

import csv
import io
import time
from functools import partial
from pathlib import Path

import numpy as np

from minidl.layers import ACTIVATIONS
from minidl.runs.cli import load_config, main
from minidl.runs.config import ConfigError, Key, layer_sizes, positive, positive_int
from minidl.toys.functions import FUNCTIONS, function_data
from minidl.util.fileio import atomic_write_bytes, atomic_write_text


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
        "method": Key(str, "saddle_free_newton", choices=["saddle_free_newton", "levenberg_marquardt", "adam"]),
        "hvp": Key(str, "exact", choices=["exact", "fd"], doc="how H g and the Hessian are computed"),
        "steps": Key(int, 300, positive_int, doc="step budget of phase 2 (Hessians, or Adam steps)"),
        "learning_rate": Key(float, 1e-3, positive, doc="adam only"),
        "threshold": Key(float, 1e-5, positive, doc="stop when ||g|| <= threshold"),
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
    while step < spec["steps"] and np.linalg.norm(g) > spec["threshold"]:
        theta.grad = 2 * hessian_vector_product(model, loss, X, y, g, method=spec["hvp"])
        opt.step()
        unflatten_params(model, theta.data)
        value, g = loss_and_grad(model, loss, X, y)
        step += 1
    return value, g, step


def _minimise(model, loss, X, y, spec):
    """Phase 2 by ``GradNorm.method``: returns (loss, g (P,), steps)."""
    from minidl.analysis import levenberg_marquardt, saddle_free_newton
    if spec["method"] == "adam":
        return _minimise_adam(model, loss, X, y, spec)
    minimise = saddle_free_newton if spec["method"] == "saddle_free_newton" else levenberg_marquardt
    return minimise(model, loss, X, y, spec["steps"], spec["threshold"], method=spec["hvp"])


def one_run(seed: int, cfg: dict) -> dict:
    """Both phases and the Hessian for one seed (runs in a worker process).

    Returns the runs.csv row, plus 'eigenvalues': the (P,) spectrum at the end point, ascending.
    """
    from minidl.analysis import default_tolerance, hessian, loss_and_grad, spectrum_counts
    from minidl.losses import MSELoss
    from minidl.models import MLP
    from minidl.optim import Adam
    from minidl.training import Trainer

    start = time.perf_counter()
    X, y = function_data(cfg["Data"]["function"], cfg["Data"]["points"])
    # float64: in float32 the rank tolerance P * eps * max|lam| would be ~5e-4 (eps 1.2e-7, max|lam| ~ 30),
    # larger than every negative eigenvalue found at ||g|| <= 1e-5, and the loss's decrements near 1e-8
    # would be rounding
    model = MLP(cfg["Model"]["sizes"], activation=cfg["Model"]["activation"], rng=np.random.default_rng(seed),
                dtype=np.float64)
    loss = MSELoss()
    trainer = Trainer(model, loss, Adam(model.parameters(), lr=cfg["Train"]["learning_rate"]),
                      batch_size=len(X), classification=False)
    trainer.fit(X, y, epochs=cfg["Train"]["epochs"])
    loss1, g1 = loss_and_grad(model, loss, X, y)
    value, g, steps = _minimise(model, loss, X, y, cfg["GradNorm"])
    eigenvalues = np.linalg.eigvalsh(hessian(model, loss, X, y))
    gnorm, rank_tol = float(np.linalg.norm(g)), default_tolerance(eigenvalues)
    at_zero, at_rank = spectrum_counts(eigenvalues, 0.0), spectrum_counts(eigenvalues, rank_tol)
    return {"seed": seed, "params": model.num_parameters(), "loss_phase1": loss1,
            "grad_norm_phase1": float(np.linalg.norm(g1)), "final_loss": value, "final_grad_norm": gnorm,
            "steps": steps, "converged": gnorm <= cfg["GradNorm"]["threshold"], "rank_tol": rank_tol,
            "minimal_ratio_tol0": at_zero["positive"] / eigenvalues.size,
            "minimal_ratio_rank_tol": at_rank["positive"] / eigenvalues.size,
            "negative_tol0": at_zero["negative"], "negative_rank_tol": at_rank["negative"],
            "flat_rank_tol": at_rank["flat"], "end_point": "saddle" if at_rank["negative"] else "minimum",
            "min_eigenvalue": float(eigenvalues[0]), "max_eigenvalue": float(eigenvalues[-1]),
            "wall_time_s": round(time.perf_counter() - start, 3), "eigenvalues": eigenvalues}


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Every seed in worker processes; runs.csv, eigenvalues.npz, the figures; returns the summary."""
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
    eigenvalues = np.stack([row.pop("eigenvalues") for row in rows])
    _write_rows(run_dir / "runs.csv", rows)
    atomic_write_bytes(run_dir / "eigenvalues.npz", _npz_bytes(seeds=np.array(seeds), eigenvalues=eigenvalues))
    plot_rows(cfg, rows, eigenvalues, run_dir)
    summary = summarise(rows, cfg["GradNorm"]["threshold"])
    log(f"{summary['converged']}/{len(rows)} reached ||grad|| <= {cfg['GradNorm']['threshold']:g}; minimal ratio "
        f"(rank tol) {summary['minimal_ratio_rank_tol']['min']:.3f}..{summary['minimal_ratio_rank_tol']['max']:.3f}; "
        f"{summary['saddles']} saddles, {summary['minima']} minima")
    return summary


def summarise(rows: list[dict], threshold: float) -> dict:
    """summary.json from the per-seed rows: convergence, the ratio at both tolerances, the counts."""
    column = partial(_column, rows)
    converged = np.array([r["converged"] in (True, "True") for r in rows])
    losses, ratio = column("final_loss"), column("minimal_ratio_rank_tol")
    ok = converged if converged.sum() > 2 else np.ones_like(converged)
    corr = float(np.corrcoef(ratio[ok], np.log10(losses[ok]))[0, 1]) if ratio[ok].std() > 0 else None
    saddles = sum(r["end_point"] == "saddle" for r in rows)
    return {
        "study": "NTU MLDS 2018 HW1-2.3 minimal ratio at near-zero gradient",
        "runs": len(rows), "params": int(rows[0]["params"]), "threshold": threshold,
        "converged": int(converged.sum()), "converged_fraction": float(converged.mean()),
        "final_grad_norm": _spread(column("final_grad_norm")), "final_loss": _spread(losses),
        "loss_phase1": _spread(column("loss_phase1")), "steps": _spread(column("steps")),
        "minimal_ratio_tol0": _spread(column("minimal_ratio_tol0")), "minimal_ratio_rank_tol": _spread(ratio),
        "negative_tol0": _spread(column("negative_tol0")), "negative_rank_tol": _spread(column("negative_rank_tol")),
        "flat_rank_tol": _spread(column("flat_rank_tol")), "min_eigenvalue": _spread(column("min_eigenvalue")),
        "saddles": saddles, "minima": len(rows) - saddles,
        "corr_minimal_ratio_rank_tol_vs_log10_loss": corr,
        "corr_over": "converged runs" if converged.sum() > 2 else "all runs",
        "mean_run_time_s": float(column("wall_time_s").mean()),
    }


def plot_rows(cfg: dict, rows: list[dict], eigenvalues: np.ndarray, run_dir: Path) -> None:
    """Draw minimal_ratio.png and minimal_ratio_tolerance.png from the rows and the (R, P) spectra."""
    from minidl import plots
    from minidl.plots.analysis import plot_minimal_ratio, plot_ratio_tolerance
    column = partial(_column, rows)
    converged = np.array([r["converged"] in (True, "True") for r in rows])
    minima = np.array([r["end_point"] == "minimum" for r in rows])
    spec, model = cfg["GradNorm"], cfg["Model"]
    method = {"saddle_free_newton": "saddle-free Newton on the loss",
              "levenberg_marquardt": "Levenberg-Marquardt on ||grad||^2",
              "adam": f"Adam on ||grad||^2 (lr {spec['learning_rate']:g})"}[spec["method"]]
    title = (f"{len(rows)} runs of MLP {model['sizes']} ({rows[0]['params']} params, {model['activation']}, float64)\n"
             f"on {cfg['Data']['points']} points of y = {FUNCTIONS[cfg['Data']['function']][0].replace(' / ', '/')}; "
             f"{cfg['Train']['epochs']} Adam steps on the MSE,\n"
             f"then {method}, at most {spec['steps']} steps")
    plots.save(plot_minimal_ratio(column("minimal_ratio_rank_tol"), column("final_loss"), converged, title,
                                  spec["threshold"], minima=minima, ratios_tol0=column("minimal_ratio_tol0"),
                                  tol_name="P eps max|lam|; hollow: > 0"), run_dir / "minimal_ratio.png")
    plots.save(plot_ratio_tolerance(eigenvalues, column("rank_tol"), title), run_dir / "minimal_ratio_tolerance.png")


COLUMNS = ("minimal_ratio_tol0", "minimal_ratio_rank_tol", "negative_rank_tol", "rank_tol", "end_point")


def replot(run_dir: str | Path) -> Path:
    """Redraw the figures of a finished run from its config.yaml, runs.csv and eigenvalues.npz."""
    run_dir = Path(run_dir)
    if not (run_dir / "runs.csv").is_file():
        raise ConfigError(f"{run_dir}: no runs.csv to redraw; expected the folder of a finished minimal_ratio run")
    cfg = load_config(__name__, run_dir / "config.yaml")
    with open(run_dir / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in COLUMNS if not rows or c not in rows[0]]
    lacks = ([f"runs.csv has no column {', '.join(missing)}"] if missing else []) + \
            ([] if (run_dir / "eigenvalues.npz").is_file() else ["there is no eigenvalues.npz"])
    if lacks:
        raise ConfigError(f"{run_dir}: {'; '.join(lacks)}. The run was made by an older minimal_ratio "
                          f"(one ratio, no spectra); run the study again to get both tolerances")
    with np.load(run_dir / "eigenvalues.npz") as saved:
        eigenvalues = saved["eigenvalues"]
    plot_rows(cfg, rows, eigenvalues, run_dir)
    return run_dir / "minimal_ratio.png"


def _row_text(row: dict, done: int, total: int) -> str:
    return (f"[{done}/{total}] seed {row['seed']}: loss {row['loss_phase1']:.2e} -> {row['final_loss']:.2e}, "
            f"||g|| {row['grad_norm_phase1']:.1e} -> {row['final_grad_norm']:.1e} in {row['steps']} steps, "
            f"minimal ratio {row['minimal_ratio_tol0']:.3f} (tol 0) / {row['minimal_ratio_rank_tol']:.3f} "
            f"(rank tol), {row['negative_rank_tol']} negative: {row['end_point']} ({row['wall_time_s']:.1f} s)")


def _column(rows: list[dict], key: str) -> np.ndarray:
    """(R,) floats of one runs.csv column (rows from one_run, or read back as strings)."""
    return np.array([float(r[key]) for r in rows])


def _spread(values: np.ndarray) -> dict:
    return {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max())}


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _write_rows(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


if __name__ == "__main__":
    raise SystemExit(main(__name__))
