"""The main job end to end: config in, run folder out, on the real MNIST files."""
import csv
import json

import numpy as np
import pytest

from experiments import sweep as sweep_cli
from experiments import train as train_cli
from minidl.models import MLP, TwoLayerNet
from minidl.runs.cli import main
from minidl.runs.job import plot_job, run_training
from minidl.runs.job_config import momentum_note, resolve
from minidl.training.checkpoint import CheckpointError, load_checkpoint


def _train(tmp_path, data_dir, *extra):
    args = ["configs/config_twolayer.yaml", "--set", f"Data.dir={data_dir}", "--set", f"Output.dir={tmp_path}",
            "--set", "Data.subset=2000", "--set", "Train.epochs=1", *extra]
    assert main(train_cli, args) == 0
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    return run_dir


def _metrics_without_time(path):
    """metrics.csv minus its wall-clock column: everything else must be bit-identical across runs."""
    with open(path, newline="") as f:
        return [[cell for key, cell in zip(header, row) if key != "seconds"]
                for header in [next(csv.reader(open(path)))] for row in csv.reader(f)]


@pytest.mark.integration
def test_one_epoch_on_a_real_subset_writes_a_complete_run_folder(tmp_path, real_mnist_dir, capsys):
    # the course TwoLayerNet (init 0.001 * randn) sits on a plateau for its first ~100 steps, so the
    # accuracy check uses a ReLU MLP through the same job; the determinism test below uses TwoLayerNet
    run_dir = _train(tmp_path, real_mnist_dir, "--set", "Model.type=MLP", "--set", "Model.sizes=[784, 64, 10]",
                     "--set", "Train.batch_size=32")
    for name in ("config.yaml", "metrics.csv", "curves.png", "best.npz", "summary.json"):
        assert (run_dir / name).is_file(), f"{name} missing from {run_dir}"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["best_epoch"] == 1 and summary["seed"] == 1024
    assert 0.6 < summary["test_acc"] <= 1.0, "one epoch on 2,000 real digits should beat chance by far"
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    assert len(rows) == 1 and float(rows[0]["lr"]) == 0.1
    out = capsys.readouterr().out
    assert "test accuracy of the best model" in out and "\r" not in out
    model_state, _, meta = load_checkpoint(run_dir / "best.npz")
    net = MLP([784, 64, 10])
    net.load_state_dict(model_state)
    with pytest.raises(ValueError, match="shape mismatches"):
        TwoLayerNet().load_state_dict(model_state)
    assert meta["epoch"] == 1


@pytest.mark.integration
def test_same_seed_gives_bit_identical_metrics(tmp_path, real_mnist_dir):
    a = _train(tmp_path / "a", real_mnist_dir, "--set", "Train.epochs=2")
    b = _train(tmp_path / "b", real_mnist_dir, "--set", "Train.epochs=2")
    c = _train(tmp_path / "c", real_mnist_dir, "--set", "Train.epochs=2", "--set", "Train.seed=7")
    assert _metrics_without_time(a / "metrics.csv") == _metrics_without_time(b / "metrics.csv")
    assert _metrics_without_time(a / "metrics.csv") != _metrics_without_time(c / "metrics.csv")


