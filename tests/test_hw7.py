"""Issue 5 (MNIST training studies): the gradient hook, the initializers' variances, the
gradient and comparison studies, and short real-MNIST runs of Problems 2(a), 3(a) and 3(b)."""
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from experiments.hw7 import compare as hw7_compare
from experiments.hw7 import gradients as hw7_gradients
from minidl import init
from minidl.layers import Linear
from minidl.losses import SoftmaxCrossEntropy
from minidl.models import MLP
from minidl.optim import SGD
from minidl.plots.gradients import layer_norm_columns, plot_gradient_profiles
from minidl.runs.cli import load_config, main
from minidl.runs.config import ConfigError, apply_overrides, load_yaml
from minidl.runs.job import load_data, run_training
from minidl.runs.job_config import resolve
from minidl.training import Trainer
from minidl.training.callbacks import GradientStats

HW7 = Path(__file__).resolve().parents[1] / "configs" / "hw7"


def _batch(rng, n=16, d=12, classes=4):
    return rng.normal(size=(n, d)), rng.integers(0, classes, n)


def _backward(model, X, y):
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())


# ---- the gradient hook -------------------------------------------------------

def test_gradient_hook_norms_and_ratio_equal_norms_computed_directly():
    rng = np.random.default_rng(0)
    model = MLP([12, 9, 7, 5, 4], activation="sigmoid", init="xavier_normal", rng=rng, dtype=np.float64)
    hook = GradientStats(keep_batches=True)
    weights = [layer.W for layer in model.linear_layers()]
    direct = []
    for _ in range(3):                                   # three batches of one "epoch"
        _backward(model, *_batch(rng))
        hook.after_backward(model)
        direct.append([np.linalg.norm(w.grad) for w in weights])
        for w in weights:                                # move the weights, as a step would
            w.data -= 0.5 * w.grad
    direct = np.array(direct)
    assert hook.names == ["0.W", "2.W", "4.W", "6.W"]
    np.testing.assert_allclose(np.array(hook.batches), direct, rtol=1e-12)
    out = hook.columns()
    for name, mean in zip(hook.names, direct.mean(axis=0)):
        assert out[f"grad_norm_{name}"] == pytest.approx(mean, rel=1e-12)
    assert out["grad_ratio"] == pytest.approx(np.mean(direct[:, 0] / direct[:, -1]), rel=1e-12)
    assert out["grad_ratio"] != pytest.approx(direct[:, 0].mean() / direct[:, -1].mean(), rel=1e-6), \
        "the ratio is a mean of per-batch ratios, not a ratio of means"
    assert hook.columns() == {}, "an epoch's sums must be reset once reported"


def test_gradient_hook_can_track_biases_too():
    rng = np.random.default_rng(1)
    model = MLP([12, 6, 4], rng=rng, dtype=np.float64)
    hook = GradientStats(weights_only=False)
    _backward(model, *_batch(rng))
    hook.after_backward(model)
    out = hook.columns()
    assert hook.names == ["0.W", "0.b", "2.W", "2.b"]
    assert out["grad_norm_0.b"] == pytest.approx(np.linalg.norm(model.layers[0].b.grad), rel=1e-12)


def test_trainer_calls_the_hook_after_backward_and_before_the_step():
    rng = np.random.default_rng(2)
    X, y = _batch(rng, n=32)
    model = MLP([12, 8, 4], activation="sigmoid", rng=np.random.default_rng(3), dtype=np.float64)
    fresh = MLP([12, 8, 4], activation="sigmoid", rng=np.random.default_rng(3), dtype=np.float64)
    _backward(fresh, X, y)                               # the gradient at the initial weights
    hook = GradientStats()
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=1.0), batch_size=32)
    (out,) = trainer.fit(X, y, epochs=1, callbacks=[hook]).history        # one batch, no shuffling
    assert out["grad_norm_0.W"] == pytest.approx(np.linalg.norm(fresh.layers[0].W.grad), rel=1e-12)
    assert out["grad_norm_2.W"] == pytest.approx(np.linalg.norm(fresh.layers[2].W.grad), rel=1e-12)
    assert not np.allclose(model.layers[0].W.data, fresh.layers[0].W.data), "the step must still happen"


# ---- initializer variances -----------------------------------------------------

@pytest.mark.parametrize("name, options, expected_var", [
    ("xavier_normal", {}, 2.0 / (1000 + 400)),
    ("xavier_uniform", {}, 2.0 / (1000 + 400)),
    ("kaiming_uniform", {"mode": "fan_out", "nonlinearity": "relu"}, 2.0 / 400),
    ("kaiming_uniform", {"mode": "fan_in", "nonlinearity": "relu"}, 2.0 / 1000),
    ("kaiming_normal", {"mode": "fan_in", "nonlinearity": "relu"}, 2.0 / 1000),
])
def test_initializer_variance_over_a_large_layer(name, options, expected_var):
    # 400,000 draws: the sample variance is within ~0.5% of the truth (standard error ~0.2%)
    W = init.get({"name": name, **options})((1000, 400), np.random.default_rng(7))
    assert W.shape == (1000, 400)
    assert abs(W.mean()) < 3 * math.sqrt(expected_var / W.size)
    assert W.var() == pytest.approx(expected_var, rel=0.01), f"{name} {options}"


