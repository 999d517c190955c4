"""The gradient checker itself: exact on known functions, and able to fail on broken layers."""
import numpy as np
import pytest
from hypothesis import given, settings

import strategies as S
from minidl.gradcheck import check_layer, check_model_loss, numerical_gradient, relative_error
from minidl.layers import Linear, ReLU, Sequential, Sigmoid, Tanh
from minidl.losses import MSELoss, SoftmaxCrossEntropy
from minidl.models import MLP


# ---------------------------------------------------------------- numerical_gradient
@settings(max_examples=40)
@given(x=S.matrices())
def test_numerical_gradient_of_sum_of_cubes_is_3x_squared(x):
    before = x.copy()
    grad = numerical_gradient(lambda a: float(np.sum(a ** 3)), x)
    # central difference of x^3: ((x+h)^3 - (x-h)^3) / 2h = 3x^2 + h^2, exact up to rounding,
    # and rounding f = sum(x^3) costs about eps * sum|x^3| / h in every entry
    noise = 1e-9 * (1.0 + np.sum(np.abs(x) ** 3))
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-6, atol=noise, err_msg=f"x = {x}")
    np.testing.assert_array_equal(x, before, err_msg="x must be restored after the perturbations")
    assert grad.shape == x.shape and grad.dtype == np.float64


def test_numerical_gradient_by_hand():
    # f(x, y) = x^2 y + sin(y):  df/dx = 2xy,  df/dy = x^2 + cos(y)
    point = np.array([1.5, -0.5])
    grad = numerical_gradient(lambda p: p[0] ** 2 * p[1] + np.sin(p[1]), point)
    np.testing.assert_allclose(grad, [2 * 1.5 * -0.5, 1.5 ** 2 + np.cos(-0.5)], rtol=1e-8)


def test_numerical_gradient_reads_a_closure_over_the_perturbed_array():
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    # f ignores its argument and reads w directly, as the parameter checks do: f = sum(w^2), grad 2w
    np.testing.assert_allclose(numerical_gradient(lambda _: float(np.sum(w * w)), w), 2 * w, rtol=1e-8)


def test_numerical_gradient_refuses_arrays_it_cannot_perturb_in_place():
    x = np.arange(12.0).reshape(3, 4)[:, :2]         # a view that reshape(-1) would have to copy
    with pytest.raises(ValueError, match="contiguous"):
        numerical_gradient(lambda a: float(np.sum(a)), x)
    # an evenly strided view can be flattened without a copy, so it is accepted (and restored)
    y = np.arange(12.0).reshape(3, 4)[:, ::2]
    np.testing.assert_allclose(numerical_gradient(lambda a: float(np.sum(a ** 2)), y), 2 * y, rtol=1e-8)


# ---------------------------------------------------------------- relative_error
def test_relative_error_by_hand():
    # max |a - n| = 0.002, scale max(|a|, |n|) = 2.002
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.002])) == pytest.approx(0.002 / 2.002)
    assert relative_error(np.array([1.0, -4.0]), np.array([1.0, -4.0])) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 1.0
    with pytest.raises(ValueError, match="shapes"):
        relative_error(np.zeros(3), np.zeros(4))


# ---------------------------------------------------------------- the checks can pass and fail
class _LinearDoubledWeightGrad(Linear):
    """Linear whose dL/dW is twice the truth: the bug the checker exists to catch."""

    def backward(self, dout, input_grad=True):
        dx = super().backward(dout, input_grad)
        self.W.grad = self.W.grad * 2
        return dx


class _LinearWrongInputGrad(Linear):
    """Linear whose dL/dx uses W instead of W^T (only shape-correct for square layers)."""

    def backward(self, dout, input_grad=True):
        super().backward(dout, input_grad)
        return dout @ self.W.data


class _LinearForgetsBiasGrad(Linear):
    """Linear that sums dout over the features instead of over the batch for db."""

    def backward(self, dout, input_grad=True):
        dx = super().backward(dout, input_grad)
        self.b.grad = np.full_like(self.b.grad, dout.sum() / dout.shape[1])
        return dx


