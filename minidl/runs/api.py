"""Runs from Python: what the command line does, for a notebook or a script.

    import minidl
    run = minidl.train("configs/config_exp.yaml", **{"Train.epochs": 2})
    run.summary["test_acc"], run.history[-1]
    run.plot()                                   # the curves, inline in Jupyter

    run = minidl.run_study("mlds/random_labels", "configs/mlds/random_labels.yaml", set={"Train.max_epochs": 50})
    run.show()                                   # the figures it wrote, inline
    run = minidl.load_run("runs/config_exp-20261203-120000")

Overrides are the dotted keys of ``--set``, given as keyword arguments
(``**{"Train.epochs": 2}``) or as ``set={"Train.epochs": 2}``.  Everything goes
through the command line's own entry point (``minidl.runs.cli``): the same
validation, the same ConfigError naming the key, the same run folder.
A study is named as its config folder and file are: ``"mlds/random_labels"``
runs ``experiments.mlds.random_labels``; ``"train"`` and ``"sweep"`` are the
main job and the sweep runner.

Sweeps and several studies train in worker processes, which Python starts
afresh (``spawn``): in a script (not in a notebook), call these functions
under ``if __name__ == "__main__":``, or the workers run the script again.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from minidl.runs import cli
from minidl.runs.config import ConfigError, as_overrides, load_yaml
from minidl.runs.folder import read_metrics

__all__ = ["Run", "train", "sweep", "run_study", "load_run", "study_module"]


def study_module(study) -> ModuleType:
    """``"mlds/random_labels"`` -> the module ``experiments.mlds.random_labels`` (a module is returned as is)."""
    if isinstance(study, ModuleType):
        return study
    name = "experiments." + str(study).strip("/").replace("/", ".")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        raise ConfigError(f"no study {study!r}: expected the name of a module of experiments/, e.g. "
                          f"'train', 'sweep', 'mlds/random_labels' or 'nma/case_study'") from None


def run_study(study, config, set: dict | None = None, log=print, **overrides) -> "Run":
    """Run ``study`` (a name such as ``"nma/case_study"``, or a module) from ``config``, a YAML
    path or a dict, with dotted-key overrides.  Returns its ``Run``."""
    module = study_module(study)
    run_dir, summary = cli.run_study(module, config, as_overrides({**(set or {}), **overrides}), log=log)
    return Run(Path(run_dir), summary, module.__name__)


def train(config, set: dict | None = None, log=print, **overrides) -> "Run":
    """``python -m experiments.train CONFIG --set ...``, from Python; returns the ``Run``."""
    return run_study("train", config, set, log, **overrides)


def sweep(config, set: dict | None = None, log=print, **overrides) -> "Run":
    """``python -m experiments.sweep FILE --set ...``, from Python; returns the sweep's ``Run``."""
    return run_study("sweep", config, set, log, **overrides)


def load_run(run_dir) -> "Run":
    """Reopen a finished (or interrupted) run from its folder."""
    run_dir = Path(run_dir)
    path = run_dir / "summary.json"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a finished run folder (no summary.json)")
    try:
        summary = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    return Run(run_dir, summary, None)


@dataclass
class Run:
    """A run folder and what is in it.

    run_dir: the folder;  summary: summary.json;  study: the module that ran it (None when reopened).
    """
    run_dir: Path
    summary: dict
    study: str | None = None

    @property
    def config(self) -> dict:
        """The resolved config the run used (config.yaml)."""
        return load_yaml(self.run_dir / "config.yaml")

    @property
    def history(self) -> list[dict]:
        """The rows of metrics.csv, one per epoch (or round); [] for a run without one."""
        path = self.run_dir / "metrics.csv"
        return read_metrics(path) if path.is_file() and path.stat().st_size else []

    @property
    def model(self):
        """The trained network: the best epoch's (best.npz) when the run kept one, else the last (last.npz)."""
        from minidl.runs.job_config import build_model, resolve
        from minidl.training.checkpoint import restore
        import numpy as np
        path = next((self.run_dir / n for n in ("best.npz", "last.npz") if (self.run_dir / n).is_file()), None)
        if path is None:
            raise ConfigError(f"{self.run_dir}: no model to load (best.npz or last.npz); only the main job "
                              "and sweep points keep one")
        model = build_model(resolve(self.config, str(self.run_dir / "config.yaml")), np.random.default_rng(0))
        restore(path, model)
        return model

    def curves(self) -> tuple[list, list, list, list]:
        """The four lists CS 7643's ``train_model`` returns: train loss, train accuracy, validation
        loss, validation accuracy, one value per epoch (the test set's when there is no validation split)."""
        rows = self.history
        split = "val" if rows and "val_loss" in rows[0] else "test"
        return tuple([r[key] for r in rows] for key in ("train_loss", "train_acc", f"{split}_loss", f"{split}_acc"))

    def plot(self):
        """The run's curves as a figure (shown inline in Jupyter): loss and accuracy per epoch."""
        rows = self.history
        if not rows or "train_loss" not in rows[0]:
            raise ValueError(f"{self.run_dir}: no per-epoch metrics to plot; its figures are {self.figures}")
        from minidl.runs.job import plot_job
        from minidl.runs.job_config import resolve
        try:
            cfg = resolve(self.config, str(self.run_dir / "config.yaml"))
        except ConfigError:                  # not a main-job run: plain curves
            from minidl.plots.training import plot_history
            return plot_history(rows, title=self.run_dir.name)
        return plot_job(rows, cfg, self.run_dir.name)

    @property
    def figures(self) -> list[Path]:
        """The PNG figures the run wrote, by name."""
        return sorted(self.run_dir.glob("*.png"))

    def show(self, *names: str):
        """Display the run's figures (or those named, e.g. ``"error.png"``) inline in Jupyter."""
        from IPython.display import Image, display
        by_name = {p.name: p for p in self.figures}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise ValueError(f"{self.run_dir}: no figure {missing}; it has {sorted(by_name)}")
        chosen = [by_name[name] for name in names] if names else self.figures
        for path in chosen:
            display(Image(filename=str(path)))
        return chosen

    def __repr__(self) -> str:
        status = self.summary.get("status", "done")
        return f"Run({str(self.run_dir)!r}, {status})"
