"""Studies that train a few named main-job runs and compare them (HW7's gradients, its CNNs).

Their config names each network by a label and a training config::

    Study:
      runs:                       # label -> training config, relative to this file
        sigmoid: 3a_deep_sigmoid.yaml
        relu: 3b_deep_relu.yaml
      set: {}                     # overrides of every training config, e.g. {Train.epochs: 3}
      from_runs: null             # or {label: finished run folder}: read these instead of training

``train_or_read`` trains each into ``<run folder>/<label>/`` with the main job
(a complete run folder each), or reads ``Study.from_runs``.  Run again into
the same folder (``--resume``), it keeps the networks that completed and
continues an interrupted one from its last epoch.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from minidl.runs.config import REQUIRED, ConfigError, Key, apply_overrides, as_overrides, dotted_keys, load_yaml
from minidl.runs.folder import write_summary
from minidl.training.signals import raise_if_interrupted

__all__ = ["RUNS_SCHEMA", "check_runs", "training_configs", "data_sections", "train_or_read", "require_metrics"]

RUNS_SCHEMA = {
    "runs": Key(dict, REQUIRED, doc="label -> training config, relative to this file"),
    "set": Key((dict, type(None)), None, doc="overrides of every training config, e.g. {Train.epochs: 3}"),
    "from_runs": Key((dict, type(None)), None, doc="label -> finished run folder; skips training"),
}


def check_runs(cfg: dict, where: str) -> None:
    """Every training config resolves; every folder of Study.from_runs holds metrics.

    The paths of Study.runs are rewritten relative to the working directory, so that the
    run's config.yaml names the files that were used (and ``--resume`` finds them).
    """
    study = cfg["Study"]
    if not study["runs"]:
        raise ConfigError(f"{where}: Study.runs is empty; name at least one training config")
    for label, rel in study["runs"].items():
        if not isinstance(rel, str):
            raise ConfigError(f"{where}: Study.runs.{label} must be a config file name; got {rel!r}")
        beside = Path(where).parent / rel            # relative to the config file, unless that is no file:
        if not Path(rel).is_absolute() and beside.is_file():    # the saved config.yaml of --resume has
            study["runs"][label] = os.path.normpath(beside)     # paths relative to the working directory
    study["set"] = dotted_keys(study["set"])
    training_configs(cfg)
    if study["from_runs"] is not None:
        missing = set(study["runs"]) - set(study["from_runs"])
        if missing:
            raise ConfigError(f"{where}: Study.from_runs lacks {sorted(missing)}; give a run folder for every label "
                              f"of Study.runs ({sorted(study['runs'])})")
        for label, folder in study["from_runs"].items():
            require_metrics(folder, f"{where}: Study.from_runs.{label}")


def require_metrics(folder, where: str) -> None:
    if not (Path(str(folder)) / "metrics.csv").is_file():
        raise ConfigError(f"{where}: no metrics.csv in {folder}")


def training_configs(cfg: dict) -> dict:
    """``{label: resolved training config}``, with ``Study.set`` applied to each."""
    from minidl.runs.job_config import resolve
    overrides = as_overrides(cfg["Study"]["set"])
    return {label: resolve(apply_overrides(load_yaml(path), overrides), where=str(path))
            for label, path in cfg["Study"]["runs"].items()}


def data_sections(cfg: dict) -> list[dict]:
    """The networks' Data sections (none when Study.from_runs reads finished runs)."""
    if cfg["Study"]["from_runs"] is not None:
        return []
    return [train_cfg["Data"] for train_cfg in training_configs(cfg).values()]


def _done(folder: Path) -> dict | None:
    """The summary of a run in ``folder`` that completed, else None."""
    path = folder / "summary.json"
    if path.is_file():
        summary = json.loads(path.read_text())
        if summary.get("status") == "completed":
            return summary
    return None


def train_or_read(cfg: dict, run_dir: Path, log) -> dict:
    """``{label: run folder}``: each network trained into ``run_dir/<label>``, or Study.from_runs.

    A network whose folder already holds a completed run is kept, and one with a
    checkpoint (an interrupted run) is resumed from it.
    """
    from minidl.runs.job import resume_training, run_training
    from_runs = cfg["Study"]["from_runs"]
    folders = {}
    for label, train_cfg in training_configs(cfg).items():
        if from_runs is not None:
            folders[label] = Path(from_runs[label])
            log(f"{label}: reading {folders[label]}")
            continue
        folder = folders[label] = run_dir / label
        if _done(folder):
            log(f"{label}: completed before, kept ({folder})")
            continue
        started = time.perf_counter()
        if (folder / "last.npz").is_file():
            summary = resume_training(folder, train_cfg, log=log)
        else:
            summary = run_training(train_cfg, folder, log=log)
        summary = write_summary(folder, summary, started)
        raise_if_interrupted(summary, f"stopped while training {label}")
        if summary["status"] != "completed":
            log(f"{label}: {summary['status']} ({summary.get('message', '')}); plotting the epochs it finished")
    return folders
