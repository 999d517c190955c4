"""Tests for minidl.analysis: parameter vectors, exact Hessians, minimal ratio, PCA, input Jacobians.

Everything runs in float64 against closed forms or an independent second method.
"""
import numpy as np
import pytest

from minidl.analysis import (RecordingLoss, default_tolerance, flatten_grads, flatten_params, grad_norm, hessian,
                             hessian_vector_product, input_jacobian, loss_and_grad, minimal_ratio, pca_2d,
                             unflatten_params)
from minidl.layers import Linear, LogSoftmax, Sequential
from minidl.losses import MSELoss, NLLLoss, SoftmaxCrossEntropy
from minidl.models import MLP


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-300)


def small_problem(activation="tanh", loss="mse", seed=0, sizes=(3, 5, 4, 2), n=17):
    rng = np.random.default_rng(seed)
    model = MLP(list(sizes), activation=activation, rng=rng, dtype=np.float64)
    for p in model.parameters():              # non-zero biases, so every term of the Hessian is exercised
        p.data = p.data + 0.3 * rng.normal(size=p.shape)
    X = rng.normal(size=(n, sizes[0]))
    if loss == "mse":
        return model, MSELoss(), X, rng.normal(size=(n, sizes[-1]))
    return model, SoftmaxCrossEntropy(), X, rng.integers(0, sizes[-1], n)


# ---- parameter vectors ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flatten_unflatten_round_trip(dtype):
    model = MLP([4, 6, 3], rng=0, dtype=dtype)
    theta = flatten_params(model)
    assert theta.shape == (model.num_parameters(),) == (4 * 6 + 6 + 6 * 3 + 3,)
    assert theta.dtype == dtype
    # order: 0.W row-major, 0.b, 2.W, 2.b
    np.testing.assert_array_equal(theta[:24], model[0].W.data.ravel())
    np.testing.assert_array_equal(theta[24:30], model[0].b.data)
    new = np.arange(theta.size, dtype=np.float64)
    unflatten_params(model, new)
    assert model[2].W.shape == (6, 3) and model[2].W.dtype == dtype
    np.testing.assert_array_equal(flatten_params(model), new.astype(dtype))
    new[0] = -1.0                               # the model holds copies, not views of the vector
    assert flatten_params(model)[0] == 0


def test_unflatten_rejects_wrong_length():
    model = MLP([2, 3, 1], rng=0)
    with pytest.raises(ValueError, match="expected a vector of 13 values"):
        unflatten_params(model, np.zeros(12))


def test_grad_norm_matches_direct_computation():
    model, loss, X, y = small_problem(activation="relu")
    value, g = loss_and_grad(model, loss, X, y)
    direct = np.sqrt(sum(np.sum(p.grad ** 2) for p in model.parameters()))
    assert grad_norm(model) == pytest.approx(direct, rel=1e-12)
    assert grad_norm(model) == pytest.approx(np.linalg.norm(g), rel=1e-12)
    np.testing.assert_array_equal(g, flatten_grads(model))
    assert value == pytest.approx(loss.forward(model.forward(X), y))


def test_grad_norm_needs_a_backward_pass():
    with pytest.raises(ValueError, match="run a backward pass first"):
        grad_norm(MLP([2, 2], rng=0))


def test_recording_loss_keeps_every_forward_value():
    loss = RecordingLoss(MSELoss())
    a, b = np.ones((2, 1)), np.zeros((2, 1))
    loss.forward(a, b)
    loss.pause()
    loss.forward(2 * a, b)
    loss.resume()
    loss(3 * a, b)
    assert loss.values == [1.0, 9.0]
    np.testing.assert_allclose(loss.backward(), 2 * 3 * a / 2)


# ---- Hessian -------------------------------------------------------------------------------------

def linear_regression_hessian(X, d_out):
    """Closed form for Linear(D_in -> D_out) under MSELoss = mean over all N * D_out squared errors.

    Per output k the loss is (1/(N D_out)) sum_n (x~_n . w~_k - y_nk)^2 with x~ = [x, 1], so its
    Hessian block is (2 / (N D_out)) X~^T X~, and outputs do not interact.  In minidl's order
    (W row-major, then b) that is a Kronecker product with I_{D_out}.
    """
    n = len(X)
    c = 2.0 / (n * d_out)
    eye = np.eye(d_out)
    top = np.hstack([np.kron(X.T @ X, eye), np.kron(X.sum(axis=0)[:, None], eye)])
    bottom = np.hstack([np.kron(X.sum(axis=0)[None, :], eye), n * eye])
    return c * np.vstack([top, bottom])


