"""Flatness vs generalization, part 1: the loss between two minima (NTU MLDS 2018 HW1-3.3).

The same network is trained twice, with one setting changed (``Grid``: batch
64 against 1024, or learning rate 1e-3 against 1e-2).  Both runs start from
the same initialisation and see the batches in the same seeded order, so the
setting is the only difference; or, with ``Study.different_init: true`` (the
assignment's protocol, two separate trainings), from two initialisations.  Then the parameters are moved along the line

    theta(alpha) = (1 - alpha) * theta1 + alpha * theta2,   alpha from -1 to 2,

and at every alpha the network is evaluated on the whole training set and the
test set (``minidl.analysis.interpolation_curve``).  alpha = 0 and alpha = 1
are the two trained networks exactly: their losses there are the networks' own.

    python -m experiments.mlds.interpolation configs/mlds/interpolation.yaml       # batch 64 vs 1024
    python -m experiments.mlds.interpolation configs/mlds/interpolation_lr.yaml    # lr 1e-3 vs 1e-2
    python -m experiments.mlds.interpolation configs/mlds/interpolation_init.yaml  # batch 64 vs 1024, two inits

Writes config.yaml, ``sweep-models/`` (the two main-job runs),
``interpolation.csv`` (alpha, train/test loss and accuracy),
``interpolation.png`` and summary.json (with ``barrier``: the largest training loss
for alpha in [0, 1] minus the larger of the two endpoints').
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from minidl.runs.cli import main
from minidl.runs.config import ConfigError, Key, is_number, positive_int
from minidl.runs.study_grid import GRID_SCHEMA, grid_check, load_model, load_splits, resume_by_rerun, train_grid, train_test_metrics

SCHEMA = {
    **GRID_SCHEMA,
    "Interpolation": {"low": Key(float, -1.0, lambda v: None if is_number(v) and v < 0 else "a number < 0"),
                      "high": Key(float, 2.0, lambda v: None if is_number(v) and v > 1 else "a number > 1"),
                      "steps": Key(int, 61, lambda v: None if positive_int(v) is None and v >= 3 else "an integer >= 3",
                                   doc="alphas from low to high (0 and 1 are always among them)")},
    "Study": {"workers": Key(int, 2, positive_int),
              "different_init": Key(bool, False, doc="start theta2 from another initialisation (Train.seed + 1), "
                                                     "as two separate trainings do in the assignment")},
}


def two_points(cfg: dict, where: str = "config") -> list[dict]:
    """The grid's two models; any other number is a ConfigError."""
    from minidl.runs.sweep_runner import expand_grid
    points = expand_grid(cfg["Grid"], where)
    if len(points) != 2:
        raise ConfigError(f"{where}: Grid must give exactly two models to interpolate between; "
                          f"it gives {len(points)} ({cfg['Grid']})")
    if cfg["Study"]["different_init"]:
        if "Train.seed" in cfg["Grid"]:
            raise ConfigError(f"{where}: Study.different_init sets the seeds itself; remove Train.seed from Grid")
        seed = (cfg["Training"].get("Train") or {}).get("seed", 1024)
        points = [{**point, "Train.seed": seed + i} for i, point in enumerate(points)]
    return points


def barrier(rows: list[dict], key: str = "train_loss") -> float:
    """The largest ``key`` over alpha in [0, 1], minus the larger of its two endpoint values:
    how far the loss rises on the way from one minimum to the other (0: no barrier)."""
    inside = [row[key] for row in rows if 0.0 <= row["alpha"] <= 1.0]
    ends = [row[key] for row in rows if row["alpha"] in (0.0, 1.0)]
    return float(max(inside) - max(ends))


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Train both models, evaluate the line between them, draw it, write the CSV; returns the summary."""
    from minidl import plots
    from minidl.analysis import flatten_params, interpolation_alphas, interpolation_curve
    from minidl.plots.generalization import plot_interpolation
    from minidl.runs.folder import MetricsWriter
    from minidl.runs.sweep_runner import point_label

    points = two_points(cfg, str(run_dir / "config.yaml"))
    trained = train_grid(cfg["Training"], points, run_dir, cfg["Study"]["workers"], log)
    splits = load_splits(trained[0].cfg)

    def measure(model) -> dict:
        return train_test_metrics(model, splits)

    models = [load_model(t) for t in trained]
    own = [measure(m) for m in models]
    thetas = [flatten_params(m) for m in models]
    spec = cfg["Interpolation"]
    alphas = interpolation_alphas(spec["low"], spec["high"], spec["steps"])
    log(f"evaluating {len(alphas)} points on the line between the two models "
        f"({len(splits['train'][0]):,} training and {len(splits['test'][0]):,} test images each)")
    rows = interpolation_curve(models[0], thetas[0], thetas[1], alphas, measure)
    writer = MetricsWriter(run_dir / "interpolation.csv")
    for row in rows:
        writer.write(row)
    at = {row["alpha"]: row for row in rows}
    endpoints_exact = all({k: at[a][k] for k in own[i]} == own[i] for i, a in enumerate((0.0, 1.0)))
    labels = [point_label(p) for p in points]
    t = trained[0].cfg
    start = "different initialisations" if cfg["Study"]["different_init"] else "same initialisation and seed"
    setting = (f"MLP {t['Model']['sizes']} {t['Model']['activation']}, {len(splits['train'][0]):,} MNIST training "
               f"images, {t['Train']['optimizer']}, {t['Train']['epochs']} epochs (the assignment: 500), {start}")
    fig = plot_interpolation(rows, (f"theta1: {labels[0]}", f"theta2: {labels[1]}"),
                             f"loss and accuracy along theta = (1 - alpha) theta1 + alpha theta2\n"
                             f"theta1: {labels[0]}, theta2: {labels[1]}; {setting}")
    plots.save(fig, run_dir / "interpolation.png")
    summary = {"study": "NTU MLDS 2018 HW1-3.3 flatness vs generalization, part 1: interpolation",
               "setting": setting,
               "models": [{"label": lab, **m, "train_seconds": tr.summary["wall_time_s"]}
                          for lab, m, tr in zip(labels, own, trained)],
               "endpoints_equal_models": endpoints_exact,
               # the largest train loss for alpha in [0, 1] minus the larger endpoint's: the barrier
               "barrier": barrier(rows), "test_barrier": barrier(rows, "test_loss"),
               # one unit of alpha is this far in parameter space, on both sides
               "distance_theta1_theta2": float(np.linalg.norm((thetas[1] - thetas[0]).astype(np.float64))),
               "midpoint": at.get(0.5) or min(rows, key=lambda r: abs(r["alpha"] - 0.5)),
               "alphas": len(rows)}
    for lab, m in zip(labels, own):
        log(f"{lab}: train loss {m['train_loss']:.4f} acc {m['train_acc']:.4f}, "
            f"test loss {m['test_loss']:.4f} acc {m['test_acc']:.4f}")
    log(f"endpoints equal the trained models: {endpoints_exact}; barrier (train loss) {summary['barrier']:.4f}")
    return summary


check = grid_check(two_points)

resume = resume_by_rerun(run)     # --resume RUN_DIR: the models that finished are kept


if __name__ == "__main__":
    raise SystemExit(main(__name__))