def _synthetic(n=600, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (10, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    X = (centers[y] + 0.5 * rng.normal(0, 1, (n, 784))).astype(np.float32)
    return X, y


def test_run_training_on_synthetic_data_learns_and_keeps_the_best(tmp_path):
    X, y = _synthetic()
    data = {"train": (X[:400], y[:400]), "val": (X[400:500], y[400:500]), "test": (X[500:], y[500:])}
    cfg = resolve({"Train": {"epochs": 3, "batch_size": 32, "learning_rate": 0.05, "optimizer": "adam"},
                   "Model": {"type": "MLP", "sizes": [784, 32, 10]}}, "synthetic")
    summary = run_training(cfg, tmp_path, data=data, log=lambda line: None)
    assert summary["status"] == "completed" and summary["test_acc"] > 0.9
    assert summary["best_val_acc"] == max(float(r["val_acc"]) for r in csv.DictReader(open(tmp_path / "metrics.csv")))


def test_divergence_is_reported_not_crashed(tmp_path):
    X, y = _synthetic()
    data = {"train": (X * 1e3, y), "val": (X[:50], y[:50]), "test": (X[:50], y[:50])}
    cfg = resolve({"Train": {"epochs": 3, "learning_rate": 1e6, "optimizer": "sgd"},
                   "Model": {"type": "MLP", "sizes": [784, 32, 10], "activation": "relu"}}, "diverge")
    lines = []
    summary = run_training(cfg, tmp_path, data=data, log=lines.append)
    assert summary["status"] == "diverged" and summary["epochs_completed"] == 0
    assert "learning rate 1e+06" in summary["message"] and "lower learning rate" in summary["message"]
    assert any("diverged" in line for line in lines)


@pytest.mark.parametrize("model, optimizer, momentum, noted", [
    ("TwoLayerNet", "sgd", 0.9, True),
    ("SoftmaxRegression", "sgd", 0.5, True),
    ("TwoLayerNet", "sgd", 0.0, False),         # the shipped course configs: nothing to say
    ("MLP", "sgd", 0.9, False),                 # not a course model: momentum is simply a setting
    ("TwoLayerNet", "adam", 0.9, False),        # momentum does not reach adam at all
])
def test_a_course_model_with_momentum_says_so_once(tmp_path, model, optimizer, momentum, noted):
    X, y = _synthetic(200)
    data = {"train": (X[:100], y[:100]), "val": (X[100:150], y[100:150]), "test": (X[150:], y[150:])}
    cfg = resolve({"Train": {"epochs": 1, "optimizer": optimizer, "momentum": momentum},
                   "Model": {"type": model, "sizes": [784, 16, 10]}}, "momentum")
    lines = []
    run_training(cfg, tmp_path, data=data, log=lines.append, plot=False)
    notes = [line for line in lines if line.startswith("note: Train.momentum")]
    if not noted:
        assert notes == [] and momentum_note(cfg) is None
        return
    assert notes == [momentum_note(cfg)], "the note is printed exactly once"
    assert f"momentum {momentum:g} is applied to {model}" in notes[0]
    assert "the course's SGD ignores momentum" in notes[0] and "momentum: 0.0 reproduces" in notes[0]


def test_the_figure_title_shows_the_momentum():
    rows = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.0, "val_acc": 0.5, "lr": 0.1}]
    sgd = resolve({"Train": {"momentum": 0.9, "nesterov": True}, "Model": {"type": "TwoLayerNet"}}, "title")
    title = plot_job(rows, sgd, "run")._suptitle.get_text()
    assert title == "run: TwoLayerNet h=128, sgd lr=0.1 momentum=0.9 nesterov reg=0 batch=64"
    plain = resolve({"Model": {"type": "TwoLayerNet"}}, "title")
    assert "sgd lr=0.1 momentum=0 reg=0" in plot_job(rows, plain, "run")._suptitle.get_text()
    adam = resolve({"Train": {"optimizer": "adam"}, "Model": {"type": "TwoLayerNet"}}, "title")
    assert "momentum" not in plot_job(rows, adam, "run")._suptitle.get_text()


@pytest.mark.integration
def test_unwritable_output_dir_fails_before_training(tmp_path, real_mnist_dir, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = main(train_cli, ["configs/config_twolayer.yaml", "--set", f"Output.dir={blocker}/runs",
                            "--set", f"Data.dir={real_mnist_dir}"])
    assert code == 2
    assert "cannot write to output directory" in capsys.readouterr().err


def test_bad_config_exits_2_with_one_line(tmp_path, capsys):
    code = main(train_cli, ["configs/config_twolayer.yaml", "--set", "Train.learnig_rate=0.1"])
    err = capsys.readouterr().err
    assert code == 2 and "did you mean learning_rate?" in err and "Traceback" not in err


def test_corrupted_checkpoint_gives_a_clear_error(tmp_path):
    path = tmp_path / "best.npz"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(path)


@pytest.mark.integration
def test_sweep_runs_points_in_parallel_and_skips_finished_ones(tmp_path, real_mnist_dir, capsys):
    sweep_file = tmp_path / "tiny.yaml"
    sweep_file.write_text(f"""
Sweep:
  base: {train_cli.__file__.rsplit('/', 2)[0]}/configs/config_twolayer.yaml
  name: tiny
  grid:
    Train.learning_rate: [0.5, 0.05]
  set:
    Train.epochs: 1
    Data.subset: 500
    Data.dir: {real_mnist_dir}
Output:
  dir: {tmp_path}
""")
    assert main(sweep_cli, [str(sweep_file), "--workers", "2"]) == 0
    sweep_dir = tmp_path / "sweep-tiny"
    rows = list(csv.DictReader(open(sweep_dir / "results.csv")))
    assert [r["Train.learning_rate"] for r in rows] == ["0.5", "0.05"]
    assert all(r["status"] == "completed" and 0 < float(r["test_acc"]) <= 1 for r in rows)
    assert (sweep_dir / "comparison.png").stat().st_size > 10_000
    assert json.loads((sweep_dir / "summary.json").read_text())["completed"] == 2
    capsys.readouterr()
    assert main(sweep_cli, [str(sweep_file), "--workers", "2"]) == 0
    assert "2 already done" in capsys.readouterr().out