def test_mlp_layers_use_the_config_init_with_zero_biases():
    spec = {"name": "kaiming_uniform", "mode": "fan_out", "nonlinearity": "relu"}
    net = MLP([784, 300, 10], activation="relu", init=spec, rng=np.random.default_rng(0), dtype=np.float64)
    first = net.linear_layers()[0]
    assert first.W.data.var() == pytest.approx(2.0 / 300, rel=0.02)          # fan_out = 300
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 300)
    assert np.abs(first.W.data).max() <= bound
    assert all(np.all(layer.b.data == 0) for layer in net.linear_layers())
    sig = MLP([784, 300, 10], activation="sigmoid", init="xavier_normal", rng=np.random.default_rng(0))
    assert sig.linear_layers()[0].W.data.std() == pytest.approx(math.sqrt(2.0 / 1084), rel=0.02)
    assert isinstance(sig.linear_layers()[0], Linear) and sig.linear_layers()[0].W.dtype == np.float32


# ---- the shipped configs ---------------------------------------------------------

@pytest.mark.parametrize("name", ["2a_sgd", "2b_adam", "2c_tuned", "3a_deep_sigmoid", "3b_deep_relu", "3c_deep"])
def test_every_hw7_config_resolves(name):
    cfg = resolve(load_yaml(HW7 / f"{name}.yaml"), name)
    assert cfg["Data"]["val_fraction"] == 0 and cfg["Model"]["type"] == "MLP"


def test_problem_2a_config_is_the_assignment_setting():
    cfg = resolve(load_yaml(HW7 / "2a_sgd.yaml"), "2a")
    t, m = cfg["Train"], cfg["Model"]
    assert m["sizes"] == [784, 30, 10] and m["activation"] == "sigmoid" and m["init"] == "xavier_normal"
    assert (t["optimizer"], t["learning_rate"], t["momentum"], t["nesterov"], t["reg"], t["batch_size"],
            t["epochs"]) == ("sgd", 0.001, 0.8, True, 1e-5, 10, 30)
    deep = resolve(load_yaml(HW7 / "3c_deep.yaml"), "3c")["Model"]["sizes"]
    assert len(deep) > 3 and all(a >= b for a, b in zip(deep, deep[1:])), "3(c): widths decrease 784 -> 10"


# ---- the studies' config checks and figures (synthetic) -----------------------------

def _write(path, text):
    path.write_text(text)
    return path


def test_gradient_study_rejects_bad_configs_before_any_work(tmp_path):
    runs = f"Study: {{runs: {{sigmoid: {HW7 / '3a_deep_sigmoid.yaml'}, relu: {HW7 / '3b_deep_relu.yaml'}}}}}\n"
    good = _write(tmp_path / "good.yaml", runs)
    assert set(hw7_gradients.training_configs(load_config(hw7_gradients, good))) == {"sigmoid", "relu"}
    with pytest.raises(ConfigError, match="unknown key Study.refrence.*did you mean reference"):
        load_config(hw7_gradients, good, ["Study.refrence=x"])
    with pytest.raises(ConfigError, match="grad_stats must be true"):
        load_config(hw7_gradients, good, ["Study.set.Train.grad_stats=false"])
    with pytest.raises(ConfigError, match="from_runs lacks"):
        load_config(hw7_gradients, good, [f"Study.from_runs.sigmoid={tmp_path}"])
    with pytest.raises(ConfigError, match="no metrics.csv"):
        load_config(hw7_gradients, good, [f"Study.from_runs.sigmoid={tmp_path}", f"Study.from_runs.relu={tmp_path}"])
    assert main(hw7_gradients, [str(good), "--set", "Study.set.Train.learning_rate=-1",
                                "--set", f"Output.dir={tmp_path / 'out'}"]) == 2
    assert not (tmp_path / "out").exists(), "a bad training config leaves no run folder behind"


def _fake_rows(ratio, acc, epochs=3, layers=4):
    return [{"epoch": e, "train_acc": acc, "test_acc": acc, "grad_ratio": ratio,
             **{f"grad_norm_{2 * i}.W": ratio ** ((layers - 1 - i) / (layers - 1)) for i in range(layers)}}
            for e in range(1, epochs + 1)]


def test_gradient_profile_figure_from_metrics_rows(tmp_path):
    rows = _fake_rows(1e-4, 0.11)
    assert layer_norm_columns(rows) == ["grad_norm_0.W", "grad_norm_2.W", "grad_norm_4.W", "grad_norm_6.W"]
    fig = plot_gradient_profiles({"sigmoid": rows, "relu": _fake_rows(1.0, 0.9)}, title="t",
                                 reference=("shallow", 0.94))
    top = fig.axes[0]
    assert top.get_yscale() == "log" and top.get_xlabel() and top.get_legend() is not None
    assert fig._suptitle.get_text() == "t"
    with pytest.raises(ValueError, match="Train.grad_stats"):
        plot_gradient_profiles({"x": [{"epoch": 1, "train_acc": 0.5, "test_acc": 0.5}]})


