"""Dropout: a fixed mask's gradient, inverted scaling, eval identity, seeded masks, dtypes, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
from minidl.gradcheck import check_layer
from minidl.layers import Dropout, Linear, Sequential

EXAMPLES = settings(max_examples=40)


class _FixedMask(Dropout):
    """Dropout that draws its mask once, so the repeated forward passes of a gradient check
    all see the same function."""

    def _draw_mask(self, shape, dtype):
        if not hasattr(self, "_fixed"):
            self._fixed = super()._draw_mask(shape, dtype)
        return self._fixed


@EXAMPLES
@given(x=S.matrices(), p=st.floats(0.0, 0.9), seed=S.seeds)
def test_dropout_gradients_with_a_fixed_mask(x, p, seed):
    layer = _FixedMask(p, rng=seed)
    err = check_layer(layer, x, np.random.default_rng(seed))
    assert err <= S.GRAD_TOL, f"{layer!r}: relative gradient error {err:.3e}"


@EXAMPLES
@given(x=S.matrices(), p=st.floats(0.0, 1.0), seed=S.seeds)
def test_backward_reuses_the_forward_mask(x, p, seed):
    layer = Dropout(p, rng=seed)
    y = layer.forward(x)
    dout = np.random.default_rng(seed).standard_normal(x.shape)
    dx = layer.backward(dout)
    kept = y != 0
    scale = 1 / (1 - p) if p < 1 else 0.0
    # y = x * mask and dx = dout * mask, with mask 0 or 1 / (1 - p)
    np.testing.assert_allclose(y[kept], x[kept] * scale, rtol=1e-12)
    np.testing.assert_allclose(dx[kept], dout[kept] * scale, rtol=1e-12)
    assert np.all(dx[(y == 0) & (x != 0)] == 0)


def test_inverted_scaling_keeps_the_mean():
    x = np.ones((1000, 100))
    y = Dropout(0.3, rng=0).forward(x)
    kept = np.mean(y != 0)
    assert abs(kept - 0.7) < 0.01, kept
    assert set(np.unique(y)) == {0.0, 1 / 0.7}
    assert abs(y.mean() - 1.0) < 0.02


@given(x=S.matrices(), p=st.floats(0.0, 1.0))
def test_eval_mode_is_the_identity(x, p):
    layer = Dropout(p, rng=0).eval()
    y1, y2 = layer.forward(x), layer.forward(x)
    np.testing.assert_array_equal(y1, x)
    np.testing.assert_array_equal(y2, x)
    np.testing.assert_array_equal(layer.backward(2 * x), 2 * x)


def test_extreme_probabilities():
    x = np.random.default_rng(0).standard_normal((4, 5))
    np.testing.assert_array_equal(Dropout(0.0, rng=0).forward(x), x)
    layer = Dropout(1.0, rng=0)
    np.testing.assert_array_equal(layer.forward(x), 0.0)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), 0.0)


def test_masks_come_from_the_layers_own_seeded_generator():
    x = np.ones((8, 16))
    a, b = Dropout(0.5, rng=7), Dropout(0.5, rng=np.random.default_rng(7))
    first = a.forward(x)
    np.testing.assert_array_equal(first, b.forward(x))               # an int seed or a Generator
    assert not np.array_equal(first, a.forward(x))                    # a new mask every step
    np.testing.assert_array_equal(Dropout(0.5, rng=7).forward(x.astype(np.float32)), first.astype(np.float32))
    state = np.random.get_state()
    Dropout(0.5).forward(x)
    assert np.random.get_state()[1].tolist() == state[1].tolist()    # the global RNG is never touched


def test_modes_through_a_sequential():
    model = Sequential(Linear(4, 4, rng=0), Dropout(0.5, rng=0))
    x = np.ones((3, 4), dtype=np.float32)
    model.eval()
    np.testing.assert_array_equal(model.forward(x), model.forward(x))
    np.testing.assert_array_equal(model.forward(x), model[0].forward(x))
    model.train()
    assert np.any(model.forward(x) == 0)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_float32_in_float32_out(mode):
    layer = getattr(Dropout(0.5, rng=0), mode)()
    y = layer.forward(np.ones((4, 3, 2, 2), dtype=np.float32))
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_bad_probability_raises(p):
    with pytest.raises(ValueError, match=r"Dropout probability p must be in \[0, 1\]"):
        Dropout(p)


def test_integer_input_raises_and_repr():
    with pytest.raises(ValueError, match=r"Dropout\(p=0.5\).*dtype"):
        Dropout().forward(np.ones((2, 2), dtype=np.int64))
    assert repr(Dropout(0.25)) == "Dropout(p=0.25)"