@pytest.mark.parametrize("method", ["exact", "fd"])
def test_hessian_of_linear_regression_matches_closed_form(method):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    layer = Linear(3, 2, rng=rng, dtype=np.float64)
    H = hessian(layer, MSELoss(), X, Y, method=method, symmetrize=False)
    expected = linear_regression_hessian(X, 2)
    assert H.shape == (8, 8)
    assert rel(H, expected) < 1e-5, f"{method}: relative error {rel(H, expected):.2e}"
    assert rel(H, H.T) < 1e-5
    # the single-output case is literally (2/N) X~^T X~
    layer1 = Linear(3, 1, rng=rng, dtype=np.float64)
    Xa = np.hstack([X, np.ones((40, 1))])
    H1 = hessian(layer1, MSELoss(), X, Y[:, :1], method=method)
    assert rel(H1, 2.0 / 40 * Xa.T @ Xa) < 1e-5


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_exact_hessian_matches_finite_differences_of_gradients(activation, loss):
    model, loss_fn, X, y = small_problem(activation, loss)
    H = hessian(model, loss_fn, X, y, symmetrize=False)
    H_fd = hessian(model, loss_fn, X, y, method="fd", symmetrize=False)
    assert rel(H, H.T) < 1e-12, "the R-operator Hessian should be symmetric to rounding"
    assert rel(H, H_fd) < 1e-5, f"R-operator vs finite differences: {rel(H, H_fd):.2e}"
    assert np.abs(H).max() > 1e-3                  # not trivially zero


def test_hessian_vector_product_and_batched_columns_agree():
    model, loss, X, y = small_problem("sigmoid", "cross_entropy", sizes=(4, 6, 3))
    H = hessian(model, loss, X, y)
    H_small_batches = hessian(model, loss, X, y, max_elements=1)    # one column at a time
    np.testing.assert_allclose(H_small_batches, H, rtol=0, atol=1e-14 * np.abs(H).max())
    v = np.random.default_rng(2).normal(size=H.shape[0])
    np.testing.assert_allclose(hessian_vector_product(model, loss, X, y, v), H @ v, rtol=1e-10, atol=1e-14)
    theta = flatten_params(model)
    hessian_vector_product(model, loss, X, y, v, method="fd")
    np.testing.assert_array_equal(flatten_params(model), theta)      # fd restores the parameters


def test_gradient_of_squared_gradient_norm_is_twice_hvp():
    """The HW1-2.3 identity: d/dtheta ||g||^2 = 2 H g, checked by a directional difference."""
    model, loss, X, y = small_problem("tanh", "mse")
    theta = flatten_params(model)
    _, g = loss_and_grad(model, loss, X, y)
    grad_f = 2 * hessian_vector_product(model, loss, X, y, g)
    d = np.random.default_rng(3).normal(size=theta.size)
    h = 1e-6

    def f(t):
        unflatten_params(model, t)
        return float(np.sum(loss_and_grad(model, loss, X, y)[1] ** 2))

    numeric = (f(theta + h * d) - f(theta - h * d)) / (2 * h)
    assert numeric == pytest.approx(grad_f @ d, rel=1e-6)


def test_hessian_errors_name_the_problem():
    model, loss, X, y = small_problem()
    with pytest.raises(ValueError, match="method must be one of"):
        hessian(model, loss, X, y, method="autograd")
    with pytest.raises(ValueError, match=r"direction v must have shape \(54,\)"):
        hessian_vector_product(model, loss, X, y, np.zeros(3))
    net = Sequential(Linear(3, 2, rng=0, dtype=np.float64), LogSoftmax())
    with pytest.raises(TypeError, match="use method='fd'"):
        hessian(net, NLLLoss(), X, np.zeros(len(X), dtype=int))
    # ... and the fd method handles it
    assert hessian(net, NLLLoss(), X, np.zeros(len(X), dtype=int), method="fd").shape == (8, 8)


# ---- minimal ratio -------------------------------------------------------------------------------