def _fake_sweep(root, name, rates_scores):
    folder = root / f"sweep-{name}"
    folder.mkdir(parents=True)
    results = []
    for lr, scores, status in rates_scores:
        run = folder / f"lr{lr}"
        run.mkdir()
        with open(run / "metrics.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["epoch", "test_acc"])
            w.writerows([[i + 1, s] for i, s in enumerate(scores)])
        results.append({"Train.learning_rate": lr, "status": status, "run_dir": str(run)})
    with open(folder / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)


def test_compare_picks_each_sweeps_best_rate_by_final_accuracy(tmp_path):
    base = tmp_path / "base.yaml"
    _write(base, "Model: {type: MLP, sizes: [784, 30, 10]}\n")
    for name in ("a", "b"):
        _write(tmp_path / f"{name}.yaml", f"Sweep: {{base: base.yaml, name: {name}, grid: {{Train.learning_rate: [1]}}}}\n"
                                          f"Output: {{dir: {tmp_path / 'runs'}}}\n")
    _fake_sweep(tmp_path / "runs", "a", [(0.1, [0.5, 0.9], "completed"), (1.0, [0.95, 0.2], "completed"),
                                         (0.01, [0.3, 0.8], "completed")])
    _fake_sweep(tmp_path / "runs", "b", [(0.001, [0.6, 0.7], "completed"), (0.1, [0.99], "diverged")])
    cmp = _write(tmp_path / "cmp.yaml", "Compare: {sweeps: {SGD: a.yaml, Adam: b.yaml}}\n"
                                        f"Output: {{dir: {tmp_path / 'out'}, name: cmp}}\n")
    assert main(hw7_compare, [str(cmp)]) == 0
    (run,) = (tmp_path / "out").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["sweeps"]["SGD"]["best"] == {"Train.learning_rate": "0.1"}       # 0.9 at the end beats 0.2
    assert summary["sweeps"]["Adam"]["best"] == {"Train.learning_rate": "0.001"}    # a diverged run never wins
    assert (run / "comparison.png").is_file()
    assert main(hw7_compare, [str(cmp), "--set", "Compare.select=max"]) == 0
    _write(tmp_path / "never_run.yaml", "Sweep: {base: base.yaml, name: never_run, grid: {Train.learning_rate: [1]}}\n"
                                         f"Output: {{dir: {tmp_path / 'runs'}}}\n")
    with pytest.raises(ConfigError, match="run it first"):
        load_config(hw7_compare, cmp, ["Compare.sweeps.SGD=never_run.yaml"])


# ---- short real-MNIST runs -------------------------------------------------------------

SHORT = ["Data.subset=5000", "Train.epochs=1"]


@pytest.mark.integration
def test_problem_2a_one_epoch_on_5k_reaches_sane_accuracy(tmp_path, real_mnist_dir):
    cfg = resolve(apply_overrides(load_yaml(HW7 / "2a_sgd.yaml"), SHORT + [f"Data.dir={real_mnist_dir}"]), "2a")
    summary = run_training(cfg, tmp_path, data=load_data(cfg), log=lambda line: None)
    assert summary["status"] == "completed"
    # 500 steps at lr 0.001 (0.84 after the full 6,000 of epoch 1); chance is 0.1
    assert 0.3 < summary["test_acc"] <= 1.0, "500 steps of 2(a) should lift the shallow net well above chance"


@pytest.mark.integration
def test_problem_3_sigmoid_gradients_vanish_and_relu_kaiming_keeps_them(tmp_path, real_mnist_dir):
    code = main(hw7_gradients, [str(HW7 / "gradients.yaml"), "--set", f"Output.dir={tmp_path}",
                                *(a for s in SHORT + [f"Data.dir={real_mnist_dir}"] for a in ("--set", f"Study.set.{s}"))])
    assert code == 0
    (run,) = tmp_path.iterdir()
    runs = json.loads((run / "summary.json").read_text())["runs"]
    sigmoid, relu = runs["sigmoid"], runs["relu"]
    assert sigmoid["grad_ratio_last_epoch"] < 1e-2 < 0.1 < relu["grad_ratio_last_epoch"] < 10
    assert sigmoid["grad_ratio_last_epoch"] < relu["grad_ratio_last_epoch"]
    assert relu["final_acc"] > 0.4, "the ReLU + Kaiming net trains normally"
    assert sigmoid["final_acc"] < relu["final_acc"] - 0.2, "the deep sigmoid net barely trains"
    for name in ("gradients.png", "grad_ratio.png", "sigmoid/metrics.csv", "relu/metrics.csv"):
        assert (run / name).is_file()
    header = (run / "sigmoid" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert [h for h in header if h.startswith("grad_norm_")] == [f"grad_norm_{2 * i}.W" for i in range(9)]
