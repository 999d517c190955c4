"""Train one model from a YAML config.

    python -m experiments.train configs/config_exp.yaml
    python -m experiments.train configs/config_exp.yaml --set Train.learning_rate=0.05

Writes runs/<name>-<timestamp>/ with config.yaml, metrics.csv, curves.png,
best.npz, last.npz and summary.json, and prints the test accuracy.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minidl.config import ConfigError, apply_overrides, load_yaml
from minidl.data import DataError
from minidl.job import run_training
from minidl.runs import create_run_dir
from minidl.trainconfig import resolve


def load_config(path: str, overrides=()) -> dict:
    """Read, override and validate a training config (ConfigError on any problem)."""
    return resolve(apply_overrides(load_yaml(path), overrides), where=str(path))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="YAML config, e.g. configs/config_exp.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set Train.learning_rate=0.05 (repeatable)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.set)
        name = cfg["Output"]["name"] or Path(args.config).stem
        run_dir = create_run_dir(cfg["Output"]["dir"], name)
        summary = run_training(cfg, run_dir)
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"run folder: {run_dir}")
    return 0 if summary["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