def with_spectrum(eigenvalues, seed=0):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(len(eigenvalues), len(eigenvalues))))
    return Q @ np.diag(eigenvalues) @ Q.T


@pytest.mark.parametrize("eigenvalues, ratio", [
    ([3.0, 2.0, 1.0, 0.5], 1.0),                 # a minimum
    ([3.0, 2.0, -1.0, -0.5], 0.5),               # a saddle
    ([-1.0, -2.0, -3.0, -4.0], 0.0),             # a maximum
    ([3.0, 0.0, 0.0, -1.0, 2.0], 0.4),           # flat directions do not count as positive
])
def test_minimal_ratio_on_known_spectra(eigenvalues, ratio):
    assert minimal_ratio(with_spectrum(eigenvalues)) == pytest.approx(ratio)
    assert minimal_ratio(np.array(eigenvalues)) == pytest.approx(ratio)


def test_minimal_ratio_tolerance_ignores_rounding_of_exact_zeros():
    a = np.random.default_rng(4).normal(size=20)
    H = np.outer(a, a)                           # rank 1: one eigenvalue |a|^2, nineteen exact zeros
    eigenvalues = np.linalg.eigvalsh(H)
    assert np.abs(eigenvalues[:-1]).max() > 0    # rounding makes the zeros +-tiny ...
    assert minimal_ratio(H) == pytest.approx(1 / 20)         # ... and the default tol ignores them
    assert default_tolerance(eigenvalues) == pytest.approx(20 * np.finfo(float).eps * a @ a)
    assert minimal_ratio(np.array([1.0, 1e-3, -1.0]), tol=1e-2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="square"):
        minimal_ratio(np.zeros((2, 3)))


# ---- PCA -----------------------------------------------------------------------------------------

def test_pca_2d_finds_the_known_principal_axes():
    rng = np.random.default_rng(5)
    u = rng.normal(size=50)
    u /= np.linalg.norm(u)
    w = rng.normal(size=50)
    w -= (w @ u) * u
    w /= np.linalg.norm(w)
    t, s = np.linspace(-5, 5, 40), np.tile([1.0, -1.0, -1.0, 1.0], 10)   # uncorrelated, mean 0
    vectors = 7.0 + np.outer(t, u) + np.outer(s, w)          # variance along u >> along w, nothing else
    proj, ratio = pca_2d(vectors)
    assert proj.shape == (40, 2)
    np.testing.assert_allclose(np.abs(proj[:, 0]), np.abs(t), atol=1e-9)
    np.testing.assert_allclose(np.abs(proj[:, 1]), np.abs(s), atol=1e-9)
    var_t, var_s = np.var(t), np.var(s)
    np.testing.assert_allclose(ratio, [var_t / (var_t + var_s), var_s / (var_t + var_s)], rtol=1e-9)
    # deterministic signs: the largest loading of each axis is positive, so -u gives the same picture
    proj2, _ = pca_2d(7.0 - np.outer(t, u) + np.outer(s, w))
    np.testing.assert_allclose(proj2[:, 0], -proj[:, 0], atol=1e-9)
    with pytest.raises(ValueError, match="M >= 2"):
        pca_2d(np.zeros((1, 5)))


# ---- input Jacobian ------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_input_jacobian_matches_finite_differences(activation):
    model, _, X, _ = small_problem(activation, sizes=(3, 6, 4), n=5)
    loss_and_grad(model, MSELoss(), X, np.zeros((5, 4)))
    before = [p.grad.copy() for p in model.parameters()]
    J = input_jacobian(model, X)
    assert J.shape == (5, 4, 3)
    h = 1e-6
    numeric = np.empty_like(J)
    for d in range(3):
        step = np.zeros(3)
        step[d] = h
        numeric[:, :, d] = (model.forward(X + step) - model.forward(X - step)) / (2 * h)
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-8)
    for p, g in zip(model.parameters(), before):                  # parameter gradients untouched
        np.testing.assert_array_equal(p.grad, g)


def test_input_jacobian_of_a_linear_layer_is_its_weight():
    layer = Linear(4, 3, rng=0, dtype=np.float64)
    J = input_jacobian(layer, np.random.default_rng(0).normal(size=(6, 4)))
    np.testing.assert_allclose(J, np.broadcast_to(layer.W.data.T, (6, 3, 4)))
