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
from minidl.runs.cli import main
from minidl.runs.job import resume_training as resume
from minidl.runs.job import run_training as run
from minidl.runs.job_config import SCHEMA, check

__all__ = ["SCHEMA", "check", "run", "resume"]

if __name__ == "__main__":
    raise SystemExit(main(__name__))
