"""Fast paths against the plain expressions they stand for.

Each speed trick of the core sits in a small helper whose docstring gives the
plain NumPy expression it equals.  Here every helper meets that expression, in
float32 and float64: bit for bit where the arithmetic is the same, and within a
stated tolerance where the plain form is a different formula.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minidl.layers import Layer, Linear, Sigmoid
from minidl.layers.activations import _sigmoid, _sigmoid_backward, _tanh_backward
from minidl.losses import (SoftmaxCrossEntropy, _cross_entropy_grad, _label_positions, _largest_label, _row_starts,
                           _take_at_labels)
from minidl.optim import SGD
from minidl.parameter import Parameter

EXAMPLES = settings(max_examples=60)
FLOAT_DTYPES = [np.float32, np.float64]
LABEL_DTYPES = ["<i8", ">i8", "<i4", ">i4", "i2", "i1", "u1", "<u2", ">u4", "<u8", ">u8"]


def assert_same_bits(got, expected, what=""):
    """Same dtype, same shape, and the very same bytes (so even -0.0 vs 0.0 would differ)."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape, (what, got.dtype, expected.dtype)
    assert got.tobytes() == expected.tobytes(), f"{what}: not bit-identical\n got {got!r}\nwant {expected!r}"


def floats(dtype, max_abs):
    return st.floats(-max_abs, max_abs, allow_nan=False, width=np.finfo(dtype).bits)


def float_arrays(dtype, max_abs=10.0, shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=6)):
    return hnp.arrays(dtype, shape, elements=floats(dtype, max_abs))


@st.composite
def logits_and_labels(draw, dtype, max_abs=30.0):
    """(N, C) logits of ``dtype`` and (N,) int64 labels in [0, C)."""
    n, c = draw(st.integers(1, 12)), draw(st.integers(1, 8))
    z = draw(hnp.arrays(dtype, (n, c), elements=floats(dtype, max_abs)))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return z, y


# ---------------------------------------------------------------- the forward cache
@pytest.mark.parametrize("make", [lambda: Linear(3, 2), Sigmoid, Layer])
def test_cache_for_backward_keeps_the_array_and_registers_nothing(make):
    layer = make()
    with pytest.raises(RuntimeError, match="before forward"):
        layer._cached()
    names = [name for name, _ in layer.named_parameters()]
    a, b = np.ones((2, 3)), np.zeros((2, 3))
    layer._cache_for_backward(a)
    assert layer._cached() is a                                 # as after ``layer._cache = a``
    layer._cache_for_backward(b)
    assert layer._cached() is b
    assert [name for name, _ in layer.named_parameters()] == names and not layer._registry().keys() - names


# ---------------------------------------------------------------- activations
@EXAMPLES
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_sigmoid_is_the_tanh_form_bit_for_bit(dtype, data):
    x = data.draw(float_arrays(dtype, max_abs=1e4), label="x")
    x0 = x.copy()
    assert_same_bits(_sigmoid(x), 0.5 * np.tanh(0.5 * x) + 0.5, "sigmoid")
    assert_same_bits(x, x0, "input untouched")


@EXAMPLES
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_sigmoid_is_close_to_one_over_one_plus_exp(dtype, data):
    # (1 + tanh(x/2)) / 2 = 1 / (1 + e^-x) exactly, but the two round differently.  Both
    # are within 0.75 eps of the true value *absolutely* (measured on 3 million points:
    # tanh form 0.50 eps, exp form 0.75 eps, largest difference 1.0 eps), so the bound is
    # 4 eps, absolute, with room for a libm whose tanh or exp is off by 1-2 ulp.  Not
    # relative: near 0 the tanh form only resolves steps of eps/4 (sigmoid(-40) = 4e-18 -> 0).
    x = data.draw(float_arrays(dtype, max_abs=200.0), label="x")
    with np.errstate(over="ignore"):          # exp(-x) overflows to inf for very negative x: 1/inf = 0, right
        plain = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(_sigmoid(x), plain, rtol=0, atol=4 * np.finfo(dtype).eps)


