"""Deep vs shallow on a 1-D function (NTU MLDS 2018 HW1-1), and the gradient norm during
training (HW1-2.2, function task).

Three networks with about the same number of parameters (~571) fit

    sinc:  y = sin(5 pi x) / (5 pi x)        sign:  y = sgn(sin(5 pi x))

on ``Data.points`` evenly spaced x in (0, 1] (``minidl.toys.functions``), with
MSE and full-batch Adam (one step per epoch), through ``Trainer.fit``.  The six fits
(2 functions x 3 networks) run in parallel worker processes.

Run::

    python -m experiments.mlds.fit_function configs/mlds/fit_function.yaml
    python -m experiments.mlds.fit_function configs/mlds/fit_function.yaml --set Train.epochs=200

Writes ``runs/<name>-<time>/``: config.yaml, ``fit_<function>.png`` (loss per
epoch on a log axis, and the predictions against the truth),
``grad_norm_function.png`` (gradient norm and loss per iteration, first
function, all three networks) and summary.json.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from minidl.layers import ACTIVATIONS
from minidl.runs.cli import main
from minidl.runs.config import Key, optional_positive_int, positive, positive_int
from minidl.toys.functions import FUNCTIONS, function_data


def _functions(value):
    ok = isinstance(value, list) and value and all(v in FUNCTIONS for v in value)
    return None if ok else f"a non-empty list of function names from {sorted(FUNCTIONS)}"


def _models(value):
    ok = value and all(isinstance(k, str) and isinstance(s, list) and len(s) >= 2 and s[0] == 1 and s[-1] == 1
                       and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in s)
                       for k, s in value.items())
    return None if ok else "a mapping name -> layer sizes [1, ..., 1], e.g. {shallow: [1, 190, 1]}"


SCHEMA = {
    "Data": {
        "points": Key(int, 10000, positive_int, doc="evenly spaced x in (0, 1]"),
        "functions": Key(list, ["sinc", "sign"], _functions),
    },
    "Models": Key(dict, {"deep": [1, 5, 10, 10, 10, 10, 10, 5, 1], "medium": [1, 10, 18, 15, 4, 1],
                         "shallow": [1, 190, 1]}, _models),
    "Train": {
        "epochs": Key(int, 20000, positive_int),
        "learning_rate": Key(float, 1e-3, positive, doc="Adam"),
        "batch_size": Key((int, type(None)), None, optional_positive_int, doc="null: full batch"),
        "activation": Key(str, "tanh", choices=sorted(ACTIVATIONS)),
        "seed": Key(int, 0, doc="initialisation (and shuffling when batch_size < points)"),
        "workers": Key(int, 2, positive_int, doc="parallel worker processes"),
    },
}


def fit_one(function: str, sizes: list, train: dict, points: int) -> dict:
    """Train MLP(sizes) on one function; returns curves and predictions (runs in a worker process).

    Returns {'params', 'loss' (per epoch), 'grad_norm' and 'iter_loss' (per iteration),
    'pred' (points,), 'final_loss', 'wall_time_s'}.
    """
    from minidl.analysis import RecordingLoss
    from minidl.losses import MSELoss
    from minidl.models import MLP
    from minidl.optim import Adam
    from minidl.training import Trainer
    from minidl.training.callbacks import GradientStats

    start = time.perf_counter()
    x, y = function_data(function, points)
    rng = np.random.default_rng(train["seed"])
    model = MLP(sizes, activation=train["activation"], rng=rng, dtype=np.float64)
    loss = RecordingLoss(MSELoss())
    stats = GradientStats(weights_only=False, keep_batches=True)
    batch = train["batch_size"] or points
    trainer = Trainer(model, loss, Adam(model.parameters(), lr=train["learning_rate"]), batch_size=batch,
                      rng=rng if batch < points else None, classification=False)
    epoch_loss = trainer.fit(x, y, epochs=train["epochs"], callbacks=[stats]).column("train_loss")
    final = trainer.evaluate(x, y)["loss"]        # after the last step (epoch_loss is before each step)
    grad = np.linalg.norm(np.array(stats.batches), axis=1)      # global norm from per-parameter norms
    return {"params": model.num_parameters(), "loss": epoch_loss, "grad_norm": grad,
            "iter_loss": np.array(loss.values[:len(grad)]), "pred": model.forward(x)[:, 0],
            "final_loss": final, "wall_time_s": time.perf_counter() - start}


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Fit every (function, model) pair of a validated config, draw the figures; returns the summary."""
    from minidl.runs.executors import pinned_process_pool

    data, train = cfg["Data"], cfg["Train"]
    jobs = [(fn, name, sizes) for fn in data["functions"] for name, sizes in cfg["Models"].items()]
    if train["workers"] > 1 and len(jobs) > 1:
        with pinned_process_pool(min(train["workers"], len(jobs))) as pool:
            futures = [pool.submit(fit_one, fn, sizes, train, data["points"]) for fn, _, sizes in jobs]
            results = [f.result() for f in futures]
    else:
        results = [fit_one(fn, sizes, train, data["points"]) for fn, _, sizes in jobs]
    fits = {}
    for (fn, name, sizes), res in zip(jobs, results):
        fits.setdefault(fn, {})[name] = res
        log(f"{fn:>5} {name:>8} {str(sizes):<32} {res['params']:>4} params: final MSE {res['final_loss']:.3e} "
            f"({res['wall_time_s']:.1f} s)")
    batch = "full-batch" if not train["batch_size"] else f"batch {train['batch_size']}"
    setting = (f"{data['points']} points, {train['epochs']} epochs of {batch} Adam "
               f"(lr {train['learning_rate']:g}), {train['activation']}")
    _plot(cfg, fits, setting, run_dir)
    return {
        "study": "NTU MLDS 2018 HW1-1 deep vs shallow; HW1-2.2 gradient norm (function)",
        "setting": setting,
        "results": {fn: {name: {"sizes": cfg["Models"][name], "params": res["params"],
                                "final_loss": res["final_loss"], "min_epoch_loss": float(res["loss"].min()),
                                "final_grad_norm": float(res["grad_norm"][-1]),
                                "wall_time_s": round(res["wall_time_s"], 2)}
                         for name, res in by_model.items()} for fn, by_model in fits.items()},
    }


def _plot(cfg: dict, fits: dict, setting: str, run_dir: Path) -> None:
    """``fit_<function>.png`` for each function; ``grad_norm_function.png`` for the first."""
    from minidl import plots
    from minidl.plots.analysis import plot_function_fit, plot_grad_norm
    for fn, by_model in fits.items():
        x, y = function_data(fn, cfg["Data"]["points"])
        curves = {f"{name} ({res['params']} params)": {"loss": res["loss"], "pred": res["pred"]}
                  for name, res in by_model.items()}
        plots.save(plot_function_fit(x[:, 0], y[:, 0], curves, f"fitting y = {FUNCTIONS[fn][0]}: {setting}"),
                   run_dir / f"fit_{fn}.png")
    first = cfg["Data"]["functions"][0]
    traces = {f"{name} ({res['params']} params)": {"grad_norm": res["grad_norm"], "loss": res["iter_loss"]}
              for name, res in fits[first].items()}
    plots.save(plot_grad_norm(traces, f"gradient norm while fitting {FUNCTIONS[first][0]}\n{setting}",
                              loss_label="training MSE"), run_dir / "grad_norm_function.png")


if __name__ == "__main__":
    raise SystemExit(main(__name__))
