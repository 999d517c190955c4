"""Number of parameters vs generalization (NTU MLDS 2018 HW1-3.2).

Networks of one structure, three hidden ReLU layers of equal width, are
trained on the full MNIST training set with the same settings; only the width
changes (5, 10, 20, ..., 90), so the parameter count runs from about 4k to
88k.  The networks train in parallel through the sweep runner
(``minidl.runs.study_grid``).  Afterwards each final network is evaluated on
the whole training set and the test set.

    python -m experiments.mlds.parameter_count configs/mlds/parameter_count.yaml

Writes config.yaml, ``sweep-models/`` (one main-job run folder per width),
``results.csv`` (width, parameters, train and test loss and accuracy),
``loss_vs_params.png``, ``accuracy_vs_params.png`` and summary.json.
"""
from __future__ import annotations

from pathlib import Path

from minidl.runs.cli import main
from minidl.runs.config import Key, positive_int
from minidl.runs.study_grid import TRAINING_KEY, grid_check, load_model, load_splits, resume_by_rerun, train_grid, train_test_metrics


def _widths(value):
    ok = (isinstance(value, list) and len(value) >= 2
          and all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in value))
    return None if ok else "a list of at least two positive layer widths, e.g. [5, 10, 20]"


SCHEMA = {
    "Training": TRAINING_KEY,
    "Study": {"widths": Key(list, [5, 10, 20, 30, 40, 50, 60, 70, 80, 90], _widths),
              "hidden_layers": Key(int, 3, positive_int, doc="hidden layers, all of the same width"),
              "workers": Key(int, 2, positive_int)},
}


def grid_points(cfg: dict, where: str = "config") -> list[dict]:
    """One ``{'Model.sizes': [784, w, w, w, 10]}`` override per width."""
    layers = cfg["Study"]["hidden_layers"]
    return [{"Model.sizes": [784] + [w] * layers + [10]} for w in cfg["Study"]["widths"]]


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Train one network per width, evaluate each, draw both figures, write results; returns the summary."""
    from minidl import plots
    from minidl.plots.generalization import plot_vs_params
    from minidl.runs.folder import MetricsWriter

    trained = train_grid(cfg["Training"], grid_points(cfg), run_dir, cfg["Study"]["workers"], log)
    splits = load_splits(trained[0].cfg)           # every width trains on the same data
    writer = MetricsWriter(run_dir / "results.csv")
    rows = []
    for width, point in zip(cfg["Study"]["widths"], trained):
        model = load_model(point)
        row = {"width": width, "params": model.num_parameters(), **train_test_metrics(model, splits),
               "train_seconds": point.summary["wall_time_s"]}
        writer.write(row)
        rows.append(row)
        log(f"width {width:3d} ({row['params']:6,d} parameters): train loss {row['train_loss']:.4f} "
            f"acc {row['train_acc']:.4f}, test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}")
    t = trained[0].cfg["Train"]
    setting = (f"MLP 784-(w x {cfg['Study']['hidden_layers']})-10 ReLU, {len(splits['train'][0]):,} MNIST training "
               f"images, {t['optimizer']} lr {t['learning_rate']:g}, batch {t['batch_size']}, {t['epochs']} epochs")
    params = [r["params"] for r in rows]
    plots.save(plot_vs_params(params, rows, "loss", f"final cross-entropy against the number of parameters\n{setting}"),
               run_dir / "loss_vs_params.png")
    plots.save(plot_vs_params(params, rows, "acc", f"final accuracy against the number of parameters\n{setting}"),
               run_dir / "accuracy_vs_params.png")
    return {"study": "NTU MLDS 2018 HW1-3.2 number of parameters vs generalization", "setting": setting,
            "models": rows}


check = grid_check(grid_points)

resume = resume_by_rerun(run)     # --resume RUN_DIR: the models that finished are kept


if __name__ == "__main__":
    raise SystemExit(main(__name__))