@EXAMPLES
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_sigmoid_and_tanh_backward_bit_for_bit(dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), label="shape")
    dout = data.draw(float_arrays(dtype, shape=st.just(shape)), label="dout")
    s = data.draw(hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=np.finfo(dtype).bits)), label="sigmoid y")
    t = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-1, 1, width=np.finfo(dtype).bits)), label="tanh y")
    assert_same_bits(_sigmoid_backward(s, dout), (1 - s) * s * dout, "sigmoid backward")
    assert_same_bits(_tanh_backward(t, dout), (1 - t * t) * dout, "tanh backward")


# ---------------------------------------------------------------- labels
@st.composite
def integer_labels(draw):
    """(y, C): labels of any integer dtype and byte order, some out of [0, C), sometimes a strided view."""
    dtype = np.dtype(draw(st.sampled_from(LABEL_DTYPES)))
    info = np.iinfo(dtype)
    y = draw(hnp.arrays(dtype, st.integers(1, 12), elements=st.one_of(
        st.integers(max(info.min, -3), min(info.max, 20)), st.integers(info.min, info.max))))
    if y.size > 1 and draw(st.booleans()):
        y = y[::2]
    return y, draw(st.integers(1, 20))


@EXAMPLES
@given(y_c=integer_labels())
def test_largest_label_finds_exactly_the_labels_outside_the_classes(y_c):
    y, c = y_c
    outside = bool(((y < 0) | (y >= c)).any())
    assert bool(_largest_label(y) >= c) == outside, (y, c)
    if y.min() >= 0:
        assert _largest_label(y) == y.max()


@EXAMPLES
@given(data=st.data())
def test_label_positions_are_ravel_multi_index(data):
    n, c = data.draw(st.integers(1, 12), label="n"), data.draw(st.integers(1, 8), label="c")
    y = data.draw(hnp.arrays(st.sampled_from(LABEL_DTYPES), (n,), elements=st.integers(0, c - 1)), label="y")
    expected = np.ravel_multi_index((np.arange(n), y), (n, c))
    np.testing.assert_array_equal(_label_positions(y, c), expected)
    assert _label_positions(y, c).dtype == np.intp


def test_row_starts_are_cached_and_read_only():
    starts = _row_starts(10, 7)
    np.testing.assert_array_equal(starts, np.arange(10) * 7)
    assert _row_starts(10, 7) is starts                        # one batch size: no new array per step
    np.testing.assert_array_equal(_row_starts(10, 3), np.arange(10) * 3)
    np.testing.assert_array_equal(_row_starts(4, 7), np.arange(4) * 7)
    with pytest.raises(ValueError, match="read-only"):          # shared between losses: nobody may change it
        starts[1] = 0


@EXAMPLES
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_take_at_labels_is_the_fancy_index(dtype, data):
    z, y = data.draw(logits_and_labels(dtype), label="z, y")
    assert_same_bits(_take_at_labels(z, _label_positions(y, z.shape[1])), z[np.arange(len(y)), y], "gather")


# ---------------------------------------------------------------- softmax cross-entropy
def _exp_and_sumexp(z):
    exp = np.exp(z - z.max(axis=1, keepdims=True))
    return exp, exp.sum(axis=1)


@EXAMPLES
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_cross_entropy_grad_bit_for_bit_and_close_to_the_textbook(dtype, data):
    z, y = data.draw(logits_and_labels(dtype), label="z, y")
    n, c = z.shape
    exp, sumexp = _exp_and_sumexp(z)
    got = _cross_entropy_grad(exp.copy(), sumexp.copy(), _label_positions(y, c))
    # the same arithmetic, written plainly
    same = exp / (n * sumexp)[:, None]
    same[np.arange(n), y] -= 1 / n
    assert_same_bits(got, same, "cross-entropy gradient")
    # the textbook form (p - onehot(y)) / N rounds differently: p = exp / sumexp, p - 1 and
    # the division by N each round once, as do N * sumexp, the quotient and the subtraction
    # of 1/N here; every value is at most 1/N in size, so the two differ by a few eps / N
    # (1.25 eps / N at most over 20,000 random batches): the bound is 4 eps / N, absolute
    onehot = np.eye(c, dtype=dtype)[y]
    textbook = (exp / sumexp[:, None] - onehot) / n
    np.testing.assert_allclose(got, textbook, rtol=0, atol=4 * np.finfo(dtype).eps / n)


