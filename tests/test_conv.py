"""Conv2d: gradient checks, the naive loops it must equal, shapes, dtypes, errors, init, torch."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
from minidl.gradcheck import check_layer
from minidl.layers import Conv2d, ReLU
from minidl.layers.conv import col2im, im2col
from minidl.layers.spatial import to_chwn

EXAMPLES = settings(max_examples=40)


def _conv(s, seed=0, dtype=np.float64):
    return Conv2d(s["c"], s["o"], s["kernel_size"], s["stride"], s["padding"], bias=s["bias"], rng=seed,
                  dtype=dtype)


def conv_naive(x, W, b, stride, padding):
    """The definition, one output number at a time (cs231n's conv_forward_naive):
    y[n,o,h,w] = b[o] + sum_{c,i,j} W[o,c,i,j] xp[n, c, s_h h + i, s_w w + j]."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, o, (kh, kw) = x.shape[0], W.shape[0], W.shape[2:]
    h_out, w_out = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.zeros((n, o, h_out, w_out))
    for a in range(n):
        for f in range(o):
            for h in range(h_out):
                for w in range(w_out):
                    window = xp[a, :, sh * h:sh * h + kh, sw * w:sw * w + kw]
                    y[a, f, h, w] = np.sum(window * W[f]) + (b[f] if b is not None else 0.0)
    return y


def conv_backward_naive(x, W, dout, stride, padding):
    """dx, dW by scattering each output's gradient over its window, one output at a time."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dW = np.zeros_like(xp), np.zeros_like(W)
    kh, kw = W.shape[2:]
    for a, f, h, w in np.ndindex(*dout.shape):
        window = (a, slice(None), slice(sh * h, sh * h + kh), slice(sw * w, sw * w + kw))
        dxp[window] += dout[a, f, h, w] * W[f]
        dW[f] += dout[a, f, h, w] * xp[window]
    return dxp[:, :, ph:xp.shape[2] - ph, pw:xp.shape[3] - pw], dW


# ---------------------------------------------------------------- gradient checks
@EXAMPLES
@given(s=S.conv_settings(), seed=S.seeds)
def test_conv_gradients(s, seed):
    layer = _conv(s, seed)
    x = np.random.default_rng(seed).uniform(-3, 3, (s["n"], s["c"], s["h"], s["w"]))
    err = check_layer(layer, x, np.random.default_rng(seed))
    assert err <= S.GRAD_TOL, f"{layer!r} on input {x.shape}: relative gradient error {err:.3e}"


@EXAMPLES
@given(s=S.conv_settings(max_side=6), seed=S.seeds)
def test_conv_equals_the_naive_loops(s, seed):
    layer = _conv(s, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((s["n"], s["c"], s["h"], s["w"]))
    y = layer.forward(x)
    b = layer.b.data if layer.b is not None else None
    np.testing.assert_allclose(y, conv_naive(x, layer.W.data, b, layer.stride, layer.padding), rtol=1e-12,
                               atol=1e-12)
    dout = rng.standard_normal(y.shape)
    dx = layer.backward(dout)
    dx_naive, dW_naive = conv_backward_naive(x, layer.W.data, dout, layer.stride, layer.padding)
    np.testing.assert_allclose(dx, dx_naive, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.W.grad, dW_naive, rtol=1e-12, atol=1e-12)
    if layer.b is not None:
        np.testing.assert_allclose(layer.b.grad, dout.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)


@EXAMPLES
@given(s=S.conv_settings(), seed=S.seeds)
def test_col2im_is_the_adjoint_of_im2col(s, seed):
    # <im2col(x), c> = <x, col2im(c)> for all x, c: col2im adds each copy's gradient back
    rng = np.random.default_rng(seed)
    kernel, stride, padding = S.as_pair(s["kernel_size"]), S.as_pair(s["stride"]), S.as_pair(s["padding"])
    x_t = to_chwn(rng.standard_normal((s["n"], s["c"], s["h"], s["w"])), padding)
    cols = im2col(x_t, kernel, stride)
    c = rng.standard_normal(cols.shape)
    assert np.sum(cols * c) == pytest.approx(np.sum(x_t * col2im(c, x_t.shape, kernel, stride)), rel=1e-12)


# ---------------------------------------------------------------- shapes and values
@settings(max_examples=60)
@given(s=S.conv_settings(max_side=12))
def test_output_shape_is_pytorchs_formula(s):
    layer = _conv(s)
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    expected = (s["n"], s["o"], (s["h"] + 2 * ph - kh) // sh + 1, (s["w"] + 2 * pw - kw) // sw + 1)
    assert layer.forward(np.zeros((s["n"], s["c"], s["h"], s["w"]))).shape == expected
    assert layer.output_shape((s["n"], s["c"], s["h"], s["w"])) == expected


def test_conv_by_hand():
    layer = Conv2d(1, 1, 2, dtype=np.float64)
    layer.W.data = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    layer.b.data = np.array([10.0])
    x = np.arange(9.0).reshape(1, 1, 3, 3)          # [[0 1 2] [3 4 5] [6 7 8]]
    # top-left window [[0 1] [3 4]]: 0 + 2 + 9 + 16 = 27, + b = 37; each step right adds 1+2+3+4 = 10,
    # each step down adds 3 * 10 = 30
    np.testing.assert_array_equal(layer.forward(x), [[[[37.0, 47.0], [67.0, 77.0]]]])
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    # every input gets the sum of the weights that touch it: the centre all four, corners one
    np.testing.assert_array_equal(dx[0, 0], [[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]])
    np.testing.assert_array_equal(layer.W.grad[0, 0], [[8.0, 12.0], [20.0, 24.0]])   # window sums
    np.testing.assert_array_equal(layer.b.grad, [4.0])


def test_padding_and_stride_by_hand():
    layer = Conv2d(1, 1, 3, stride=2, padding=1, bias=False, dtype=np.float64)
    layer.W.data = np.ones((1, 1, 3, 3))
    x = np.ones((1, 1, 4, 4))
    # windows centred on (0,0), (0,2), (2,0), (2,2): the first sees 4 ones, the edges 6, the middle 9
    np.testing.assert_array_equal(layer.forward(x), [[[[4.0, 6.0], [6.0, 9.0]]]])


def test_input_grad_false_skips_dx_but_sets_the_grads():
    layer = Conv2d(2, 3, 3, rng=0)
    layer.forward(np.ones((2, 2, 5, 5), dtype=np.float32))
    assert layer.backward(np.ones((2, 3, 3, 3), dtype=np.float32), input_grad=False) is None
    assert layer.W.grad.shape == (3, 2, 3, 3) and layer.b.grad.shape == (3,)


@pytest.mark.parametrize("bias", [True, False])
def test_float32_in_float32_out(bias):
    layer = Conv2d(3, 4, 3, padding=1, bias=bias, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    dtypes = {y.dtype, dx.dtype} | {p.dtype for p in layer.parameters()} | {p.grad.dtype for p in layer.parameters()}
    assert dtypes == {np.dtype(np.float32)}


def test_output_is_a_view_the_next_layer_reads_without_a_copy():
    first, second = Conv2d(1, 4, 3, rng=0), Conv2d(4, 2, 3, rng=1)
    y = ReLU().forward(first.forward(np.ones((5, 1, 9, 9), dtype=np.float32)))
    assert y.shape == (5, 4, 7, 7) and not y.flags.c_contiguous
    assert np.shares_memory(to_chwn(y), y)                  # ReLU kept the (C, H, W, N) memory order
    np.testing.assert_array_equal(second.forward(y), second.forward(np.ascontiguousarray(y)))


def test_conv_does_not_write_into_its_arguments():
    layer = Conv2d(2, 2, 3, padding=1, rng=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((2, 2, 4, 4))
    x0, dout0 = x.copy(), dout.copy()
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


# ---------------------------------------------------------------- init
def test_default_init_is_pytorchs_uniform_for_weights_and_bias():
    layer = Conv2d(16, 32, 5, rng=0)
    bound = 1 / math.sqrt(16 * 5 * 5)
    for p in (layer.W, layer.b):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.95 * bound
    assert abs(layer.W.data.std() - bound / math.sqrt(3)) < 0.05 * bound      # U(-a, a) has std a / sqrt(3)
    assert layer.W.decay is True and layer.b.decay is False
    assert [name for name, _ in layer.named_parameters()] == ["W", "b"]
    np.testing.assert_array_equal(Conv2d(16, 32, 5, rng=0).W.data, layer.W.data)
    assert Conv2d(16, 32, 5, bias=False).b is None


def test_init_names_use_convolutional_fans():
    layer = Conv2d(4, 6, 3, init={"name": "kaiming_normal", "nonlinearity": "relu"}, rng=0, dtype=np.float64)
    assert abs(layer.W.data.std() - math.sqrt(2 / (4 * 9))) < 0.1 * math.sqrt(2 / (4 * 9))


def test_repr_shows_what_differs_from_the_defaults():
    assert repr(Conv2d(1, 16, 5, padding=2)) == "Conv2d(1 -> 16, kernel_size=5, padding=2)"
    text = "Conv2d(3 -> 8, kernel_size=(3, 5), stride=2, bias=False)"
    assert repr(Conv2d(3, 8, (3, 5), stride=2, bias=False)) == text


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("shape, fragment", [
    ((64, 784), r"expects input of shape \(N, 1, H, W\); got shape \(64, 784\)"),
    ((2, 3, 28, 28), r"expects input of shape \(N, 1, H, W\); got shape \(2, 3, 28, 28\)"),
    ((2, 1, 28), r"got shape \(2, 1, 28\)"),
    ((2, 1, 3, 28), r"got input of shape \(2, 1, 3, 28\).*H >= 5 and W >= 5"),
])
def test_wrong_input_names_the_layer_and_both_shapes(shape, fragment):
    with pytest.raises(ValueError, match=r"Conv2d\(1 -> 16, kernel_size=5\) .*" + fragment):
        Conv2d(1, 16, 5).forward(np.zeros(shape, dtype=np.float32))


def test_padding_counts_towards_the_smallest_image():
    layer = Conv2d(1, 1, 5, padding=2)
    assert layer.forward(np.zeros((1, 1, 1, 1), dtype=np.float32)).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match="H >= 3"):
        Conv2d(1, 1, 5, padding=1).forward(np.zeros((1, 1, 2, 9), dtype=np.float32))


@pytest.mark.parametrize("kwargs", [dict(kernel_size=0), dict(kernel_size=3, stride=0), dict(kernel_size=3, padding=-1),
                                    dict(kernel_size=(3, 3, 3)), dict(kernel_size=2.5), dict(kernel_size="3")])
def test_bad_settings_raise(kwargs):
    with pytest.raises(ValueError):
        Conv2d(1, 2, **kwargs)


def test_integer_input_raises():
    with pytest.raises(ValueError, match="dtype"):
        Conv2d(1, 2, 3).forward(np.ones((1, 1, 4, 4), dtype=np.int64))


# ---------------------------------------------------------------- against PyTorch
@settings(max_examples=25)
@given(s=S.conv_settings(max_side=9), seed=S.seeds)
def test_matches_torch(s, seed):
    torch = pytest.importorskip("torch")
    layer = _conv(s, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((s["n"], s["c"], s["h"], s["w"]))
    ref = torch.nn.Conv2d(s["c"], s["o"], s["kernel_size"], s["stride"], s["padding"], bias=s["bias"]).double()
    ref.weight.data = torch.tensor(layer.W.data)
    if s["bias"]:
        ref.bias.data = torch.tensor(layer.b.data)
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    y = layer.forward(x)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.W.grad, ref.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
