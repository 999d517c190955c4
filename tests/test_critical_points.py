"""Tests for minidl.analysis.critical_points: second-order steps that drive ||g|| to almost zero.

Small float64 problems: linear regression (a convex quadratic, where a Newton step is exact) and a
teacher-student tanh network [1, 3, 1] (its data come from a network of the same shape, so a
zero-loss minimum exists; it also has a saddle at loss 6.5e-3 where two hidden units coincide).
"""
import numpy as np
import pytest

from minidl.analysis import (flatten_params, hessian, levenberg_marquardt, loss_and_grad, minimal_ratio,
                             saddle_free_newton, spectrum_counts)
from minidl.layers import Linear
from minidl.losses import MSELoss
from minidl.models import MLP


def teacher_student(seed):
    """A student MLP [1, 3, 1] (tanh, from ``seed``) and 30 points labelled by a fixed teacher of that shape."""
    X = np.linspace(-2, 2, 30)[:, None]
    teacher = MLP([1, 3, 1], activation="tanh", rng=np.random.default_rng(100), dtype=np.float64)
    student = MLP([1, 3, 1], activation="tanh", rng=np.random.default_rng(seed), dtype=np.float64)
    return student, MSELoss(), X, teacher.forward(X)


def test_saddle_free_newton_solves_linear_regression_in_a_few_steps():
    rng = np.random.default_rng(0)
    model = Linear(3, 1, rng=rng, dtype=np.float64)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.normal(size=(40, 1))
    value, g, steps = saddle_free_newton(model, MSELoss(), X, y, steps=20, threshold=1e-12)
    assert np.linalg.norm(g) <= 1e-12 and steps <= 8        # quadratic: each step is (almost) Newton's
    X1 = np.hstack([X, np.ones((40, 1))])                   # the least-squares solution, in 0.W, 0.b order
    np.testing.assert_allclose(flatten_params(model), np.linalg.lstsq(X1, y, rcond=None)[0].ravel(), atol=1e-10)
    assert value == pytest.approx(loss_and_grad(model, MSELoss(), X, y)[0])   # the model is left at the end point


@pytest.mark.parametrize("seed", [0, 2, 4, 6])
def test_saddle_free_newton_drives_the_gradient_below_1e_5(seed):
    model, loss, X, y = teacher_student(seed)
    start, g0 = loss_and_grad(model, loss, X, y)
    value, g, steps = saddle_free_newton(model, loss, X, y, steps=100, threshold=1e-5)
    assert np.linalg.norm(g) <= 1e-5 < np.linalg.norm(g0) and 0 < steps < 100
    assert value < 1e-6 * start                             # downhill all the way, close to the teacher's 0
    np.testing.assert_allclose(loss_and_grad(model, loss, X, y)[1], g)


def test_levenberg_marquardt_finds_the_nearby_saddle_and_saddle_free_newton_does_not():
    model, loss, X, y = teacher_student(5)
    value, g, steps = levenberg_marquardt(model, loss, X, y, steps=60, threshold=1e-10)
    assert np.linalg.norm(g) <= 1e-10 and steps < 60       # a nondegenerate root: fast convergence
    lam = np.linalg.eigvalsh(hessian(model, loss, X, y))
    assert lam[0] < -1e-2 and value == pytest.approx(6.48e-3, rel=1e-2)          # clearly a saddle
    model, loss, X, y = teacher_student(5)
    value, g, _ = saddle_free_newton(model, loss, X, y, steps=100, threshold=1e-5)
    assert value < 1e-6 and np.linalg.eigvalsh(hessian(model, loss, X, y))[0] > -1e-5


def test_levenberg_marquardt_never_raises_the_gradient_norm():
    model, loss, X, y = teacher_student(1)
    _, g0 = loss_and_grad(model, loss, X, y)
    _, g, steps = levenberg_marquardt(model, loss, X, y, steps=5, threshold=1e-12)
    assert steps == 5 and np.linalg.norm(g) < np.linalg.norm(g0)


def test_spectrum_counts_split_at_the_tolerance():
    lam = np.array([-2.0, -1e-14, 0.0, 1e-14, 3.0])
    assert spectrum_counts(lam, 0.0) == {"negative": 2, "flat": 1, "positive": 2}
    assert spectrum_counts(lam, 1e-12) == {"negative": 1, "flat": 3, "positive": 1}
    for tol in (0.0, 1e-12, 2.5):
        assert spectrum_counts(lam, tol)["positive"] / lam.size == minimal_ratio(lam, tol=tol)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        spectrum_counts(lam, -1.0)
