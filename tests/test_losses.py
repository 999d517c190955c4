"""Losses: gradient checks, float64 references, stability at +-1e4, label validation, dtypes."""
import contextlib
import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import strategies as S
from minidl.gradcheck import check_model_loss
from minidl.layers import Linear, LogSoftmax, Sequential
from minidl.losses import MSELoss, NLLLoss, SoftmaxCrossEntropy, check_labels, log_softmax, softmax

EXAMPLES = settings(max_examples=40)
IDENTITY = Sequential()          # no layers: check_model_loss then checks dL/d(outputs) alone


@contextlib.contextmanager
def _warnings_as_errors():
    """Any warning inside (overflow, divide by zero, invalid value) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _reference_cross_entropy(logits, labels):
    """-(1/N) sum_n log softmax(z_n)[y_n], one row at a time with math.exp/math.log (float64)."""
    total = 0.0
    for row, label in zip(logits.tolist(), labels.tolist()):
        top = max(row)
        total += top + math.log(sum(math.exp(v - top) for v in row)) - row[label]
    return total / len(labels)


# ---------------------------------------------------------------- gradient checks
@EXAMPLES
@given(logits_labels=S.logits_and_labels())
def test_softmax_cross_entropy_gradient(logits_labels):
    logits, labels = logits_labels
    err = check_model_loss(IDENTITY, SoftmaxCrossEntropy(), logits, labels)
    assert err <= S.GRAD_TOL, f"logits {logits.shape}, labels {labels}: relative error {err:.3e}"


@EXAMPLES
@given(x=S.matrices(elements=S.floats_away_from_zero()), num_classes=S.class_counts,
       init=S.init_specs(allow_zeros=False), data=st.data(), seed=S.seeds)
def test_softmax_cross_entropy_gradient_through_linear(x, num_classes, init, data, seed):
    layer = Linear(x.shape[1], num_classes, init=init, rng=seed, dtype=np.float64)
    layer.b.data = np.random.default_rng(seed).uniform(-0.5, 0.5, num_classes)
    labels = data.draw(S.labels(x.shape[0], num_classes), label="labels")
    loss = SoftmaxCrossEntropy()
    assume(S.finite_differences_resolve(lambda _: loss.forward(layer.forward(x), labels),
                                        [x, layer.W.data, layer.b.data]))
    err = check_model_loss(layer, loss, x, labels, h=S.NETWORK_H)
    assert err <= S.GRAD_TOL, f"x {x.shape} -> {layer!r} init={init}, labels {labels}: relative error {err:.3e}"


@EXAMPLES
@given(logits_labels=S.logits_and_labels())
def test_nll_loss_gradient_alone_and_after_log_softmax(logits_labels):
    logits, labels = logits_labels
    for model in (IDENTITY, Sequential(LogSoftmax())):
        err = check_model_loss(model, NLLLoss(), logits, labels)
        assert err <= S.GRAD_TOL, f"{model!r}, logits {logits.shape}: relative error {err:.3e}"


@EXAMPLES
@given(data=st.data(), shape=st.tuples(S.batch_sizes, S.feature_sizes))
def test_mse_gradient(data, shape):
    pred = data.draw(S.float64_arrays(shape), label="pred")
    target = data.draw(S.float64_arrays(shape), label="target")
    # at pred == target the true gradient is exactly 0 and only rounding noise is left to compare
    assume(np.abs(pred - target).max() > 1e-3)
    err = check_model_loss(IDENTITY, MSELoss(), pred, target)
    assert err <= S.GRAD_TOL, f"shape {shape}: relative error {err:.3e}"


# ---------------------------------------------------------------- SoftmaxCrossEntropy values
@EXAMPLES
@given(logits_labels=S.logits_and_labels(max_abs=30.0))
def test_softmax_cross_entropy_matches_float64_reference(logits_labels):
    logits, labels = logits_labels
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, labels)
    assert value == pytest.approx(_reference_cross_entropy(logits, labels), rel=1e-12, abs=1e-12)
    # gradient: (softmax - onehot) / N, written out row by row
    n, c = logits.shape
    expected = np.empty((n, c))
    for i in range(n):
        e = np.exp(logits[i] - logits[i].max())
        expected[i] = e / e.sum()
        expected[i, labels[i]] -= 1.0
    np.testing.assert_allclose(loss.backward(), expected / n, rtol=1e-12, atol=1e-15)


def test_softmax_cross_entropy_by_hand_is_a_batch_mean():
    # row 0: softmax([0, log 3]) = [1/4, 3/4], label 1 -> -log(3/4)
    # row 1: softmax([2, 2])     = [1/2, 1/2], label 0 -> log 2
    logits = np.array([[0.0, np.log(3.0)], [2.0, 2.0]])
    loss = SoftmaxCrossEntropy()
    assert loss(logits, np.array([1, 0])) == pytest.approx((-np.log(0.75) + np.log(2.0)) / 2, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[0.25 / 2, -0.25 / 2], [-0.5 / 2, 0.5 / 2]], rtol=1e-14)
    # the same row twice has the same mean loss as once: mean, not sum
    single = SoftmaxCrossEntropy()(logits[:1], np.array([1]))
    assert SoftmaxCrossEntropy()(np.repeat(logits[:1], 4, axis=0), np.array([1, 1, 1, 1])) == pytest.approx(single)


def test_log_softmax_then_nll_equals_softmax_cross_entropy():
    rng = np.random.default_rng(3)
    logits, labels = rng.normal(0, 3, (6, 4)), np.array([0, 3, 1, 1, 2, 0])
    ce, nll, layer = SoftmaxCrossEntropy(), NLLLoss(), LogSoftmax()
    assert nll(layer.forward(logits), labels) == pytest.approx(ce(logits, labels), rel=1e-13)
    np.testing.assert_allclose(layer.backward(nll.backward()), ce.backward(), rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_stable_at_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [1e4, -1e4, 0.0]], dtype=dtype)
    labels = np.array([0, 1, 1])
    loss = SoftmaxCrossEntropy()
    with _warnings_as_errors():
        value = loss(logits, labels)
        grad = loss.backward()
    # row 0 is certain and right: 0;  row 1 splits between two classes: log 2;  row 2: 1e4 - (-1e4) = 2e4
    assert np.isfinite(value) and value == pytest.approx((0.0 + np.log(2.0) + 2e4) / 3, rel=1e-6)
    assert grad.dtype == dtype and np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, np.array([[0, 0, 0], [0, -0.5, 0.5], [1, -1, 0]]) / 3, atol=1e-7)


# ---------------------------------------------------------------- labels
@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, NLLLoss])
@pytest.mark.parametrize("labels, pattern", [
    ([0, 1, 2, 3], r"\[0, 3\).*got 3 at index 3"),          # == C
    ([0, 7, 1, 2], r"\[0, 3\).*got 7 at index 1"),          # > C
    ([0, 1, -1, 2], r"\[0, 3\).*got -1 at index 2"),        # negative
    (np.array([0.0, 1.0, 1.5, 2.0]), r"integers.*index 2"),  # fractional float
    (np.array([0.0, 1.0, 2.0, 1.0]), r"integers.*float64"),  # float dtype, even with whole values
    ([0, 1, 2], r"\(4,\).*\(3,\)"),                         # too short: both shapes
    ([0, 1, 2, 0, 1], r"\(4,\).*\(5,\)"),                   # too long
    ([[0], [1], [2], [0]], r"\(4,\).*\(4, 1\)"),            # column vector
])
def test_bad_labels_raise_with_a_precise_message(loss_cls, labels, pattern):
    with pytest.raises(ValueError, match=pattern):
        loss_cls()(np.zeros((4, 3)), labels)


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((2, 3, 1)), np.zeros((2, 0)), np.zeros((2, 3), dtype=np.int64)])
def test_bad_logits_raise(bad):
    with pytest.raises(ValueError, match="shape"):
        SoftmaxCrossEntropy()(bad, np.zeros(len(bad), dtype=np.int64))


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), NLLLoss(), MSELoss()], ids=repr)
def test_backward_before_forward_raises(loss):
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()


# ---------------------------------------------------------------- softmax / log_softmax
@EXAMPLES
@given(logits=S.matrices(cols=S.class_counts, elements=S.moderate_floats(50.0)))
def test_softmax_rows_sum_to_one_and_match_log_softmax(logits):
    p, logp = softmax(logits), log_softmax(logits)
    assert p.shape == logits.shape and np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-13, err_msg=f"logits {logits}")
    np.testing.assert_allclose(np.exp(logp), p, rtol=1e-12, atol=1e-300, err_msg=f"logits {logits}")
    big = p > 1e-300          # where log(p) is representable
    np.testing.assert_allclose(logp[big], np.log(p[big]), rtol=1e-12, atol=1e-12, err_msg=f"logits {logits}")
    # invariant to adding a constant to each row
    np.testing.assert_allclose(softmax(logits + 7.0), p, rtol=1e-12, atol=1e-300)


def test_softmax_by_hand_and_does_not_modify_input():
    logits = np.array([[0.0, np.log(3.0)], [1.0, 1.0]])
    before = logits.copy()
    np.testing.assert_allclose(softmax(logits), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(log_softmax(logits), np.log([[0.25, 0.75], [0.5, 0.5]]), rtol=1e-15)
    np.testing.assert_array_equal(logits, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_log_softmax_are_stable_at_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    with _warnings_as_errors():
        p, logp = softmax(logits), log_softmax(logits)
    assert p.dtype == dtype and logp.dtype == dtype
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(logp))
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    np.testing.assert_allclose(logp, [[0, -2e4, -1e4], [-np.log(3)] * 3], rtol=1e-6)


# ---------------------------------------------------------------- MSELoss
def test_mse_is_a_mean_over_all_elements():
    pred, target = np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2))
    loss = MSELoss()
    assert loss(pred, target) == pytest.approx((1 + 4 + 9 + 16) / 4)     # 7.5, not a per-row mean (15)
    np.testing.assert_allclose(loss.backward(), 2 * pred / 4)
    assert MSELoss()(np.array([[1.0], [3.0]]), np.array([[2.0], [1.0]])) == pytest.approx((1 + 4) / 2)


@pytest.mark.parametrize("pred_shape, target_shape",
                         [((2, 3), (3, 2)), ((4,), (4, 1)), ((4, 1), (4,)), ((2, 3), (2, 4))])
def test_mse_shape_mismatch_raises_naming_both_shapes(pred_shape, target_shape):
    with pytest.raises(ValueError) as info:
        MSELoss()(np.zeros(pred_shape), np.zeros(target_shape))
    assert str(pred_shape) in str(info.value) and str(target_shape) in str(info.value), str(info.value)


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [SoftmaxCrossEntropy, NLLLoss, MSELoss])
def test_loss_gradient_keeps_the_output_dtype(make, dtype):
    outputs = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    targets = outputs[::-1].copy() if make is MSELoss else np.array([0, 3, 2])
    loss = make()
    value = loss(outputs, targets)
    grad = loss.backward()
    assert isinstance(value, float) and np.isfinite(value)
    assert grad.dtype == dtype and grad.shape == outputs.shape, (grad.dtype, grad.shape)


@pytest.mark.parametrize("dtype", ["<i8", ">i8", "<i4", ">i2", "i1", "u1", "<u8", ">u4"])
def test_check_labels_finds_out_of_range_labels_in_every_integer_dtype(dtype):
    # the check takes max() over an unsigned view of signed labels; byte order and width must not fool it
    good = np.array([0, 3, 9, 2], dtype=dtype)
    assert check_labels(good, 4, 10) is good
    with pytest.raises(ValueError, match=r"got 10 at index 1"):
        check_labels(np.array([0, 10, 9, 2], dtype=dtype), 4, 10)
    if np.dtype(dtype).kind == "i":
        with pytest.raises(ValueError, match=r"got -1 at index 3"):
            check_labels(np.array([0, 3, 9, -1], dtype=dtype), 4, 10)
    with pytest.raises(ValueError, match=r"got 9 at index 2"):                  # a strided view is fine too
        check_labels(np.array([0, 7, 3, 5, 9, 1], dtype=dtype)[::2], 3, 9)


@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, NLLLoss])
def test_fortran_ordered_logits_and_uint64_labels_give_the_same_loss_and_gradient(loss_cls):
    # the flat label index once scattered into a copy for Fortran-ordered logits (the -1/N
    # at each label was lost) and failed with an IndexError for uint64 labels
    rng = np.random.default_rng(4)
    logits, labels = rng.normal(size=(5, 3)), np.array([2, 0, 1, 1, 2])
    reference = loss_cls()
    value = reference(logits, labels)
    grad = reference.backward()
    for z, y in [(np.asfortranarray(logits), labels), (logits, labels.astype(np.uint64)),
                 (np.asfortranarray(logits), labels.astype(">u8"))]:
        loss = loss_cls()
        assert loss(z, y) == value
        np.testing.assert_array_equal(loss.backward(), grad)
