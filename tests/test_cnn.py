"""Flatten, and the convolutional layers together: a small CNN checked end to end through the
loss, modes through a whole network, float32 throughout, and the benchmark net against torch."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import strategies as S
from minidl.gradcheck import check_layer, check_model_loss
from minidl.layers import (AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential,
                           Tanh)
from minidl.losses import SoftmaxCrossEntropy


# ---------------------------------------------------------------- Flatten
def test_flatten_is_row_major_like_torch_and_backward_undoes_it():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    layer = Flatten()
    y = layer.forward(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y[1], np.arange(12.0, 24.0))          # y[n, (c H + h) W + w] = x[n, c, h, w]
    np.testing.assert_array_equal(layer.backward(y), x)


def test_flatten_of_a_conv_output_view_keeps_the_logical_order():
    conv = Conv2d(1, 3, 2, rng=0, dtype=np.float64)
    y = conv.forward(np.random.default_rng(0).standard_normal((4, 1, 3, 3)))
    assert not y.flags.c_contiguous
    np.testing.assert_array_equal(Flatten().forward(y), np.ascontiguousarray(y).reshape(4, -1))


@given(x=S.matrices())
def test_flatten_gradient_and_two_dimensional_input(x):
    np.testing.assert_array_equal(Flatten().forward(x), x)
    assert check_layer(Flatten(), x.reshape(len(x), 1, 1, -1), np.random.default_rng(0)) <= S.GRAD_TOL


def test_flatten_errors_and_dtype():
    with pytest.raises(ValueError, match=r"Flatten\(\) expects input of shape \(N, C, H, W\).*got shape \(5,\)"):
        Flatten().forward(np.zeros(5))
    layer = Flatten()
    y = layer.forward(np.zeros((2, 3, 4, 5), dtype=np.float32))
    assert y.dtype == np.float32 and layer.backward(y).dtype == np.float32


# ---------------------------------------------------------------- a small CNN end to end
class _FixedMask(Dropout):
    def _draw_mask(self, shape, dtype):
        if not hasattr(self, "_fixed"):
            self._fixed = super()._draw_mask(shape, dtype)
        return self._fixed


def small_cnn(h, w, seed, classes=3):
    """conv(2->3, 3x3, pad 1) - batchnorm - tanh - maxpool 2 - conv(3->2, 2x2) - tanh - avgpool(1, stride 1)
    - flatten - dropout - linear, in float64.  The first conv has no bias: batch norm would cancel it
    (its true gradient is 0, which a relative error cannot judge)."""
    rng = np.random.default_rng(seed)
    h2, w2 = h // 2 - 1, w // 2 - 1
    return Sequential(Conv2d(2, 3, 3, padding=1, bias=False, rng=rng, dtype=np.float64),
                      BatchNorm2d(3, dtype=np.float64), Tanh(), MaxPool2d(2),
                      Conv2d(3, 2, 2, rng=rng, dtype=np.float64), Tanh(), AvgPool2d(1, stride=1),
                      Flatten(), _FixedMask(0.25, rng=seed), Linear(2 * h2 * w2, classes, rng=rng, dtype=np.float64))


def min_window_gap(model, x):
    """The smallest gap between the largest and second-largest entry of any max-pool window
    (inf if none): a finite-difference step must not be able to swap an arg-max."""
    gap = np.inf
    for layer in model:
        if isinstance(layer, MaxPool2d):
            windows = sliding_window_view(x, layer.kernel_size, axis=(2, 3))[:, :, ::2, ::2]
            top = np.sort(windows.reshape(*windows.shape[:4], -1), axis=-1)
            gap = min(gap, float((top[..., -1] - top[..., -2]).min()))
        x = layer.forward(x)
    return gap


@settings(max_examples=15)
@given(n=st.integers(2, 3), h=st.integers(4, 6), w=st.integers(4, 6), seed=S.seeds)
def test_small_cnn_gradients_through_the_loss(n, h, w, seed):
    model = small_cnn(h, w, seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 2, h, w))
    y = rng.integers(0, 3, n)
    assume(min_window_gap(model, x) > 1e-3)
    err = check_model_loss(model, SoftmaxCrossEntropy(), x, y, h=S.NETWORK_H)
    assert err <= S.GRAD_TOL, f"small CNN on {x.shape}: relative gradient error {err:.3e}"


def test_modes_reach_every_layer_of_a_cnn_and_eval_is_deterministic():
    model = small_cnn(6, 6, 0)
    x = np.random.default_rng(0).standard_normal((4, 2, 6, 6))
    model.forward(x)                                  # one training step moves the running statistics
    assert model.eval() is model and not any(layer.training for layer in model)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    np.testing.assert_array_equal(model.forward(x), model.forward(x))
    np.testing.assert_allclose(model.forward(x[:1]), model.forward(x)[:1], rtol=1e-12)   # no batch dependence
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert all(layer.training for layer in model.train())


def benchmark_net(padding=2, rng=0, dtype=np.float32):
    """conv(1->16, 5x5, pad 2) - relu - maxpool 2 - conv(16->32, 5x5) - relu - maxpool 2 - flatten -
    linear(32 * 5 * 5 -> 10), for 1x28x28 images (32 * 4 * 4 = 512 inputs to the linear with no padding)."""
    rng = np.random.default_rng(rng)
    side = ((28 + 2 * padding - 4) // 2 - 4) // 2
    return Sequential(Conv2d(1, 16, 5, padding=padding, rng=rng, dtype=dtype), ReLU(), MaxPool2d(2),
                      Conv2d(16, 32, 5, rng=rng, dtype=dtype), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(32 * side * side, 10, rng=rng, dtype=dtype))


def test_the_benchmark_net_keeps_float32_and_learns():
    model = benchmark_net()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 16)
    loss = SoftmaxCrossEntropy()
    first = None
    for _ in range(20):
        logits = model.forward(x)
        assert logits.dtype == np.float32 and logits.shape == (16, 10)
        value = loss.forward(logits, y)
        first = value if first is None else first
        assert model.backward(loss.backward(), input_grad=False) is None
        for p in model.parameters():
            assert p.grad.dtype == np.float32 and p.grad.shape == p.shape
            p.data -= 0.05 * p.grad
    assert value < 0.5 * first, (first, value)


def test_the_benchmark_net_matches_torch():
    torch = pytest.importorskip("torch")
    model = benchmark_net(dtype=np.float64)
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(16, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(800, 10)).double()
    with torch.no_grad():
        for ours, theirs in [(model[0], ref[0]), (model[3], ref[3])]:
            theirs.weight.copy_(torch.tensor(ours.W.data))
            theirs.bias.copy_(torch.tensor(ours.b.data))
        ref[7].weight.copy_(torch.tensor(model[7].W.data.T))
        ref[7].bias.copy_(torch.tensor(model[7].b.data))
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 1, 28, 28)), rng.integers(0, 10, 8)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    ref_loss = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
    ref_loss.backward()
    assert value == pytest.approx(ref_loss.item(), rel=1e-12)
    np.testing.assert_allclose(model[3].W.grad, ref[3].weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model[0].W.grad, ref[0].weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model[7].W.grad, ref[7].weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
