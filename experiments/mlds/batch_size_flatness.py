"""Flatness vs generalization, part 2: sensitivity and sharpness against batch size (NTU MLDS 2018 HW1-3.3).

The same network is trained with several batch sizes (``Grid``), from the
same initialisation and for the same number of epochs, in parallel through the
sweep runner (``minidl.runs.study_grid``).  For each final network:

- train and test loss and accuracy (whole training set, whole test set);
- **sensitivity** (Novak et al. 2018): the Frobenius norm of the Jacobian of
  the softmax output, and of the logits, with respect to the input,
  ||J(x)||_F, per test example, then averaged (``minidl.analysis.sensitivity``);
  ``Sensitivity.output`` picks the one that ``sensitivity.png`` shows;
- the same, **at a random input**, as the NTU MLDS 2018 HW1-3.3 report measures it
  ("2-norm Jacobian Matrix with a random input x (i.e. 784-dimension vector)"):
  ``Sensitivity.random_input.count`` points drawn once, with the seed
  ``Sensitivity.random_input.seed``, uniform on [0, 1)^784 (the pixel range) or
  N(0, 1) per pixel, and the same points for every model.  The report's
  "2-norm" of a matrix may mean the Frobenius norm of its entries or its
  spectral norm, so both are recorded (``sensitivity_random_<output>`` and
  ``sensitivity_random_<output>_spectral``); ``sensitivity.png`` draws the
  Frobenius one beside the test-image mean;
- **sharpness** (Keskar et al. 2017): max over delta in the box
  [-eps, eps]^P of L(theta + delta) - L(theta), estimated from
  ``Sharpness.samples`` random points for each eps, with L the training
  loss on the first ``Sharpness.train_examples`` training images, in float64
  (``minidl.analysis.sharpness``).

The measurements of the models run in parallel worker processes too.

    python -m experiments.mlds.batch_size_flatness configs/mlds/batch_size_flatness.yaml

Writes config.yaml, ``sweep-models/`` (one main-job run per batch size),
``results.csv``, ``sensitivity.png``, ``sharpness.png`` and summary.json.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from minidl.analysis.sensitivity import DISTRIBUTIONS, random_inputs
from minidl.runs.cli import main
from minidl.runs.config import ConfigError, Key, optional_positive_int, positive, positive_int
from minidl.runs.study_grid import GRID_SCHEMA, grid_check, load_model, load_splits, resume_by_rerun, train_grid, train_test_metrics


def _epsilons(value):
    ok = isinstance(value, list) and value and all(positive(v) is None for v in value)
    return None if ok else "a list of box half-widths > 0, e.g. [1.0e-4, 1.0e-3, 1.0e-2]"


def _seed(value):
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "an integer >= 0 (a seed for np.random.default_rng)"


SCHEMA = {
    **GRID_SCHEMA,
    "Sensitivity": {"output": Key(str, "softmax", choices=["softmax", "logits"]),
                    "test_examples": Key((int, type(None)), None, optional_positive_int,
                                         doc="the first N test images; null: all 10,000"),
                    "random_input": {
                        "distribution": Key(str, "uniform", choices=list(DISTRIBUTIONS),
                                            doc="uniform: each pixel on [0, 1); normal: each pixel N(0, 1)"),
                        "count": Key(int, 1, positive_int, doc="random inputs (the report: one); the mean is recorded"),
                        "seed": Key(int, 0, _seed, doc="the points are drawn once, the same for every model")}},
    "Sharpness": {"epsilons": Key(list, [1.0e-4, 1.0e-3, 1.0e-2], _epsilons),
                  "samples": Key(int, 1000, positive_int, doc="random points per box"),
                  "train_examples": Key(int, 1000, positive_int, doc="the loss L is over the first N training images"),
                  "seed": Key(int, 0)},
    "Study": {"workers": Key(int, 2, positive_int)},
}

BATCH_KEY = "Train.batch_size"


def batch_points(cfg: dict, where: str = "config") -> list[dict]:
    """The grid's points, which may vary the batch size only."""
    from minidl.runs.sweep_runner import expand_grid
    points = expand_grid(cfg["Grid"], where)
    if any(set(p) != {BATCH_KEY} for p in points) or len(points) < 2:
        raise ConfigError(f"{where}: Grid must vary {BATCH_KEY} alone, over at least two values; got {cfg['Grid']}")
    return points


