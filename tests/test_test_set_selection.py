"""No model selection on the test set (issue 18, item 4): without a validation split the run keeps,
reports and sweeps record the last epoch's model, and every summary says which epoch it measured."""
import csv

import numpy as np
from test_resume import synthetic_data

from minidl.runs.job import run_training
from minidl.runs.job_config import resolve
from minidl.training.checkpoint import load_checkpoint

CFG = {"Train": {"epochs": 6, "batch_size": 16, "learning_rate": 2.0, "seed": 3},     # a rate that wobbles
       "Model": {"type": "MLP", "sizes": [784, 32, 10], "activation": "tanh"}, "Data": {"val_fraction": 0}}


def no_validation(data):
    X, y = data["train"]
    return {"train": (X, y), "val": (X[:0], y[:0]), "test": data["test"]}


def test_without_a_validation_split_the_last_epoch_is_kept_and_reported(tmp_path):
    summary = run_training(resolve(CFG, "cfg"), tmp_path, data=no_validation(synthetic_data()), log=lambda line: None)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    last = rows[-1]
    assert summary["model_epoch"] == summary["epochs_completed"] == int(last["epoch"]) == 6
    assert summary["test_acc"] == float(last["test_acc"])                   # the last epoch's, not the best one
    assert "best_test_acc" not in summary and "best_epoch" not in summary and "nothing is chosen" in summary["model"]
    assert load_checkpoint(tmp_path / "best.npz")[2]["epoch"] == 6


def test_with_a_validation_split_the_best_validation_epoch_is_kept(tmp_path):
    cfg = resolve({**CFG, "Data": {"val_fraction": 0.2}}, "cfg")
    summary = run_training(cfg, tmp_path, data=synthetic_data(), log=lambda line: None)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    best = max(rows, key=lambda r: float(r["val_acc"]))
    assert summary["model_epoch"] == summary["best_epoch"] == int(best["epoch"])
    assert summary["best_val_acc"] == float(best["val_acc"])
    assert np.isfinite(summary["test_acc"])
