"""BatchNorm1d and BatchNorm2d: gradient checks in training mode, running statistics by hand,
evaluation mode, buffers in the state dict, dtypes, errors, torch."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import strategies as S
from minidl.gradcheck import check_layer
from minidl.layers import BatchNorm1d, BatchNorm2d, Linear, ReLU, Sequential

EXAMPLES = settings(max_examples=40)


@st.composite
def bn_inputs(draw):
    """``(layer class, x)``: (N, D) or (N, C, H, W) float64 with at least two values per feature."""
    if draw(st.booleans()):
        shape = (draw(st.integers(2, 6)), draw(S.feature_sizes))
        return BatchNorm1d, draw(S.float64_arrays(shape))
    shape = (draw(S.batch_sizes), draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    if shape[0] * shape[2] * shape[3] < 2:
        shape = (2, *shape[1:])
    return BatchNorm2d, draw(S.float64_arrays(shape))


def _spread_out(x, bn_cls):
    """Whether every feature of x has a spread well above zero: a (near-)constant feature has
    var ~ 0, where xhat = 0 / sqrt(eps) is a cliff that finite differences cannot judge."""
    axes = (0,) if bn_cls is BatchNorm1d else (0, 2, 3)
    return x.std(axis=axes).min() > 0.1


# ---------------------------------------------------------------- gradient checks
@EXAMPLES
@given(cls_x=bn_inputs(), seed=S.seeds)
def test_batchnorm_gradients_in_training_mode(cls_x, seed):
    cls, x = cls_x
    assume(_spread_out(x, cls))
    layer = cls(x.shape[1], dtype=np.float64)
    init = np.random.default_rng(seed + 1)
    layer.gamma.data = init.uniform(0.5, 2.0, x.shape[1]) * init.choice([-1, 1], x.shape[1])
    layer.beta.data = init.standard_normal(x.shape[1])
    # with two values per feature xhat is +-1 whatever x is, a gradient of order eps that finite
    # differences cannot see: skip draws whose numerical gradients are lost in rounding
    dout = np.random.default_rng(seed).standard_normal(x.shape)            # as check_layer draws it
    assume(S.finite_differences_resolve(lambda _: float(np.sum(layer.forward(x) * dout)),
                                        [x, layer.gamma.data, layer.beta.data], h=1e-6))
    err = check_layer(layer, x, np.random.default_rng(seed))
    assert err <= S.GRAD_TOL, f"{layer!r} on input {x.shape}: relative gradient error {err:.3e}"


@EXAMPLES
@given(cls_x=bn_inputs(), seed=S.seeds)
def test_batchnorm_gradients_in_eval_mode(cls_x, seed):
    cls, x = cls_x
    layer = cls(x.shape[1], dtype=np.float64)
    rng = np.random.default_rng(seed)
    layer.running_mean = rng.standard_normal(x.shape[1])
    layer.running_var = rng.uniform(0.5, 2.0, x.shape[1])
    layer.gamma.data = rng.standard_normal(x.shape[1])
    err = check_layer(layer.eval(), x, rng)
    assert err <= S.GRAD_TOL, f"{layer!r} (eval) on input {x.shape}: relative gradient error {err:.3e}"


@EXAMPLES
@given(cls_x=bn_inputs(), seed=S.seeds)
def test_staged_backward_equals_the_closed_form(cls_x, seed):
    cls, x = cls_x
    layer = cls(x.shape[1], dtype=np.float64)
    rng = np.random.default_rng(seed)
    layer.gamma.data = rng.standard_normal(x.shape[1])
    axes = layer.axes
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    dx = layer.backward(dout)
    # dx = (1/s) (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), per feature
    s = np.sqrt(x.var(axis=axes, keepdims=True) + layer.eps)
    xhat = (x - x.mean(axis=axes, keepdims=True)) / s
    dxhat = dout * layer._per_feature(layer.gamma.data)
    closed = (dxhat - dxhat.mean(axis=axes, keepdims=True) - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)) / s
    np.testing.assert_allclose(dx, closed, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- values and running statistics
def test_training_forward_normalises_each_feature():
    x = np.random.default_rng(0).normal(5.0, 3.0, (200, 4))
    y = BatchNorm1d(4, dtype=np.float64).forward(x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-3)           # var / (var + eps)


def test_running_statistics_by_hand():
    layer = BatchNorm1d(2, momentum=0.25, dtype=np.float64)
    x1 = np.array([[1.0, 10.0], [3.0, 10.0], [8.0, 16.0]])
    layer.forward(x1)
    # batch means (4, 12); biased variances ((9 + 1 + 16) / 3, (4 + 4 + 16) / 3) = (26/3, 8), and the
    # unbiased ones, times m / (m - 1) = 3/2: (13, 12)
    np.testing.assert_allclose(layer.running_mean, [0.75 * 0 + 0.25 * 4, 0.75 * 0 + 0.25 * 12])
    np.testing.assert_allclose(layer.running_var, [0.75 * 1 + 0.25 * 13, 0.75 * 1 + 0.25 * 12])
    x2 = np.array([[0.0, 2.0], [2.0, 4.0]])
    layer.forward(x2)
    # means (1, 3); unbiased variances (2, 2)
    np.testing.assert_allclose(layer.running_mean, [0.75 * 1.0 + 0.25 * 1, 0.75 * 3.0 + 0.25 * 3])
    np.testing.assert_allclose(layer.running_var, [0.75 * 4.0 + 0.25 * 2, 0.75 * 3.75 + 0.25 * 2])


def test_batchnorm2d_statistics_are_per_channel_over_batch_and_space():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 4, 5)) + np.array([1.0, -2.0])[None, :, None, None]
    layer = BatchNorm2d(2, momentum=1.0, dtype=np.float64)
    y = layer.forward(x)
    per_channel = x.transpose(1, 0, 2, 3).reshape(2, -1)                  # (C, N H W)
    np.testing.assert_allclose(layer.running_mean, per_channel.mean(axis=1))
    np.testing.assert_allclose(layer.running_var, per_channel.var(axis=1, ddof=1))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)


def test_eval_mode_uses_the_running_statistics_and_is_deterministic():
    layer = BatchNorm2d(2, dtype=np.float64)
    layer.gamma.data = np.array([2.0, 1.0])
    layer.beta.data = np.array([0.5, -1.0])
    layer.running_mean = np.array([1.0, -1.0])
    layer.running_var = np.array([4.0, 0.25])
    x = np.random.default_rng(0).standard_normal((3, 2, 2, 2))
    before = layer.state_dict()
    y1, y2 = layer.eval().forward(x), layer.forward(x)
    np.testing.assert_array_equal(y1, y2)
    expected = (x - layer._per_feature(layer.running_mean)) / np.sqrt(layer._per_feature(layer.running_var) + 1e-5)
    gamma, beta = layer._per_feature(layer.gamma.data), layer._per_feature(layer.beta.data)
    np.testing.assert_allclose(y1, expected * gamma + beta)
    # eval mode leaves the running statistics alone; one example is fine there
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert layer.forward(x[:1, :, :1, :1]).shape == (1, 2, 1, 1)


# ---------------------------------------------------------------- parameters, buffers, state
def test_parameters_and_buffers():
    layer = BatchNorm2d(3)
    assert [name for name, _ in layer.named_parameters()] == ["gamma", "beta"]
    assert all(p.decay is False for p in layer.parameters())
    np.testing.assert_array_equal(layer.gamma.data, 1.0)
    np.testing.assert_array_equal(layer.beta.data, 0.0)
    assert [name for name, _ in layer.named_buffers()] == ["running_mean", "running_var"]
    np.testing.assert_array_equal(layer.running_mean, 0.0)
    np.testing.assert_array_equal(layer.running_var, 1.0)


def test_state_dict_round_trip_of_a_sequential_carries_the_buffers():
    rng = np.random.default_rng(0)
    src = Sequential(Linear(3, 4, rng=0), BatchNorm1d(4), ReLU(), Linear(4, 2, rng=1), BatchNorm1d(2))
    for _ in range(3):
        src.forward(rng.standard_normal((8, 3)).astype(np.float32))
    state = src.state_dict()
    assert {"1.running_mean", "1.running_var", "4.running_mean", "4.running_var"} <= set(state)
    dst = Sequential(Linear(3, 4, rng=5), BatchNorm1d(4), ReLU(), Linear(4, 2, rng=6), BatchNorm1d(2))
    dst.load_state_dict(state)
    for name, value in dst.state_dict().items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(src.eval().forward(x), dst.eval().forward(x))


def test_checkpoint_file_carries_the_buffers(tmp_path):
    from minidl.training.checkpoint import restore, save_checkpoint
    src = Sequential(Linear(3, 2, rng=0), BatchNorm1d(2))
    src.forward(np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32))
    save_checkpoint(tmp_path / "c.npz", src)
    dst = Sequential(Linear(3, 2, rng=1), BatchNorm1d(2))
    restore(tmp_path / "c.npz", dst)
    np.testing.assert_array_equal(dst[1].running_mean, src[1].running_mean)
    np.testing.assert_array_equal(dst[1].running_var, src[1].running_var)


# ---------------------------------------------------------------- dtypes and errors
@pytest.mark.parametrize("make, shape", [(lambda: BatchNorm1d(3), (4, 3)), (lambda: BatchNorm2d(3), (2, 3, 2, 2))])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_float32_in_float32_out(make, shape, mode):
    layer = getattr(make(), mode)()
    y = layer.forward(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    dx = layer.backward(np.ones_like(y))
    got = {y.dtype, dx.dtype, layer.gamma.grad.dtype, layer.beta.grad.dtype, layer.running_mean.dtype,
           layer.running_var.dtype}
    assert got == {np.dtype(np.float32)}


@pytest.mark.parametrize("layer, shape, fragment", [
    (BatchNorm1d(4), (8, 3), r"BatchNorm1d\(4\) expects input of shape \(N, 4\); got shape \(8, 3\)"),
    (BatchNorm1d(4), (8, 4, 2, 2), r"BatchNorm1d\(4\) expects input of shape \(N, 4\); got shape \(8, 4, 2, 2\)"),
    (BatchNorm2d(16), (8, 3, 5, 5),
     r"BatchNorm2d\(16\) expects input of shape \(N, 16, H, W\); got shape \(8, 3, 5, 5\)"),
    (BatchNorm2d(16), (8, 16), r"BatchNorm2d\(16\) expects .* got shape \(8, 16\)"),
    (BatchNorm1d(4), (1, 4), r"BatchNorm1d\(4\) in training mode needs more than one value per feature"),
])
def test_wrong_input_names_the_layer_and_both_shapes(layer, shape, fragment):
    with pytest.raises(ValueError, match=fragment):
        layer.forward(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("kwargs", [dict(num_features=0), dict(num_features=3, momentum=1.5)])
def test_bad_settings_raise(kwargs):
    with pytest.raises(ValueError):
        BatchNorm1d(**kwargs)


def test_repr():
    assert repr(BatchNorm1d(64)) == "BatchNorm1d(64)"
    assert repr(BatchNorm2d(8, momentum=0.01)) == "BatchNorm2d(8, momentum=0.01)"


# ---------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5, 2), (1, 3, 2, 2)])
def test_matches_torch_over_training_steps_then_eval(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours = (BatchNorm1d if len(shape) == 2 else BatchNorm2d)(3, momentum=0.3, dtype=np.float64)
    ref = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(3, momentum=0.3).double()
    ours.gamma.data, ours.beta.data = rng.standard_normal(3), rng.standard_normal(3)
    ref.weight.data, ref.bias.data = torch.tensor(ours.gamma.data), torch.tensor(ours.beta.data)
    for mode in ["train", "train", "train", "eval"]:
        getattr(ours, mode)(), getattr(ref, mode)()
        ref.zero_grad()
        x, dout = 2 * rng.standard_normal(shape) + 1, rng.standard_normal(shape)
        xt = torch.tensor(x, requires_grad=True)
        yt = ref(xt)
        yt.backward(torch.tensor(dout))
        np.testing.assert_allclose(ours.forward(x), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.gamma.grad, ref.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12)