def measure(model, X_test, X_random, X_sharp, y_sharp, cfg: dict) -> dict:
    """Sensitivity over X_test and at X_random, and sharpness over (X_sharp, y_sharp), of one trained model.

    The sensitivity over X_test is taken in the model's own dtype; then the model is converted
    to float64 in place for the sharpness, whose smallest loss rises are below float32's
    resolution, and for the sensitivity at X_random (float64): far from the data the softmax
    can saturate, and in float32 its Jacobian then rounds to exactly zero.
    """
    from minidl.analysis import grad_norm, loss_and_grad, sensitivity, sharpness
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.training import evaluate

    start = time.perf_counter()
    # both outputs are kept; Sensitivity.output picks the one the figure shows
    norms = {output: sensitivity(model, X_test, output=output) for output in ("softmax", "logits")}
    spec = cfg["Sharpness"]
    model64, loss = model.astype(np.float64), SoftmaxCrossEntropy()
    X64 = X_sharp.astype(np.float64)
    sharp = sharpness(model64, lambda m: evaluate(m, loss, X64, y_sharp)["loss"], spec["epsilons"],
                      samples=spec["samples"], rng=spec["seed"])
    loss_and_grad(model64, loss, X64, y_sharp)         # ||grad L||: what the first-order term g . delta scales with
    g_norm = grad_norm(model64)
    at_random = {}                                      # the report's measure: at random points of input space
    for output in ("softmax", "logits"):
        frobenius = sensitivity(model64, X_random, output=output)
        at_random[f"sensitivity_random_{output}"] = float(frobenius.mean())
        at_random[f"sensitivity_random_{output}_std"] = float(frobenius.std())
        at_random[f"sensitivity_random_{output}_spectral"] = float(
            sensitivity(model64, X_random, output=output, norm="spectral").mean())
    return {**{f"sensitivity_{k}": float(v.mean()) for k, v in norms.items()},
            **{f"sensitivity_{k}_std": float(v.std()) for k, v in norms.items()}, **at_random,
            "sharpness": sharp["sharpness"], "sharpness_base_loss": sharp["loss"], "grad_norm": g_norm,
            "measure_seconds": round(time.perf_counter() - start, 2)}


def _measure_folder(trained, X_test, X_random, X_sharp, y_sharp, cfg):
    """``measure`` of one trained point, run in a worker process."""
    return measure(load_model(trained), X_test, X_random, X_sharp, y_sharp, cfg)


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Train one model per batch size, measure each, draw both figures, write results; returns the summary."""
    points = batch_points(cfg, str(run_dir / "config.yaml"))
    trained = train_grid(cfg["Training"], points, run_dir, cfg["Study"]["workers"], log)
    splits = load_splits(trained[0].cfg)
    X_test = splits["test"][0][:cfg["Sensitivity"]["test_examples"]]
    n_sharp = cfg["Sharpness"]["train_examples"]
    X_sharp, y_sharp = splits["train"][0][:n_sharp], splits["train"][1][:n_sharp]
    rand = cfg["Sensitivity"]["random_input"]
    X_random = random_inputs(rand["count"], X_test.shape[1], rand["distribution"],
                             np.random.default_rng(rand["seed"]), dtype=np.float64)
    log(f"measuring {len(trained)} models: sensitivity over {len(X_test):,} test images and at {_random_text(cfg)}, "
        f"sharpness from {cfg['Sharpness']['samples']} samples per eps on {len(X_sharp):,} training images")
    measured = _measure_all(cfg, trained, X_test, X_random, X_sharp, y_sharp)
    rows = _results(cfg, points, trained, measured, splits, run_dir / "results.csv", log)
    t = trained[0].cfg
    setting = (f"MLP {t['Model']['sizes']} {t['Model']['activation']}, {len(splits['train'][0]):,} MNIST training "
               f"images, {t['Train']['optimizer']} lr {t['Train']['learning_rate']:g}, {t['Train']['epochs']} "
               f"epoch{'' if t['Train']['epochs'] == 1 else 's'}")
    _plot(cfg, rows, setting, len(X_test), len(X_sharp), run_dir)
    return {"study": "NTU MLDS 2018 HW1-3.3 flatness vs generalization, part 2: sensitivity and sharpness",
            "setting": setting, "sensitivity_output": cfg["Sensitivity"]["output"],
            "sensitivity_test_examples": len(X_test), "sensitivity_random_input": dict(rand),
            "sharpness_train_examples": len(X_sharp),
            "sharpness_samples": cfg["Sharpness"]["samples"], "models": rows}


def _random_text(cfg: dict) -> str:
    """'1 random input x ~ U[0, 1) per pixel (seed 0)', for the log and the figure's title."""
    rand = cfg["Sensitivity"]["random_input"]
    law = "U[0, 1)" if rand["distribution"] == "uniform" else "N(0, 1)"
    count = "1 random input" if rand["count"] == 1 else f"{rand['count']} random inputs (mean)"
    return f"{count} x ~ {law} per pixel (seed {rand['seed']})"


