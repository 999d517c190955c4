"""The generalization studies (NTU MLDS 2018 HW1-3): their measures, checked against closed forms and
finite differences, and smoke runs of every study.

- ``shuffle_labels`` is seeded and keeps every class count;
- interpolation reproduces both trained models exactly at alpha = 0 and 1;
- sensitivity of a linear softmax model against its closed form, and of an MLP against finite differences,
  at data points and at seeded random inputs, in the Frobenius and the spectral norm;
- sharpness is never negative, grows with eps, and on a two-parameter quadratic comes close to the true
  maximum over the box without exceeding it.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_args, signal_when_rows

from experiments.mlds import batch_size_flatness, interpolation, parameter_count, random_labels
from minidl.analysis import (flatten_params, interpolate, interpolation_alphas, interpolation_curve,
                             output_jacobian, random_inputs, sensitivity, sharpness)
from minidl.runs.cli import load_config, main, resolve_config
from minidl.runs.config import ConfigError, load_yaml
from minidl.runs.study_grid import Trained, load_model
from minidl.data import shuffle_labels
from minidl.layers import Linear
from minidl.losses import MSELoss, SoftmaxCrossEntropy, softmax
from minidl.models import MLP
from minidl.training import evaluate

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs" / "mlds"


def blobs(n=80, d=12, classes=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, d))
    y = rng.integers(0, classes, n)
    return (centres[y] + 0.7 * rng.normal(size=(n, d))).astype(dtype), y


# ---- random labels -----------------------------------------------------------

def test_shuffle_labels_is_seeded_and_keeps_every_class_count():
    y = np.random.default_rng(1).integers(0, 10, 1000)
    before = y.copy()
    a, b, c = shuffle_labels(y, 0), shuffle_labels(y, 0), shuffle_labels(y, 1)
    np.testing.assert_array_equal(a, b)                                   # same seed, same labels
    assert not np.array_equal(a, c)                                        # another seed, other labels
    np.testing.assert_array_equal(np.bincount(a, minlength=10), np.bincount(y, minlength=10))
    np.testing.assert_array_equal(y, before)                               # the input is left alone
    assert 0.05 < np.mean(a == y) < 0.2                                    # the pairing is destroyed (~1/10 agree)
    gen = shuffle_labels(y, np.random.default_rng(0))                      # a Generator works like its seed
    np.testing.assert_array_equal(gen, a)
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        shuffle_labels(y.reshape(10, 100), 0)


def test_random_labels_smoke_memorises_and_writes_every_epoch(tmp_path):
    X, y = blobs(n=40, d=12, classes=4, dtype=np.float32)
    X_test, y_test = blobs(n=30, d=12, classes=4, seed=1, dtype=np.float32)
    cfg = load_config(random_labels, CONFIGS / "random_labels.yaml",
                                    ["Model.sizes=[12, 64, 4]", "Train.batch_size=10", "Train.max_epochs=400",
                                     "Train.learning_rate=0.01", "Train.log_every=1000"])
    summary = random_labels.run(cfg, tmp_path, data=(X, y, X_test, y_test), log=lambda line: None)
    assert summary["status"] == "reached" and summary["final"]["train_acc"] == 1.0
    passed = summary["train_acc_passed_0.99_at_epoch"]
    assert 1 <= passed <= summary["epochs"] < 400
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds"
    assert len(lines) == summary["epochs"] + 1                            # one row per epoch
    assert (tmp_path / "random_labels.png").is_file()


@pytest.mark.integration
def test_random_labels_ctrl_c_keeps_the_epochs_and_writes_the_figure(tmp_path, real_mnist_dir):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "experiments.mlds.random_labels", str(CONFIGS / "random_labels.yaml"),
                             "--set", f"Data.dir={real_mnist_dir}", "--set", "Data.subset=300",
                             "--set", f"Output.dir={tmp_path}"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = signal_when_rows(proc, tmp_path, 3, signal.SIGINT)      # three epochs are on disk
    out, err = proc.communicate(timeout=120)
    assert metrics is not None, f"the run ended before it could be interrupted:\n{out}\n{err}"
    assert proc.returncode == 128 + signal.SIGINT, err
    summary = json.loads((metrics.parent / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGINT"
    assert summary["epochs"] >= 3 and len(metrics.read_text().splitlines()) == summary["epochs"] + 1
    assert (metrics.parent / "random_labels.png").is_file()


# ---- interpolation -----------------------------------------------------------

def test_interpolate_is_exact_at_both_ends():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        t1, t2 = rng.normal(size=500).astype(dtype), rng.normal(size=500).astype(dtype) * 1e3
        np.testing.assert_array_equal(interpolate(t1, t2, 0.0), t1)
        np.testing.assert_array_equal(interpolate(t1, t2, 1.0), t2)
        assert interpolate(t1, t2, 0.3).dtype == dtype
        np.testing.assert_allclose(interpolate(t1, t2, -1.0), 2 * t1 - t2, rtol=1e-5)
    with pytest.raises(ValueError, match="same length"):
        interpolate(np.zeros(3), np.zeros(4), 0.5)


def test_interpolation_alphas_hold_0_and_1_exactly():
    alphas = interpolation_alphas(-1.0, 2.0, 50)             # 50 steps do not land on 0 and 1 by themselves
    assert 0.0 in alphas and 1.0 in alphas and len(alphas) == 50
    assert alphas[0] == -1.0 and alphas[-1] == 2.0 and np.all(np.diff(alphas) > 0)
    with pytest.raises(ValueError):
        interpolation_alphas(0.5, 2.0, 10)


def test_interpolation_curve_endpoints_are_the_two_models_own_losses():
    X, y = blobs(dtype=np.float32)
    X_test, y_test = blobs(seed=1, dtype=np.float32)
    m1, m2 = MLP([12, 16, 3], rng=1), MLP([12, 16, 3], rng=2)
    loss = SoftmaxCrossEntropy()

    def measure(model):
        tr, te = evaluate(model, loss, X, y), evaluate(model, loss, X_test, y_test)
        return {"train_loss": tr["loss"], "train_acc": tr["acc"], "test_loss": te["loss"], "test_acc": te["acc"]}

    own1, own2 = measure(m1), measure(m2)
    theta1, theta2 = flatten_params(m1), flatten_params(m2)
    rows = interpolation_curve(m1, theta1, theta2, interpolation_alphas(-1, 2, 51), measure)
    at = {r["alpha"]: r for r in rows}
    assert {k: at[0.0][k] for k in own1} == own1          # exactly, not approximately
    assert {k: at[1.0][k] for k in own2} == own2
    np.testing.assert_array_equal(flatten_params(m1), theta1)           # the model is put back
    assert len({r["train_loss"] for r in rows}) > 40                     # and the curve really moves


# ---- sensitivity -------------------------------------------------------------

def test_sensitivity_of_a_linear_softmax_model_matches_the_closed_form():
    rng = np.random.default_rng(0)
    model = Linear(6, 4, rng=0, dtype=np.float64)
    model.b.data = rng.normal(size=4)
    X = rng.normal(size=(7, 6))
    W = model.W.data                                         # z = x W + b, so dz/dx = W^T (C, D) for every x
    p = softmax(X @ W + model.b.data)
    # p = softmax(z): dp/dz = diag(p) - p p^T, so dp/dx = (diag(p) - p p^T) W^T
    expected = np.stack([(np.diag(pn) - np.outer(pn, pn)) @ W.T for pn in p])
    np.testing.assert_allclose(output_jacobian(model, X), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sensitivity(model, X), np.linalg.norm(expected, axis=(1, 2)), rtol=1e-12)
    # on the logits the Jacobian is W^T itself, the same for every example
    np.testing.assert_allclose(sensitivity(model, X, output="logits"), np.full(7, np.linalg.norm(W)), rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_sensitivity_of_an_mlp_matches_finite_differences(activation):
    rng = np.random.default_rng(3)
    model = MLP([5, 7, 6, 3], activation=activation, rng=4, dtype=np.float64)
    X = rng.normal(size=(4, 5))
    h = 1e-6
    numeric = np.empty((4, 3, 5))
    for d in range(5):
        step = np.zeros(5)
        step[d] = h
        numeric[:, :, d] = (softmax(model.forward(X + step)) - softmax(model.forward(X - step))) / (2 * h)
    np.testing.assert_allclose(output_jacobian(model, X), numeric, rtol=1e-6, atol=1e-9)
    # batching does not change the answer
    np.testing.assert_allclose(sensitivity(model, X, batch_size=3), np.linalg.norm(numeric, axis=(1, 2)), rtol=1e-6)
    with pytest.raises(ValueError, match="softmax"):
        output_jacobian(model, X, output="probabilities")


def test_random_inputs_are_seeded_and_drawn_from_the_named_distribution():
    a = random_inputs(3, 784, "uniform", 0)
    np.testing.assert_array_equal(a, random_inputs(3, 784, "uniform", np.random.default_rng(0)))  # seed == Generator
    assert not np.array_equal(a, random_inputs(3, 784, "uniform", 1))
    assert a.shape == (3, 784) and a.dtype == np.float32 and a.min() >= 0 and a.max() < 1
    # drawn in float64 and then cast: the float64 points round to the float32 ones
    np.testing.assert_array_equal(random_inputs(3, 784, "uniform", 0, dtype=np.float64).astype(np.float32), a)
    b = random_inputs(50, 784, "normal", 0, dtype=np.float64)
    assert abs(b.mean()) < 0.02 and abs(b.std() - 1) < 0.02 and b.min() < 0
    with pytest.raises(ValueError, match="distribution must be one of"):
        random_inputs(1, 784, "gaussian", 0)
    with pytest.raises(ValueError, match="count > 0"):
        random_inputs(0, 784, "uniform", 0)


def test_sensitivity_at_a_random_input_matches_the_closed_form_in_both_norms():
    rng = np.random.default_rng(0)
    model = Linear(6, 4, rng=0, dtype=np.float64)
    model.b.data = rng.normal(size=4)
    x = random_inputs(1, 6, "uniform", 5, dtype=np.float64)                # (1, 6): one random input
    W = model.W.data
    p = softmax(x @ W + model.b.data)[0]
    J = (np.diag(p) - np.outer(p, p)) @ W.T                                 # (C, D), the closed form
    singular = np.linalg.svd(J, compute_uv=False)
    np.testing.assert_allclose(sensitivity(model, x), [np.sqrt((J ** 2).sum())], rtol=1e-12)
    np.testing.assert_allclose(sensitivity(model, x, norm="spectral"), [singular[0]], rtol=1e-12)
    # the logit Jacobian is W^T at any input
    np.testing.assert_allclose(sensitivity(model, x, output="logits", norm="spectral"),
                               [np.linalg.svd(W, compute_uv=False)[0]], rtol=1e-12)
    with pytest.raises(ValueError, match="norm must be one of"):
        sensitivity(model, x, norm="nuclear")


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_sensitivity_of_an_mlp_at_random_inputs_matches_finite_differences(distribution):
    model = MLP([5, 7, 6, 3], activation="relu", rng=4, dtype=np.float64)
    X = random_inputs(3, 5, distribution, np.random.default_rng(11), dtype=np.float64)
    h = 1e-6
    for output, f in (("softmax", lambda Z: softmax(model.forward(Z))), ("logits", model.forward)):
        numeric = np.stack([(f(X + h * e) - f(X - h * e)) / (2 * h) for e in np.eye(5)], axis=2)   # (N, C, D)
        np.testing.assert_allclose(sensitivity(model, X, output=output), np.linalg.norm(numeric, axis=(1, 2)),
                                   rtol=1e-6)
        np.testing.assert_allclose(sensitivity(model, X, output=output, norm="spectral"),
                                   np.linalg.norm(numeric, ord=2, axis=(1, 2)), rtol=1e-6)


# ---- sharpness ---------------------------------------------------------------

def test_sharpness_is_non_negative_grows_with_eps_and_restores_the_model():
    X, y = blobs()
    model = MLP([12, 8, 3], rng=0, dtype=np.float64)
    before = flatten_params(model)
    loss = SoftmaxCrossEntropy()
    result = sharpness(model, lambda m: evaluate(m, loss, X, y)["loss"], [1e-2, 1e-4, 1e-3], samples=200, rng=0)
    values = [result["sharpness"][e] for e in (1e-4, 1e-3, 1e-2)]
    assert all(v >= 0 for v in values)
    assert values[0] < values[1] < values[2]                 # a bigger box has a bigger rise
    np.testing.assert_array_equal(flatten_params(model), before)
    assert result["loss"] == evaluate(model, loss, X, y)["loss"]


def test_sharpness_on_a_quadratic_approaches_the_true_box_maximum_from_below():
    # Linear(1 -> 1) under MSE at its least-squares minimum: L(theta + delta) - L(theta) = delta^T A delta,
    # a convex quadratic, so the maximum over the box is at one of its 4 corners.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 1))
    t = 3 * x + 1 + 0.1 * rng.normal(size=(50, 1))
    model = Linear(1, 1, dtype=np.float64)
    A = np.hstack([x, np.ones_like(x)])
    w, b = np.linalg.lstsq(A, t, rcond=None)[0].ravel()
    model.W.data, model.b.data = np.array([[w]]), np.array([b])
    mse = MSELoss()

    def loss_of(m):
        return mse.forward(m.forward(x), t)

    eps = 0.1
    base = loss_of(model)
    corners = []
    for dw in (-eps, eps):
        for db in (-eps, eps):
            corners.append(mse.forward(x * (w + dw) + (b + db), t) - base)
    result = sharpness(model, loss_of, [eps], samples=2000, rng=1)
    assert 0.9 * max(corners) <= result["sharpness"][eps] <= max(corners)
    with pytest.raises(ValueError, match="positive"):
        sharpness(model, loss_of, [0.0])


# ---- the studies on real MNIST -------------------------------------------------

def _study_args(config, tmp_path, real_mnist_dir, *sets):
    args = [str(CONFIGS / config), "--set", f"Training.Data.dir={real_mnist_dir}", "--set", "Training.Data.subset=300",
            "--set", "Training.Train.epochs=2", "--set", "Study.workers=2", "--set", f"Output.dir={tmp_path}"]
    for s in sets:
        args += ["--set", s]
    return args


@pytest.mark.integration
def test_parameter_count_smoke(tmp_path, real_mnist_dir):
    run_dir = run_args(parameter_count, _study_args("parameter_count.yaml", tmp_path, real_mnist_dir,
                                               "Study.widths=[5, 10, 20]"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [m["params"] for m in summary["models"]] == [MLP([784, w, w, w, 10]).num_parameters() for w in (5, 10, 20)]
    assert all(0 <= m["train_acc"] <= 1 and m["test_loss"] > 0 for m in summary["models"])
    for name in ("loss_vs_params.png", "accuracy_vs_params.png", "results.csv"):
        assert (run_dir / name).is_file(), name
    assert len(list((run_dir / "sweep-models").glob("*/curves.png"))) == 3      # every model's own run folder


@pytest.mark.integration
def test_a_grid_study_resumed_trains_only_the_models_that_did_not_finish(tmp_path, real_mnist_dir):
    run_dir = run_args(parameter_count, _study_args("parameter_count.yaml", tmp_path, real_mnist_dir,
                                               "Study.widths=[5, 10]"))
    kept, redo = sorted((run_dir / "sweep-models").glob("*/summary.json"))
    kept_written = (kept.parent / "metrics.csv").stat().st_mtime_ns
    redo.unlink()                                # as if the study had been stopped while this model trained
    (run_dir / "summary.json").unlink()
    assert main(parameter_count, ["--resume", str(run_dir)]) == 0
    assert (kept.parent / "metrics.csv").stat().st_mtime_ns == kept_written      # not trained again
    assert redo.is_file() and len(json.loads((run_dir / "summary.json").read_text())["models"]) == 2


@pytest.mark.integration
def test_interpolation_smoke_endpoints_equal_the_trained_models(tmp_path, real_mnist_dir):
    run_dir = run_args(interpolation, _study_args("interpolation.yaml", tmp_path, real_mnist_dir,
                                             "Training.Model.sizes=[784, 16, 10]", "Interpolation.steps=7"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["endpoints_equal_models"] is True
    rows = (run_dir / "interpolation.csv").read_text().splitlines()
    header = rows[0].split(",")
    values = {float(r.split(",")[0]): dict(zip(header, map(float, r.split(",")))) for r in rows[1:]}
    for alpha, model in zip((0.0, 1.0), summary["models"]):
        assert values[alpha]["train_loss"] == model["train_loss"] and values[alpha]["test_acc"] == model["test_acc"]
    assert min(values) == -1.0 and max(values) == 2.0
    assert (run_dir / "interpolation.png").is_file()


@pytest.mark.integration
def test_batch_size_flatness_smoke(tmp_path, real_mnist_dir):
    run_dir = run_args(batch_size_flatness, _study_args(
        "batch_size_flatness.yaml", tmp_path, real_mnist_dir, "Training.Model.sizes=[784, 16, 10]",
        "Grid={Train.batch_size: [16, 64, 256]}", "Sensitivity.test_examples=200", "Sharpness.samples=20",
        "Sharpness.train_examples=100"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [m["batch_size"] for m in summary["models"]] == [16, 64, 256]
    for m in summary["models"]:
        assert m["sensitivity_softmax"] > 0 and m["sensitivity_logits"] > m["sensitivity_softmax"]
        sharp = [m[f"sharpness_eps{e}"] for e in ("0.0001", "0.001", "0.01")]
        assert 0 <= sharp[0] <= sharp[1] <= sharp[2]
        for output in ("softmax", "logits"):              # at the random input: ||J||_2 <= ||J||_F <= sqrt(10) ||J||_2
            frobenius, spectral = m[f"sensitivity_random_{output}"], m[f"sensitivity_random_{output}_spectral"]
            assert 0 < spectral <= frobenius * (1 + 1e-6) and frobenius <= np.sqrt(10) * spectral * (1 + 1e-6)
            assert m[f"sensitivity_random_{output}_std"] == 0                  # one random input
    assert summary["sensitivity_random_input"] == {"distribution": "uniform", "count": 1, "seed": 0}
    assert (run_dir / "sensitivity.png").is_file() and (run_dir / "sharpness.png").is_file()
    # the random input is the seeded draw: measuring a trained model there again gives the recorded number
    folder = sorted((run_dir / "sweep-models").glob("*/last.npz"))[0].parent
    model = load_model(Trained({}, load_yaml(folder / "config.yaml"), folder, {})).astype(np.float64)
    x = random_inputs(1, 784, "uniform", np.random.default_rng(0), dtype=np.float64)      # taken in float64
    assert float(sensitivity(model, x)[0]) == summary["models"][0]["sensitivity_random_softmax"]


def test_study_configs_check_their_grids(tmp_path):
    with pytest.raises(ConfigError, match="exactly two models"):
        load_config(interpolation, CONFIGS / "interpolation.yaml", ["Grid={Train.batch_size: [16, 64, 256]}"])
    with pytest.raises(ConfigError, match=r"Grid must vary Train.batch_size alone"):
        load_config(batch_size_flatness, CONFIGS / "batch_size_flatness.yaml", ["Grid={Train.seed: [1, 2]}"])
    with pytest.raises(ConfigError, match="Interpolation.steps"):
        load_config(interpolation, CONFIGS / "interpolation.yaml", ["Interpolation.steps=2"])
    with pytest.raises(ConfigError, match="Sensitivity.output"):
        load_config(batch_size_flatness, CONFIGS / "batch_size_flatness.yaml", ["Sensitivity.output=probs"])
    for override, key in (("Sensitivity.random_input.distribution=gaussian", "Sensitivity.random_input.distribution"),
                          ("Sensitivity.random_input.count=0", "Sensitivity.random_input.count"),
                          ("Sensitivity.random_input.seed=-1", "Sensitivity.random_input.seed"),
                          ("Sensitivity.random_input.seed=0.5", "Sensitivity.random_input.seed"),
                          ("Sensitivity.random_input.sed=1", r"Sensitivity.random_input.sed \(did you mean seed\?\)")):
        with pytest.raises(ValueError, match=key):                              # ConfigError is a ValueError
            load_config(batch_size_flatness, CONFIGS / "batch_size_flatness_assignment.yaml", [override])
    with pytest.raises(ConfigError, match="Study.widths"):
        load_config(parameter_count, CONFIGS / "parameter_count.yaml", ["Study.widths=[5]"])
    with pytest.raises(ConfigError, match="Train.max_epoch"):
        load_config(random_labels, CONFIGS / "random_labels.yaml", ["Train.max_epoch=3"])
    # a typo inside the nested training config is found before any run folder or training
    with pytest.raises(ConfigError, match=r"parameter_count.yaml \(Training\) .*unknown key Train.learnig_rate"):
        run_args(parameter_count, [str(CONFIGS / "parameter_count.yaml"), "--set", "Training.Train.learnig_rate=0.1",
                              "--set", f"Output.dir={tmp_path}"])
    assert not list(tmp_path.iterdir())


def test_batch_size_flatness_assignment_config_has_the_reports_setting():
    # the report: 55,000 images, lr 1e-2, 200 epochs, batch 500, 1000, ..., 5000, sensitivity at a random input
    cfg = load_config(batch_size_flatness, CONFIGS / "batch_size_flatness_assignment.yaml")
    assert cfg["Grid"] == {"Train.batch_size": list(range(500, 5001, 500))}
    train = cfg["Training"]["Train"]
    assert (train["learning_rate"], train["epochs"], cfg["Training"]["Data"]["subset"]) == (1e-2, 200, 55000)
    assert cfg["Sensitivity"]["random_input"] == {"distribution": "uniform", "count": 1, "seed": 0}
    default = load_config(batch_size_flatness, CONFIGS / "batch_size_flatness.yaml")
    assert default["Sensitivity"]["random_input"] == cfg["Sensitivity"]["random_input"]      # filled in by default


def test_course_network_for_random_labels_has_the_reports_16750_parameters():
    # 784*20+20 + 20*20+20 + 20*20+20 + 20*10+10 = 15,700 + 420 + 420 + 210 = 16,750, the report's count
    cfg = load_config(random_labels, CONFIGS / "random_labels.yaml")
    assert cfg["Model"]["sizes"] == [784, 20, 20, 20, 10]
    assert MLP(cfg["Model"]["sizes"]).num_parameters() == 16750
    default = resolve_config(random_labels, {}, "defaults")
    assert default["Model"]["sizes"] == cfg["Model"]["sizes"], "the study's default is the config's network"


def test_the_barrier_is_the_rise_of_the_training_loss_between_the_two_minima():
    rows = [{"alpha": a, "train_loss": loss} for a, loss in [(-0.5, 3.0), (0.0, 0.1), (0.5, 0.9), (1.0, 0.2),
                                                              (1.5, 5.0)]]
    assert interpolation.barrier(rows) == pytest.approx(0.7)           # 0.9 - max(0.1, 0.2); outside [0, 1] ignored
    flat = [dict(row, train_loss=0.1 + 0.1 * row["alpha"]) for row in rows]
    assert interpolation.barrier(flat) == pytest.approx(0.0)


def test_different_initialisations_give_the_two_models_consecutive_seeds():
    cfg = load_config(interpolation, CONFIGS / "interpolation_init.yaml")
    points = interpolation.two_points(cfg)
    assert [p["Train.seed"] for p in points] == [0, 1] and [p["Train.batch_size"] for p in points] == [64, 1024]
    same = load_config(interpolation, CONFIGS / "interpolation.yaml")
    assert all("Train.seed" not in p for p in interpolation.two_points(same))
