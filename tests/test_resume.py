"""Runs that survive: interruption at a batch boundary, resume, and refusal of changed configs."""
import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import signal_when_rows

from experiments import train as train_cli
from minidl.runs.cli import main
from minidl.runs.config import ConfigError
from minidl.runs.job import config_differences, resume_training, run_training
from minidl.runs.job_config import resolve
from minidl.training.checkpoint import CheckpointError

REPO = Path(__file__).resolve().parents[1]


def metrics_without_time(path):
    """metrics.csv minus the wall-clock column, the part that must be bit-identical."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keep = [i for i, name in enumerate(rows[0]) if name != "seconds"]
    return [[row[i] for i in keep] for row in rows]


def synthetic_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (10, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    X = (centers[y] + 2.0 * rng.normal(0, 1, (n, 784))).astype(np.float32)
    return {"train": (X[:300], y[:300]), "val": (X[300:], y[300:]), "test": (X[300:], y[300:])}


CFG = {"Train": {"epochs": 4, "batch_size": 16, "learning_rate": 0.05, "optimizer": "sgd", "momentum": 0.9,
                 "scheduler": {"type": "step", "step_size": 1, "gamma": 0.7}, "seed": 3, "grad_stats": True},
       "Model": {"type": "MLP", "sizes": [784, 32, 10], "activation": "tanh"}}


class StopAfter:
    """A callback that requests a stop (as the SIGTERM handler does) after ``n`` batches."""

    def __init__(self, n):
        self.n, self.trainer = n, None

    def begin(self, trainer):
        self.trainer = trainer

    def after_backward(self, model):
        self.n -= 1
        if self.n == 0:
            self.trainer.stop_requested = signal.SIGTERM


def test_interrupt_then_resume_gives_the_metrics_of_an_uninterrupted_run(tmp_path):
    cfg, data = resolve(CFG, "cfg"), synthetic_data()
    straight = run_training(cfg, tmp_path / "straight", data=data, log=lambda line: None)
    assert straight["status"] == "completed"

    stopper = StopAfter(19 * 2 + 7)          # 19 batches per epoch: stop in the middle of epoch 3
    stopped = run_training(cfg, tmp_path / "stopped", data=data, callbacks=[stopper], log=lambda line: None)
    assert stopped["status"] == "interrupted" and stopped["signal"] == "SIGTERM"
    assert stopped["epochs_completed"] == 2 and "during epoch 3" in stopped["message"]
    assert len(metrics_without_time(tmp_path / "stopped" / "metrics.csv")) == 3      # header + 2 epochs

    resumed = resume_training(tmp_path / "stopped", data=data, log=lambda line: None)
    assert resumed["status"] == "completed" and resumed["epochs_completed"] == 4
    assert metrics_without_time(tmp_path / "stopped" / "metrics.csv") == \
        metrics_without_time(tmp_path / "straight" / "metrics.csv")
    assert resumed["test_acc"] == straight["test_acc"]


def test_resume_refuses_a_changed_config_and_names_the_keys(tmp_path):
    cfg, data = resolve(CFG, "cfg"), synthetic_data()
    run_training(cfg, tmp_path, data=data, log=lambda line: None)
    changed = resolve({**CFG, "Train": {**CFG["Train"], "learning_rate": 0.01, "batch_size": 8}}, "cfg")
    with pytest.raises(ConfigError) as err:
        resume_training(tmp_path, changed, data=data, log=lambda line: None)
    assert "Train.learning_rate: 0.05 -> 0.01" in str(err.value) and "Train.batch_size: 16 -> 8" in str(err.value)
    longer = resolve({**CFG, "Train": {**CFG["Train"], "epochs": 6}}, "cfg")
    summary = resume_training(tmp_path, longer, data=data, log=lambda line: None)
    assert summary["epochs_completed"] == 6, "raising Train.epochs continues the run"


def test_config_differences_ignores_only_the_resumable_keys():
    a = resolve(CFG, "a")
    b = resolve({**CFG, "Train": {**CFG["Train"], "epochs": 9, "debug": True}, "Output": {"dir": "elsewhere"}}, "b")
    assert config_differences(a, b) == []
    c = resolve({**CFG, "Data": {"subset": 100}}, "c")
    assert config_differences(a, c) == ["Data.subset: None -> 100"]


def test_corrupted_or_missing_resume_state_is_a_clear_error(tmp_path):
    cfg, data = resolve(CFG, "cfg"), synthetic_data()
    run_training(cfg, tmp_path, data=data, log=lambda line: None)
    last = tmp_path / "last.npz"
    last.write_bytes(last.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="last.npz: checkpoint is truncated or corrupted"):
        resume_training(tmp_path, data=data, log=lambda line: None)
    last.unlink()
    with pytest.raises(ConfigError, match="nothing to resume"):
        resume_training(tmp_path, data=data, log=lambda line: None)


def test_metrics_row_written_just_before_a_kill_is_dropped_on_resume(tmp_path):
    cfg, data = resolve(CFG, "cfg"), synthetic_data()
    run_training({**cfg, "Train": {**cfg["Train"], "epochs": 2}}, tmp_path, data=data, log=lambda line: None)
    reference = metrics_without_time(tmp_path / "metrics.csv")
    with open(tmp_path / "metrics.csv", "a") as f:          # as if killed between the row and last.npz
        f.write("3,9,9,9,9,9,9,9,9,9\n")
    resume_training(tmp_path, resolve({**CFG, "Train": {**CFG["Train"], "epochs": 2}}, "c"),
                    data=data, log=lambda line: None)
    assert metrics_without_time(tmp_path / "metrics.csv") == reference


@pytest.mark.integration
def test_sigterm_mid_epoch_then_resume_is_bit_identical(tmp_path, real_mnist_dir):
    """The real thing: a subprocess killed with SIGTERM in the middle of an epoch, then --resume."""
    common = ["configs/config_twolayer.yaml", "--set", f"Data.dir={real_mnist_dir}", "--set", "Data.subset=6000",
              "--set", "Data.val_fraction=0.05", "--set", "Train.batch_size=10", "--set", "Train.epochs=3",
              "--set", "Train.learning_rate=0.5"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "experiments.train", *common,
                             "--set", f"Output.dir={tmp_path / 'killed'}"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = signal_when_rows(proc, tmp_path / "killed", 1, signal.SIGTERM)   # epoch 1 done: now inside epoch 2
    out, err = proc.communicate(timeout=120)
    assert metrics is not None, f"the run ended before it could be interrupted:\n{out}\n{err}"
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM during epoch 2" in err and "Resume with: python -m experiments.train --resume" in err
    run_dir = metrics.parent
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["epochs_completed"] == 1

    assert main(train_cli, ["--resume", str(run_dir)]) == 0
    assert main(train_cli, [*common, "--set", f"Output.dir={tmp_path / 'straight'}"]) == 0
    (straight,) = (tmp_path / "straight").glob("*/metrics.csv")
    assert metrics_without_time(run_dir / "metrics.csv") == metrics_without_time(straight)
    assert len(metrics_without_time(straight)) == 4


def test_resume_cli_refuses_changes_with_exit_2(tmp_path, capsys):
    cfg, data = resolve(CFG, "cfg"), synthetic_data()
    run_training(cfg, tmp_path, data=data, log=lambda line: None)
    code = main(train_cli, ["--resume", str(tmp_path), "--set", "Train.learning_rate=0.5"])
    err = capsys.readouterr().err
    assert code == 2 and "Differing keys: Train.learning_rate: 0.05 -> 0.5" in err and "Traceback" not in err
    assert main(train_cli, ["--resume", str(tmp_path / "nope")]) == 2
    assert "not a run folder" in capsys.readouterr().err