def _measure_all(cfg: dict, trained, X_test, X_random, X_sharp, y_sharp) -> list[dict]:
    """``measure`` of every trained model, in parallel worker processes."""
    from minidl.runs.executors import pinned_process_pool
    jobs = [(t, X_test, X_random, X_sharp, y_sharp, cfg) for t in trained]
    workers = min(cfg["Study"]["workers"], len(jobs))
    if workers > 1:
        with pinned_process_pool(workers) as pool:
            return list(pool.map(_measure_folder, *zip(*jobs)))
    return [_measure_folder(*job) for job in jobs]


def _results(cfg: dict, points, trained, measured, splits, path: Path, log) -> list[dict]:
    """One results.csv row per model: its train/test metrics, sensitivities and sharpness."""
    from minidl.runs.folder import MetricsWriter
    epsilons = [float(e) for e in cfg["Sharpness"]["epsilons"]]
    writer = MetricsWriter(path)
    rows = []
    for point, t, m in zip(points, trained, measured):
        row = {"batch_size": point[BATCH_KEY], **train_test_metrics(load_model(t), splits),
               **{k: v for k, v in m.items() if k.startswith("sensitivity")},
               **{f"sharpness_eps{e:g}": m["sharpness"][e] for e in epsilons},
               "sharpness_grad_norm": m["grad_norm"],
               "train_seconds": t.summary["wall_time_s"], "measure_seconds": m["measure_seconds"]}
        writer.write(row)
        rows.append(row)
        log(f"batch {row['batch_size']:5d}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}, test loss "
            f"{row['test_loss']:.4f} acc {row['test_acc']:.4f}, sensitivity {m['sensitivity_softmax']:.4g} (softmax) "
            f"{m['sensitivity_logits']:.4g} (logits), at the random input {m['sensitivity_random_softmax']:.4g} "
            f"(softmax) {m['sensitivity_random_logits']:.4g} (logits), sharpness "
            + ", ".join(f"{m['sharpness'][e]:.3g}" for e in epsilons))
    return rows


def _plot(cfg: dict, rows: list[dict], setting: str, n_test: int, n_sharp: int, run_dir: Path) -> None:
    """sensitivity.png and sharpness.png."""
    from minidl import plots
    from minidl.plots.generalization import plot_sharpness, plot_vs_batch_size
    epsilons = [float(e) for e in cfg["Sharpness"]["epsilons"]]
    batch_sizes = [r["batch_size"] for r in rows]
    output, samples = cfg["Sensitivity"]["output"], cfg["Sharpness"]["samples"]
    measures = {f"sensitivity, mean over {n_test:,} test images": [r[f"sensitivity_{output}"] for r in rows],
                f"sensitivity at {_random_text(cfg)}": [r[f"sensitivity_random_{output}"] for r in rows]}
    fig = plot_vs_batch_size(batch_sizes, rows, measures, f"sensitivity ||d {output} / d x||_F",
                             f"loss, accuracy and sensitivity ||d {output} / d x||_F against batch size "
                             f"{', '.join(map(str, batch_sizes))}: mean over {n_test:,} test images, and at "
                             f"{_random_text(cfg)}\n{setting}")
    plots.save(fig, run_dir / "sensitivity.png")
    fig = plot_sharpness(batch_sizes, {e: [r[f"sharpness_eps{e:g}"] for r in rows] for e in epsilons},
                         [r["sharpness_grad_norm"] for r in rows], samples,
                         f"sharpness against batch size: {samples} random points in each box "
                         f"[-eps, eps]^P, L = mean loss on {n_sharp:,} training images\n{setting}")
    plots.save(fig, run_dir / "sharpness.png")


check = grid_check(batch_points)

resume = resume_by_rerun(run)     # --resume RUN_DIR: the models that finished are kept


if __name__ == "__main__":
    raise SystemExit(main(__name__))
