"""Train one model from a YAML config, or resume an interrupted run.

    python -m experiments.train configs/config_exp.yaml
    python -m experiments.train configs/config_exp.yaml --set Train.learning_rate=0.05
    python -m experiments.train --resume runs/config_exp-20261122-130515
    python -m experiments.train --resume runs/config_exp-20261122-130515 --set Train.epochs=20

Writes runs/<name>-<timestamp>/ with config.yaml, metrics.csv, curves.png,
best.npz, last.npz and summary.json, and prints the test accuracy.
Ctrl-C (or SIGTERM) stops at the end of the current batch, keeps everything
up to the last completed epoch, and prints the command that resumes.

Exit status: 0 completed, 1 diverged, 2 bad config or data, 128 + signal
number when interrupted (130 for Ctrl-C, 143 for SIGTERM).
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from minidl.runs.config import ConfigError, apply_overrides, load_yaml
from minidl.runs.job import resume_training, run_training
from minidl.runs.folder import create_run_dir
from minidl.runs.job_config import resolve


def load_config(path: str, overrides=()) -> dict:
    """Read, override and validate a training config (ConfigError on any problem)."""
    return resolve(apply_overrides(load_yaml(path), overrides), where=str(path))


def _resume(args) -> tuple[dict, Path]:
    run_dir = Path(args.resume)
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        raise ConfigError(f"{run_dir}: not a run folder (no config.yaml); expected e.g. runs/config_exp-<timestamp>")
    source = args.config or saved
    cfg = load_config(source, args.set)
    return resume_training(run_dir, cfg), run_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", help="YAML config, e.g. configs/config_exp.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set Train.learning_rate=0.05 (repeatable)")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue the run in RUN_DIR from its last completed epoch "
                             "(only Train.epochs may change)")
    args = parser.parse_args(argv)
    if not args.config and not args.resume:
        parser.error("give a config file, e.g. configs/config_exp.yaml, or --resume RUN_DIR")
    try:
        if args.resume:
            summary, run_dir = _resume(args)
        else:
            cfg = load_config(args.config, args.set)
            run_dir = create_run_dir(cfg["Output"]["dir"], cfg["Output"]["name"] or Path(args.config).stem)
            summary = run_training(cfg, run_dir)
    except ValueError as exc:          # ConfigError, DataError, CheckpointError are all ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = summary["status"]
    if status == "interrupted":
        print(f"{summary['message']}; kept {summary['epochs_completed']} completed epoch(s) in {run_dir}. "
              f"Resume with: python -m experiments.train --resume {run_dir}", file=sys.stderr)
        return 128 + int(signal.Signals[summary["signal"]])
    print(f"run folder: {run_dir}")
    return 0 if status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
