"""MaxPool2d and AvgPool2d: gradient checks on tie-free inputs, naive loops, the tiling fast path,
shapes, ties, dtypes, errors, torch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
from minidl.gradcheck import check_layer
from minidl.layers import AvgPool2d, MaxPool2d
from minidl.layers.pooling import kernel_offsets, scatter_add, scatter_tiles

EXAMPLES = settings(max_examples=40)
POOLS = [MaxPool2d, AvgPool2d]


@st.composite
def pool_settings(draw, max_side=7):
    """``(kernel_size, stride or None, input shape)`` with at least one whole window."""
    kernel = draw(S.pairs(1, 3))
    stride = draw(st.one_of(st.none(), S.pairs(1, 3)))
    kh, kw = S.as_pair(kernel)
    shape = (draw(S.batch_sizes), draw(st.integers(1, 3)), draw(st.integers(kh, max_side)),
             draw(st.integers(kw, max_side)))
    return kernel, stride, shape


def pool_naive(x, kernel, stride, reduce):
    """The definition, one window at a time: y[n,c,h,w] = reduce(x[n, c, window (h, w)])."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = x.shape
    y = np.zeros((n, c, (h - kh) // sh + 1, (w - kw) // sw + 1))
    for a, f, p, q in np.ndindex(*y.shape):
        y[a, f, p, q] = reduce(x[a, f, sh * p:sh * p + kh, sw * q:sw * q + kw])
    return y


# ---------------------------------------------------------------- gradient checks
@EXAMPLES
@given(settings_=pool_settings(), seed=S.seeds, pool=st.sampled_from(POOLS))
def test_pool_gradients(settings_, seed, pool):
    kernel, stride, shape = settings_
    layer = pool(kernel, stride)
    rng = np.random.default_rng(seed)
    x = S.distinct_float64_arrays(shape, rng)             # no ties: every window's arg-max is unique
    err = check_layer(layer, x, rng)
    assert err <= S.GRAD_TOL, f"{layer!r} on input {shape}: relative gradient error {err:.3e}"


@EXAMPLES
@given(settings_=pool_settings(), seed=S.seeds, pool=st.sampled_from(POOLS))
def test_pools_equal_the_naive_loops(settings_, seed, pool):
    kernel, stride, shape = settings_
    layer = pool(kernel, stride)
    x = np.random.default_rng(seed).standard_normal(shape)
    expected = pool_naive(x, layer.kernel_size, layer.stride, np.max if pool is MaxPool2d else np.mean)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-14, atol=1e-15)


@EXAMPLES
@given(settings_=pool_settings(), seed=S.seeds)
def test_scatter_tiles_equals_scatter_add(settings_, seed):
    kernel, _, (n, c, h, w) = settings_
    kernel = S.as_pair(kernel)
    out_hw = (h // kernel[0], w // kernel[1])
    rng = np.random.default_rng(seed)
    pieces = [(offset, rng.standard_normal((c, *out_hw, n)))
              for offset, _ in kernel_offsets(np.zeros((c, h, w, n)), kernel, kernel, out_hw)]
    plain = scatter_add(pieces, (c, h, w, n), kernel, kernel, out_hw, np.float64)
    np.testing.assert_array_equal(scatter_tiles(pieces, (c, h, w, n), kernel, out_hw, np.float64), plain)


# ---------------------------------------------------------------- values
def test_max_pool_by_hand_and_first_max_takes_the_gradient():
    x = np.array([[[[1.0, 3.0, 2.0, 2.0],
                    [3.0, 0.0, 2.0, 2.0],
                    [0.0, 1.0, 5.0, 4.0],
                    [-1.0, -2.0, 6.0, 7.0]]]])
    layer = MaxPool2d(2)
    np.testing.assert_array_equal(layer.forward(x), [[[[3.0, 2.0], [1.0, 7.0]]]])
    dx = layer.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    # top-left window holds 3 twice: the first in row-major order, (0, 1), takes all of it; the
    # window of four 2s gives it to its top-left entry, as PyTorch does
    np.testing.assert_array_equal(dx, [[[[0.0, 10.0, 20.0, 0.0],
                                         [0.0, 0.0, 0.0, 0.0],
                                         [0.0, 30.0, 0.0, 0.0],
                                         [0.0, 0.0, 0.0, 40.0]]]])


def test_overlapping_max_pool_adds_the_gradients_of_every_window_an_entry_wins():
    x = np.array([[[[0.0, 9.0, 0.0]]]])
    layer = MaxPool2d((1, 2), stride=1)
    np.testing.assert_array_equal(layer.forward(x), [[[[9.0, 9.0]]]])
    np.testing.assert_array_equal(layer.backward(np.array([[[[1.0, 2.0]]]])), [[[[0.0, 3.0, 0.0]]]])


def test_avg_pool_by_hand_and_leftover_rows_get_no_gradient():
    x = np.arange(15.0).reshape(1, 1, 3, 5)
    layer = AvgPool2d(2)
    # windows [[0 1] [5 6]] and [[2 3] [7 8]]; row 2 and column 4 are in no window
    np.testing.assert_array_equal(layer.forward(x), [[[[3.0, 5.0]]]])
    dx = layer.backward(np.array([[[[4.0, 8.0]]]]))
    np.testing.assert_array_equal(dx, [[[[1.0, 1.0, 2.0, 2.0, 0.0], [1.0, 1.0, 2.0, 2.0, 0.0],
                                         [0.0, 0.0, 0.0, 0.0, 0.0]]]])


@settings(max_examples=60)
@given(settings_=pool_settings(max_side=12), pool=st.sampled_from(POOLS))
def test_output_shape_is_pytorchs_formula(settings_, pool):
    kernel, stride, shape = settings_
    layer = pool(kernel, stride)
    (kh, kw), (sh, sw) = S.as_pair(kernel), S.as_pair(stride if stride is not None else kernel)
    expected = (shape[0], shape[1], (shape[2] - kh) // sh + 1, (shape[3] - kw) // sw + 1)
    assert layer.forward(np.zeros(shape)).shape == expected == layer.output_shape(shape)


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("stride", [None, 1])
def test_float32_in_float32_out(pool, stride):
    layer = pool(2, stride)
    y = layer.forward(np.random.default_rng(0).standard_normal((2, 3, 5, 4)).astype(np.float32))
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("pool", POOLS)
def test_pools_do_not_write_into_their_arguments(pool):
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((2, 2, 2, 2))
    x0, dout0 = x.copy(), dout.copy()
    layer = pool(2)
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


def test_repr():
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2)"
    assert repr(AvgPool2d((3, 2), stride=1)) == "AvgPool2d(kernel_size=(3, 2), stride=1)"


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("pool", POOLS)
def test_wrong_input_names_the_layer_and_both_shapes(pool):
    name = pool.__name__
    with pytest.raises(ValueError, match=rf"{name}\(kernel_size=2\) expects input of shape \(N, C, H, W\); "
                                         r"got shape \(64, 784\)"):
        pool(2).forward(np.zeros((64, 784)))
    with pytest.raises(ValueError, match=rf"{name}\(kernel_size=3\) got input of shape \(4, 2, 2, 9\).*"
                                         r"H >= 3 and W >= 3"):
        pool(3).forward(np.zeros((4, 2, 2, 9)))


@pytest.mark.parametrize("kwargs", [dict(kernel_size=0), dict(kernel_size=2, stride=0), dict(kernel_size=(1, 2, 3))])
def test_bad_settings_raise(kwargs):
    for pool in POOLS:
        with pytest.raises(ValueError):
            pool(**kwargs)


# ---------------------------------------------------------------- against PyTorch
@settings(max_examples=25)
@given(settings_=pool_settings(max_side=9), seed=S.seeds, pool=st.sampled_from(POOLS), ties=st.booleans())
def test_matches_torch(settings_, seed, pool, ties):
    torch = pytest.importorskip("torch")
    kernel, stride, shape = settings_
    rng = np.random.default_rng(seed)
    # with ties (values rounded to a few levels) PyTorch's first-max rule must still agree
    x = np.round(rng.standard_normal(shape)) if ties else rng.standard_normal(shape)
    layer = pool(kernel, stride)
    ref = (torch.nn.MaxPool2d if pool is MaxPool2d else torch.nn.AvgPool2d)(kernel, stride)
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    y = layer.forward(x)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-14, atol=1e-15)
    dout = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-14, atol=1e-14)
