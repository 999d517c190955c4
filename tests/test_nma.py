"""Tests of the Neuromatch optimization studies (experiments/nma/) and their library helpers."""
import copy
import json

import numpy as np
import pytest

from conftest import run_args

from minidl.analysis import perturb
from minidl.data import load_normalized_mnist, sample_with_replacement
from minidl.losses import NLLLoss
from minidl.models import MLP, NeuromatchMLP
from minidl.optim import SGD
from minidl.runs.config import ConfigError
from minidl.toys.newton import finite_difference_hessian, newton
from minidl.training import Trainer
from minidl.util.timing import time_forward_backward


# ---- Newton's method -----------------------------------------------------------------------

def _quadratic(seed=0, d=2):
    """f = 1/2 p.A.p - b.p with A symmetric positive definite and ill-conditioned; optimum A^-1 b."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = Q @ np.diag(np.geomspace(1.0, 100.0, d)) @ Q.T
    b = rng.normal(size=d)
    return A, b, (lambda p: A @ p - b)


def test_finite_difference_hessian_of_a_quadratic_is_its_matrix():
    A, _, grad = _quadratic()
    np.testing.assert_allclose(finite_difference_hessian(grad, np.array([3.0, -2.0])), A, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("d", [2, 5])
def test_newton_on_a_quadratic_finds_the_optimum_in_one_step(d):
    A, b, grad = _quadratic(seed=d, d=d)
    path = newton(grad, np.full(d, 4.0), steps=1)
    assert path.shape == (2, d)
    np.testing.assert_allclose(path[1], np.linalg.solve(A, b), rtol=1e-7, atol=1e-8)
    # with the exact Hessian too
    path = newton(grad, np.full(d, 4.0), steps=1, hessian=lambda p: A)
    np.testing.assert_allclose(path[1], np.linalg.solve(A, b), rtol=1e-10, atol=1e-12)


def test_newton_refuses_a_saddle():
    grad = lambda p: np.array([2 * p[0], -2 * p[1]])        # f = x^2 - y^2
    with pytest.raises(ValueError, match="not positive definite"):
        newton(grad, [1.0, 1.0])


# ---- section 2: random directions and the gradient step --------------------------------------

def _tiny_problem(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 784))
    y = rng.integers(0, 10, size=n)
    return NeuromatchMLP([6], np.random.default_rng(seed + 1), dtype=np.float64), X, y


def _loss(model, X, y):
    return NLLLoss().forward(model.forward(X), y)


def test_random_direction_deltas_match_direct_loss_evaluations():
    from experiments.nma.random_search import random_direction_deltas
    model, X, y = _tiny_problem()
    before = [p.data.copy() for p in model.parameters()]
    base, deltas = random_direction_deltas(model, NLLLoss(), X, y, 5, 0.05, np.random.default_rng(7))
    assert base == pytest.approx(_loss(model, X, y))
    rng = np.random.default_rng(7)
    for i in range(5):                       # the same draws, applied to fresh copies
        other = copy.deepcopy(model)
        perturb(other, 0.05, rng)
        assert deltas[i] == pytest.approx(_loss(other, X, y) - base, rel=1e-12, abs=1e-12)
    for p, b in zip(model.parameters(), before):          # the model is left as it was
        np.testing.assert_array_equal(p.data, b)
    assert np.ptp(deltas) > 0


def test_gradient_step_delta_matches_a_direct_sgd_step():
    from experiments.nma.random_search import gradient_step_delta
    model, X, y = _tiny_problem(seed=3)
    delta, grad_norm = gradient_step_delta(model, NLLLoss(), X, y, lr=0.1)
    other = copy.deepcopy(model)
    before = _loss(other, X, y)
    Trainer(other, NLLLoss(), SGD(other.parameters(), lr=0.1), batch_size=len(X), rng=None).fit(X, y, epochs=1)
    assert delta == pytest.approx(_loss(other, X, y) - before, rel=1e-10)
    assert delta < 0 and grad_norm > 0
    assert _loss(model, X, y) == pytest.approx(before)     # parameters restored


# ---- section 3: the two-parameter slice -------------------------------------------------------

def test_two_parameter_gradient_is_the_derivative_of_the_two_parameter_loss():
    from experiments.nma.conditioning import TwoParameterLoss
    model, X, y = _tiny_problem(seed=5)
    model = NeuromatchMLP([], np.random.default_rng(0), dtype=np.float64)
    problem = TwoParameterLoss(model, NLLLoss(), X, y, (378, 0), 7)
    p, h = np.array([0.7, -1.3]), 1e-6
    numeric = [(problem.f(p + e) - problem.f(p - e)) / (2 * h) for e in (np.array([h, 0]), np.array([0, h]))]
    np.testing.assert_allclose(problem.grad(p), numeric, rtol=1e-6, atol=1e-9)
    assert problem.f(np.zeros((3, 4, 2))).shape == (3, 4)
    with pytest.raises(ValueError, match="out of range"):
        TwoParameterLoss(model, NLLLoss(), X, y, (784, 0), 7)


# ---- the torch-default initialisation and the model ---------------------------------------------

def test_neuromatch_mlp_matches_torch_linear_init_and_outputs_log_probabilities():
    model = NeuromatchMLP([50], np.random.default_rng(0))
    first, last = model.layers[0], model.layers[2]
    for layer, fan_in in ((first, 784), (last, 50)):
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(layer.W.data).max() <= bound and np.abs(layer.W.data).max() > 0.95 * bound
        assert np.abs(layer.b.data).max() <= bound and np.abs(layer.b.data).max() > 0.5 * bound
    out = model.forward(np.random.default_rng(1).normal(size=(3, 784)).astype(np.float32))
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, rtol=1e-5)


# ---- the timing helper ----------------------------------------------------------------------------

def test_timing_helper_returns_positive_medians_growing_with_batch_size():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50000, 64)).astype(np.float32)
    y = rng.integers(0, 10, size=50000)
    model = MLP([64, 16, 10], rng=rng)
    med, runs = time_forward_backward(model, NLLLoss(), X, y, [1, 500, 50000], repeats=3)
    assert runs.shape == (3, 3) and (runs > 0).all()
    np.testing.assert_allclose(med, np.median(runs, axis=1))
    assert med[0] < med[1] < med[2]
    with pytest.raises(ValueError, match="batch sizes"):
        time_forward_backward(model, NLLLoss(), X[:10], y[:10], [11])


def test_weight_images_accepts_a_model_and_rejects_other_shapes():
    from minidl.plots import plt
    from minidl.plots.nma import plot_weight_images
    fig = plot_weight_images(NeuromatchMLP([7], np.random.default_rng(0)), "filters")
    assert len([ax for ax in fig.axes if ax.images]) == 7
    plt.close(fig)
    with pytest.raises(ValueError, match="shape"):
        plot_weight_images(np.zeros((100, 3)), "bad")


# ---- configs ---------------------------------------------------------------------------------------

def test_unknown_study_key_is_a_config_error_naming_it(tmp_path):
    from experiments.nma import overparam as nma_overparam
    with pytest.raises(ConfigError, match=r"Study\.stpes.*did you mean steps"):
        run_args(nma_overparam, ["configs/nma/overparam.yaml", "--set", "Study.stpes=3",
                            "--set", f"Output.dir={tmp_path}"])
    from experiments.nma import conditioning as nma_conditioning
    with pytest.raises(ConfigError, match=r"Study\.weight_index"):
        run_args(nma_conditioning, ["configs/nma/conditioning.yaml", "--set", "Study.weight_index=[784, 0]",
                               "--set", f"Output.dir={tmp_path}"])
    assert not any(tmp_path.iterdir())              # failed before creating a run folder
    with pytest.raises(ConfigError, match="optimizers"):
        from experiments.nma import adaptive as nma_adaptive
        run_args(nma_adaptive, ["configs/nma/adaptive.yaml", "--set", "Study.optimizers.SGD.momentun=0.9",
                           "--set", f"Output.dir={tmp_path}"])


def test_case_study_trains_the_tutorials_model():
    # the tutorial's section 2.2: 784 inputs, one hidden layer of 10 units, 10 outputs
    from experiments.nma import case_study
    from minidl.runs.cli import load_config
    hidden = load_config(case_study, "configs/nma/case_study.yaml")["Study"]["tutorial_hidden"]
    assert hidden == [10]
    assert NeuromatchMLP(hidden, np.random.default_rng(0)).num_parameters() == 784 * 10 + 10 + 10 * 10 + 10


# ---- smoke runs of every section on real MNIST, with tiny settings ------------------------------------

SMOKE = {
    "nma_case_study": ("case_study", ["Study.steps=3", "Study.tutorial_hidden=[3]", "Study.mlp_hidden=[4]",
                                      "Study.filters_shown=4", "Data.working_set=50"],
                       ["loss.png", "filters_tutorial.png", "weights_linear.png", "filters_mlp.png"]),
    "nma_random_search": ("random_search", ["Study.directions=5", "Study.partial_steps=2", "Data.working_set=50"],
                          ["delta_loss.png"]),
    "nma_conditioning": ("conditioning", ["Study.grid=4", "Study.steps=5", "Study.report_steps=5",
                                          "Data.working_set=50"], ["surface.png", "distance.png"]),
    "nma_overparam": ("overparam", ["Study.hidden=[[4]]", "Study.inits=2", "Study.steps=3", "Data.working_set=50"],
                      ["loss_curves.png"]),
    "nma_minibatch": ("minibatch", ["Study.timing.hidden=[[2]]", "Study.timing.batch_sizes=[1,10]",
                                    "Study.timing.repeats=1", "Study.budget.hidden=[4]", "Study.budget.batch_sizes=[20]",
                                    "Study.budget.seconds=[0.02]", "Study.budget.eval_examples=100",
                                    "Study.budget.chunk_examples=100"], ["timing.png", "loss_vs_time.png"]),
    "nma_adaptive": ("adaptive", ["Study.steps=3", "Study.hidden=[4]", "Study.batch_size=16"], ["loss_curves.png"]),
    "nma_full": ("full", ["Study.hidden=[8]", "Study.epochs=0.02", "Study.eval_every=4", "Study.val_subset=100"],
                 ["curves.png", "metrics.csv"]),
}


@pytest.mark.integration
@pytest.mark.parametrize("module", list(SMOKE))
def test_every_section_runs_end_to_end_with_tiny_settings(module, real_mnist_dir, tmp_path):
    import importlib
    config, overrides, files = SMOKE[module]
    args = [f"configs/nma/{config}.yaml", "--set", f"Data.dir={real_mnist_dir}", "--set", f"Output.dir={tmp_path}"]
    for item in overrides:
        args += ["--set", item]
    run_dir = run_args(importlib.import_module(f"experiments.nma.{module[4:]}"), args)
    for name in ["config.yaml", "summary.json", *files]:
        assert (run_dir / name).stat().st_size > 0, name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["wall_time_s"] > 0


@pytest.mark.integration
def test_working_set_is_drawn_with_replacement_from_normalized_mnist(real_mnist_dir):
    data = load_normalized_mnist(real_mnist_dir)
    mean, std = data["stats"]
    assert mean == pytest.approx(0.1307, abs=1e-4) and std == pytest.approx(0.3081, abs=1e-4)
    X, y = data["train"]
    assert abs(float(X.mean())) < 1e-3 and float(X.std()) == pytest.approx(1.0, abs=1e-3)
    Xw, yw, idx = sample_with_replacement(X, y, 500, np.random.default_rng(2021))
    assert Xw.shape == (500, 784)
    np.testing.assert_array_equal(idx, np.random.default_rng(2021).choice(60000, 500, replace=True))
    np.testing.assert_array_equal(Xw, X[idx])