class _SigmoidWrongDerivative(Sigmoid):
    """Sigmoid with dy/dx = y instead of y(1 - y)."""

    def backward(self, dout, input_grad=True):
        return dout * self._cached()


BROKEN = {
    "dW doubled": lambda: _LinearDoubledWeightGrad(3, 3, rng=0, dtype=np.float64),
    "dx uses W, not W.T": lambda: _LinearWrongInputGrad(3, 3, rng=0, dtype=np.float64),
    "db summed wrongly": lambda: _LinearForgetsBiasGrad(3, 3, rng=0, dtype=np.float64),
    "sigmoid' = y": _SigmoidWrongDerivative,
}
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def test_check_layer_passes_a_correct_layer():
    for layer in (Linear(3, 3, rng=0, dtype=np.float64), Sigmoid(), Tanh()):
        err = check_layer(layer, X, np.random.default_rng(0))
        assert err < 1e-7, f"{layer!r}: {err:.3e}"


@pytest.mark.parametrize("name", list(BROKEN))
def test_check_layer_fails_a_broken_layer(name):
    err = check_layer(BROKEN[name](), X, np.random.default_rng(0))
    assert err > 0.1, f"{name}: the check reported only {err:.3e}"


@pytest.mark.parametrize("name", list(BROKEN))
def test_check_model_loss_fails_a_broken_layer_inside_a_model(name):
    model = Sequential(BROKEN[name](), Tanh(), Linear(3, 2, rng=1, dtype=np.float64))
    good = Sequential(Linear(3, 3, rng=0, dtype=np.float64), Tanh(), Linear(3, 2, rng=1, dtype=np.float64))
    y = np.array([1, 0])
    assert check_model_loss(good, SoftmaxCrossEntropy(), X, y) < 1e-7
    err = check_model_loss(model, SoftmaxCrossEntropy(), X, y)
    assert err > 0.1, f"{name}: the check reported only {err:.3e}"


def test_check_model_loss_passes_a_correct_model():
    model = MLP([3, 4, 2], activation="tanh", rng=0, dtype=np.float64)
    assert check_model_loss(model, SoftmaxCrossEntropy(), X, np.array([0, 1])) < 1e-7
    assert check_model_loss(model, MSELoss(), X, np.array([[0.5, -0.5], [1.0, 2.0]])) < 1e-7


def test_checks_leave_parameters_unchanged():
    model = MLP([3, 4, 2], activation="sigmoid", rng=0, dtype=np.float64)
    before = [p.data.copy() for p in model.parameters()]
    check_model_loss(model, SoftmaxCrossEntropy(), X, np.array([0, 1]))
    check_layer(model, X, np.random.default_rng(0))
    for b, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(b, p.data)


# ---------------------------------------------------------------- float64 only
def test_checks_refuse_float32_models():
    model = MLP([3, 4, 2], rng=0)                     # float32 by default
    with pytest.raises(ValueError, match="float64"):
        check_layer(model, X, np.random.default_rng(0))
    with pytest.raises(ValueError, match="float64"):
        check_model_loss(model, SoftmaxCrossEntropy(), X, np.array([0, 1]))
    with pytest.raises(ValueError, match="float64"):
        check_layer(Linear(3, 2), X, np.random.default_rng(0))
    # converting the model makes it checkable
    assert check_model_loss(model.astype(np.float64), SoftmaxCrossEntropy(), X, np.array([0, 1])) < 1e-6


def test_relu_at_a_kink_is_where_a_check_would_be_meaningless():
    # documents why the property tests keep ReLU inputs away from 0: exactly at 0 the
    # one-sided derivatives differ, and the central difference gives 1/2
    grad = numerical_gradient(lambda a: float(ReLU().forward(a).sum()), np.array([[0.0]]))
    assert grad[0, 0] == pytest.approx(0.5)