def _plain_softmax_cross_entropy(z, y):
    """SoftmaxCrossEntropy written with the plain expressions: a 2-D fancy index, new arrays."""
    n = len(y)
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sumexp = exp.sum(axis=1)
    loss = float((np.log(sumexp) - shifted[np.arange(n), y]).sum()) / n
    dz = exp / (n * sumexp)[:, None]
    dz[np.arange(n), y] -= 1 / n
    return loss, dz


@EXAMPLES
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data(), layout=st.sampled_from(["C", "F", "strided"]),
       label_dtype=st.sampled_from(LABEL_DTYPES))
def test_softmax_cross_entropy_is_its_plain_form_bit_for_bit(dtype, data, layout, label_dtype):
    # any memory layout of the logits and any integer label dtype: the flat index must
    # neither scatter into a copy (Fortran order) nor turn into floats (uint64 + intp)
    z, y = data.draw(logits_and_labels(dtype), label="z, y")
    plain_value, plain_grad = _plain_softmax_cross_entropy(z, y)
    if layout == "F":
        z = np.asfortranarray(z)
    elif layout == "strided":
        z = np.repeat(z, 2, axis=1)[:, ::2]
    loss = SoftmaxCrossEntropy()
    value = loss.forward(z, y.astype(label_dtype))
    grad = loss.backward()
    assert value == plain_value
    assert_same_bits(grad, plain_grad, f"dL/dz for {layout}-ordered logits, {label_dtype} labels")


# ---------------------------------------------------------------- SGD
@st.composite
def parameters_with_gradients(draw):
    """A few Parameters of mixed float dtypes and shapes; some have no gradient."""
    params = []
    for _ in range(draw(st.integers(1, 4))):
        dtype = draw(st.sampled_from(FLOAT_DTYPES))
        shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=5))
        p = Parameter(draw(hnp.arrays(dtype, shape, elements=floats(dtype, 10.0))))
        if draw(st.booleans()) or not params:
            grad_dtype = draw(st.sampled_from([dtype, np.float64]))
            p.grad = draw(hnp.arrays(grad_dtype, shape, elements=floats(grad_dtype, 10.0)))
        params.append(p)
    return params


def _copies(params):
    out = []
    for p in params:
        q = Parameter(p.data.copy(), decay=p.decay)
        q.grad = None if p.grad is None else p.grad.copy()
        out.append(q)
    return out


@EXAMPLES
@given(params=parameters_with_gradients(), lr=st.floats(1e-4, 10.0))
def test_plain_sgd_step_is_p_minus_lr_g_bit_for_bit(params, lr):
    plain = _copies(params)
    SGD(params, lr=lr).step()
    for p in plain:
        if p.grad is not None:
            p.data -= lr * p.grad
    for i, (p, q) in enumerate(zip(params, plain)):
        assert_same_bits(p.data, q.data, f"parameter {i} ({q.data.dtype}, grad {getattr(q.grad, 'dtype', None)})")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sgd_step_follows_the_plain_update_for_many_steps(dtype):
    rng = np.random.default_rng(0)
    p = Parameter(rng.standard_normal((3, 4)).astype(dtype))
    q = p.data.copy()
    opt = SGD([p], lr=0.3)
    for _ in range(50):
        g = rng.standard_normal((3, 4)).astype(dtype)
        p.grad = g
        opt.step()
        q -= 0.3 * g
        assert_same_bits(p.data, q, "SGD trajectory")
