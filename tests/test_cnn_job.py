"""CNNs through the main job: Model.type Sequential, modes, augmentation, resume (issue 17)."""
import json

import numpy as np
import pytest
from test_resume import StopAfter, metrics_without_time

from experiments import train as train_cli
from minidl.layers import BatchNorm2d, Conv2d, Dropout, Linear
from minidl.runs.cli import main
from minidl.runs.config import ConfigError
from minidl.runs.job import resume_training, run_training
from minidl.runs.job_config import build_model, resolve

LENET = {"type": "Sequential", "input_shape": [1, 28, 28],
         "layers": [{"Conv2d": {"out_channels": 4, "kernel_size": 5, "padding": 2}}, "ReLU", {"MaxPool2d": 2},
                    {"Conv2d": {"out_channels": 8, "kernel_size": 5}}, {"BatchNorm2d": None}, "ReLU",
                    {"MaxPool2d": 2}, "Flatten", {"Dropout": 0.3}, {"Linear": {"out_features": 10}}]}
CFG = {"Train": {"epochs": 3, "batch_size": 16, "learning_rate": 0.05, "momentum": 0.9, "seed": 2},
       "Model": LENET, "Data": {"augment": {"shift": 2, "rotate": 10, "scale": 0.1}}}


def images(n=160, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = np.zeros((n, 1, 28, 28), np.float32)
    for i, label in enumerate(y):                       # a bar whose place is the class
        X[i, 0, 4 + 2 * label:7 + 2 * label, 6:22] = 1.0
    X += 0.1 * rng.random(X.shape, dtype=np.float32)
    return {"train": (X[:120], y[:120]), "val": (X[120:], y[120:]), "test": (X[120:], y[120:])}


def test_the_issues_example_builds_with_every_size_inferred():
    net = build_model(resolve(CFG, "cfg"), np.random.default_rng(0))
    kinds = [type(layer) for layer in net.layers]
    assert kinds[0] is Conv2d and kinds[4] is BatchNorm2d and kinds[-2] is Dropout and kinds[-1] is Linear
    assert net.layers[3].W.data.shape == (8, 4, 5, 5) and net.layers[4].num_features == 8
    assert net.layers[-1].W.data.shape == (8 * 5 * 5, 10)
    assert net.forward(np.zeros((3, 1, 28, 28), np.float32)).shape == (3, 10)


@pytest.mark.parametrize("layers, message", [
    (["Flatten", {"Linaer": {"out_features": 10}}], r"Model.layers\[1\]: unknown layer 'Linaer' \(did you mean Linear\?\)"),
    ([{"Conv2d": {"out_channels": 4, "kernal_size": 3}}], r"layers\[0\]: Conv2d has no option 'kernal_size' \(did you mean kernel_size\?\)"),
    ([{"Conv2d": {"out_channels": 4, "kernel_size": 3, "in_channels": 1}}], "inferred from the layer before"),
    ([{"Linear": {"out_features": 10}}], r"layers\[0\]: Linear needs flat \(N, D\) inputs; add Flatten"),
    (["Flatten", {"Linear": {"out_features": 7}}], "must end with 10 scores"),
    ([{"MaxPool2d": 40}, "Flatten", {"Linear": {"out_features": 10}}], r"layers\[0\]: MaxPool2d: .*smaller"),
])
def test_a_wrong_layer_list_is_refused_naming_the_index(layers, message):
    with pytest.raises(ConfigError, match=message):
        resolve({**CFG, "Model": {**LENET, "layers": layers}}, "cfg")


def test_an_mlp_is_a_sequential_too():
    cfg = {**CFG, "Model": {"type": "Sequential", "input_shape": [784],
                            "layers": [{"Linear": {"out_features": 32}}, "Tanh", {"Linear": {"out_features": 10}}]}}
    net = build_model(resolve(cfg, "cfg"), np.random.default_rng(0))
    assert net.num_parameters() == 784 * 32 + 32 + 32 * 10 + 10


def test_training_mode_for_steps_evaluation_mode_for_every_evaluation(tmp_path):
    cfg, data = resolve(CFG, "cfg"), images()
    seen = []

    class Spy:
        """Records the mode of the model and of its Dropout at every step and every round's end."""
        def after_backward(self, model):
            seen.append(("step", model.training, model.layers[-2].training))

        def end_round(self, trainer, row):
            seen.append(("round", trainer.model.training, trainer.model.layers[-2].training))

    summaries = [run_training(cfg, tmp_path / name, data=data, callbacks=[Spy()], log=lambda line: None)
                 for name in ("a", "b")]
    assert {mode for mode in seen if mode[0] == "step"} == {("step", True, True)}
    assert {mode for mode in seen if mode[0] == "round"} == {("round", True, True)}   # evaluation restored it
    assert summaries[0]["test_acc"] == summaries[1]["test_acc"]                       # a seeded run repeats


def test_evaluation_sees_no_dropout_and_leaves_batch_norm_statistics_alone():
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.training import evaluate
    net = build_model(resolve(CFG, "cfg"), np.random.default_rng(0))
    X, y = images()["test"]
    before = net.layers[4].running_mean.copy()
    first, second = evaluate(net, SoftmaxCrossEntropy(), X, y), evaluate(net, SoftmaxCrossEntropy(), X, y)
    assert first == second and np.array_equal(net.layers[4].running_mean, before) and net.training


def test_a_cnn_with_dropout_and_augmentation_resumes_bit_for_bit(tmp_path):
    cfg, data = resolve(CFG, "cfg"), images()
    run_training(cfg, tmp_path / "straight", data=data, log=lambda line: None)
    summary = run_training(cfg, tmp_path / "stopped", data=data, callbacks=[StopAfter(12)], log=lambda line: None)
    assert summary["status"] == "interrupted" and summary["epochs_completed"] == 1
    resume_training(tmp_path / "stopped", cfg, data=data, log=lambda line: None)
    assert metrics_without_time(tmp_path / "stopped" / "metrics.csv") == \
        metrics_without_time(tmp_path / "straight" / "metrics.csv")


def test_augmentation_changes_the_training_but_not_the_evaluation(tmp_path):
    data = images()
    plain = resolve({**CFG, "Data": {"augment": None}}, "cfg")
    a = run_training(plain, tmp_path / "a", data=data, log=lambda line: None)
    b = run_training(resolve(CFG, "cfg"), tmp_path / "b", data=data, log=lambda line: None)
    assert a["best_val_acc"] != b["best_val_acc"] or a["test_loss"] != b["test_loss"]


@pytest.mark.integration
def test_a_small_cnn_learns_mnist_in_one_epoch(tmp_path, real_mnist_dir):
    args = ["configs/hw7/cnn.yaml", "--set", f"Data.dir={real_mnist_dir}", "--set", "Data.subset=3000",
            "--set", "Train.epochs=1", "--set", f"Output.dir={tmp_path}"]
    assert main(train_cli, args) == 0
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test_acc"] > 0.85, summary


@pytest.mark.integration
def test_the_convolutions_study_draws_its_figures_and_resumes(tmp_path, real_mnist_dir):
    from conftest import run_args

    from experiments.hw7 import convolutions
    run_dir = run_args(convolutions, ["configs/hw7/convolutions.yaml", "--set", "Study.set.Train.epochs=1",
                                      "--set", "Study.set.Data.subset=300", "--set",
                                      f"Study.set.Data.dir={real_mnist_dir}", "--set", f"Output.dir={tmp_path}"])
    for name in ("comparison.png", "filters.png", "augmentation.png", "summary.json"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["runs"]) == {"CNN + augmentation", "CNN", "MLP 3(c)"}
    assert all(r["epochs"] == 1 and r["status"] == "completed" for r in summary["runs"].values())
    kept = (run_dir / "CNN" / "metrics.csv").stat().st_mtime_ns
    assert main(convolutions, ["--resume", str(run_dir)]) == 0                 # every network is kept
    assert (run_dir / "CNN" / "metrics.csv").stat().st_mtime_ns == kept


def test_the_analysis_tools_see_no_dropout_and_leave_the_mode_alone():
    from minidl.analysis.params import loss_and_grad
    from minidl.losses import SoftmaxCrossEntropy
    net = build_model(resolve(CFG, "cfg"), np.random.default_rng(0))
    X, y = images()["test"]
    before = net.layers[4].running_mean.copy()
    first, second = loss_and_grad(net, SoftmaxCrossEntropy(), X, y), loss_and_grad(net, SoftmaxCrossEntropy(), X, y)
    assert first[0] == second[0] and np.array_equal(first[1], second[1])            # no dropout noise
    assert np.array_equal(net.layers[4].running_mean, before) and net.training      # no statistics moved


def test_the_dropout_streams_saved_for_resume_are_found_at_any_depth():
    from minidl.layers import Sequential
    from minidl.runs.job import _layer_generators
    inner, outer = Dropout(0.5, rng=1), Dropout(0.5, rng=2)
    net = Sequential(Linear(4, 4), Sequential(inner, Linear(4, 4)), outer)
    assert _layer_generators(net) == [inner.rng, outer.rng]
