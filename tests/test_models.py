"""Models: MLP structure and end-to-end gradients, the CS 7643 networks reproduced exactly."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import strategies as S
from minidl.gradcheck import check_model_loss
from minidl.layers import ACTIVATIONS, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from minidl.losses import MSELoss, SoftmaxCrossEntropy
from minidl.models import MLP, SoftmaxRegression, TwoLayerNet


# ---------------------------------------------------------------- MLP end to end
@settings(max_examples=50)
@given(sizes=S.mlp_sizes, activation=S.activation_names, init=S.init_specs(allow_zeros=False),
       bias=st.booleans(), n=S.batch_sizes, seed=S.seeds, use_mse=st.booleans(), data=st.data())
def test_mlp_gradients_through_a_loss(sizes, activation, init, bias, n, seed, use_mse, data):
    model = MLP(sizes, activation=activation, init=init, bias=bias, rng=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for layer in model.linear_layers():          # non-zero biases, so they shift the kinks too
        if layer.b is not None:
            layer.b.data = rng.uniform(-0.5, 0.5, layer.b.shape)
    x = data.draw(S.float64_arrays((n, sizes[0]), S.floats_away_from_zero()), label="x")
    assume(S.min_abs_kink_input(model, x) > S.KINK_MARGIN)      # no ReLU kink within reach of h
    if use_mse:
        loss, targets = MSELoss(), rng.standard_normal((n, sizes[-1]))
    else:
        loss, targets = SoftmaxCrossEntropy(), data.draw(S.labels(n, sizes[-1]), label="labels")
    assume(S.finite_differences_resolve(lambda _: loss.forward(model.forward(x), targets),
                                        [x] + [p.data for p in model.parameters()]))
    err = check_model_loss(model, loss, x, targets, h=S.NETWORK_H)
    assert err <= S.GRAD_TOL, (f"MLP({sizes}, activation={activation!r}, init={init}, bias={bias}) with {loss!r}, "
                               f"x {x.shape}: relative error {err:.3e}")


# ---------------------------------------------------------------- MLP structure
@pytest.mark.parametrize("sizes", [[3, 2], [784, 10], [784, 30, 10], [784, 30, 30, 10], [5, 4, 3, 2, 1]])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_mlp_layer_structure(sizes, activation):
    model = MLP(sizes, activation=activation, rng=0)
    kinds = [type(layer) for layer in model]
    act = ACTIVATIONS[activation]
    # Linear, act, Linear, act, ..., Linear: one activation between each pair, none after the last
    assert kinds == [Linear, act] * (len(sizes) - 2) + [Linear], kinds
    linears = model.linear_layers()
    assert [(lin.in_features, lin.out_features) for lin in linears] == list(zip(sizes[:-1], sizes[1:]))
    names = [name for name, _ in model.named_parameters()]
    assert names == [f"{2 * i}.{p}" for i in range(len(sizes) - 1) for p in ("W", "b")]
    assert model.sizes == sizes and model.activation == activation


def test_mlp_documented_example_and_repr():
    model = MLP([784, 30, 30, 10], activation="sigmoid")
    assert [repr(layer) for layer in model] == ["Linear(784 -> 30)", "Sigmoid()", "Linear(30 -> 30)", "Sigmoid()",
                                                "Linear(30 -> 10)"]
    assert "(4) Linear(30 -> 10)" in repr(model)
    assert model.forward(np.zeros((2, 784), dtype=np.float32)).shape == (2, 10)


def test_mlp_without_bias_and_output_is_raw_logits():
    model = MLP([2, 3], bias=False, init="zeros", dtype=np.float64)
    model[0].W.data = np.array([[1.0, -2.0, 0.0], [0.0, 0.0, -1.0]])
    assert [name for name, _ in model.named_parameters()] == ["0.W"]
    # no ReLU on the output: negative logits come through
    np.testing.assert_array_equal(model.forward(np.array([[1.0, 1.0]])), [[1.0, -2.0, -1.0]])


@pytest.mark.parametrize("sizes", [[], [5], [3, 0, 2], [3, -1, 2], [0, 2]])
def test_mlp_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError, match="MLP sizes"):
        MLP(sizes)


@pytest.mark.parametrize("activation", ["softmax", "ReLU", "", "gelu"])
def test_mlp_rejects_unknown_activation(activation):
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([3, 4, 2], activation=activation)


def test_mlp_same_seed_same_weights_one_stream_for_all_layers():
    a, b, c = MLP([4, 4, 4, 4], rng=7), MLP([4, 4, 4, 4], rng=7), MLP([4, 4, 4, 4], rng=8)
    for (name, p), (_, q), (_, r) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
        if name.endswith("W"):
            assert not np.array_equal(p.data, r.data), name
    # the three 4x4 weights come from one stream, so they are not copies of each other
    assert not np.array_equal(a[0].W.data, a[2].W.data) and not np.array_equal(a[2].W.data, a[4].W.data)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_mlp_dtypes(activation):
    x = np.random.default_rng(0).standard_normal((3, 4))
    labels = np.array([0, 2, 1])
    models = {np.float32: MLP([4, 6, 3], activation=activation, rng=0),      # the default dtype
              np.float64: MLP([4, 6, 3], activation=activation, rng=0, dtype=np.float64)}
    for dtype, model in models.items():
        loss = SoftmaxCrossEntropy()
        logits = model.forward(x.astype(dtype))
        loss(logits, labels)
        dx = model.backward(loss.backward())
        got = {"logits": logits.dtype, "dx": dx.dtype}
        got.update({f"{n}.data": p.dtype for n, p in model.named_parameters()})
        got.update({f"{n}.grad": p.grad.dtype for n, p in model.named_parameters()})
        assert set(got.values()) == {np.dtype(dtype)}, f"MLP {activation} {np.dtype(dtype)}: {got}"


# ---------------------------------------------------------------- CS 7643 networks
def test_softmax_regression_is_the_course_model():
    model = SoftmaxRegression()
    assert len(model) == 2 and isinstance(model[0], Linear) and isinstance(model[1], ReLU)
    fc = model[0]
    assert (fc.in_features, fc.out_features, fc.b) == (784, 10, None)
    assert [name for name, _ in model.named_parameters()] == ["0.W"]
    expected = (0.001 * np.random.RandomState(1024).randn(784, 10)).astype(np.float32)
    assert fc.W.dtype == np.float32
    np.testing.assert_array_equal(fc.W.data, expected)
    scores = model.forward(np.random.default_rng(0).random((5, 784), dtype=np.float32))
    assert scores.shape == (5, 10) and scores.dtype == np.float32 and np.all(scores >= 0)


@pytest.mark.parametrize("hidden", [1, 16, 128])
def test_two_layer_net_is_the_course_model(hidden):
    model = TwoLayerNet(hidden)
    assert [type(layer) for layer in model] == [Linear, Sigmoid, Linear]
    fc1, fc2 = model[0], model[2]
    assert (fc1.in_features, fc1.out_features, fc2.in_features, fc2.out_features) == (784, hidden, hidden, 10)
    # a fresh RandomState(1024) for each weight, so W2 starts with the same numbers as W1
    w1 = 0.001 * np.random.RandomState(1024).randn(784, hidden)
    w2 = 0.001 * np.random.RandomState(1024).randn(hidden, 10)
    np.testing.assert_array_equal(fc1.W.data, w1.astype(np.float32))
    np.testing.assert_array_equal(fc2.W.data, w2.astype(np.float32))
    np.testing.assert_array_equal(fc1.b.data, np.zeros(hidden, np.float32))
    np.testing.assert_array_equal(fc2.b.data, np.zeros(10, np.float32))
    assert {n: p.decay for n, p in model.named_parameters()} == {"0.W": True, "0.b": False, "2.W": True, "2.b": False}
    assert model.hidden_size == hidden


def test_two_layer_net_float64_and_gradients():
    model = TwoLayerNet(hidden_size=3, input_size=5, num_classes=4, dtype=np.float64)
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    # the course weights are tiny (0.001): scale them up so the gradients are measurable
    for p in model.parameters():
        p.data = p.data * 500.0 + 0.1
    x = np.random.default_rng(1).uniform(-1, 1, (2, 5))
    err = check_model_loss(model, SoftmaxCrossEntropy(), x, np.array([3, 0]), h=S.NETWORK_H)
    assert err <= S.GRAD_TOL, f"TwoLayerNet(3): relative error {err:.3e}"


@pytest.mark.parametrize("hidden", [0, -5])
def test_two_layer_net_rejects_bad_hidden_size(hidden):
    with pytest.raises(ValueError, match="hidden_size"):
        TwoLayerNet(hidden)


@pytest.mark.parametrize("make", [lambda: MLP([3, 4, 2], activation="tanh", rng=0), SoftmaxRegression,
                                  lambda: TwoLayerNet(4)], ids=["MLP", "SoftmaxRegression", "TwoLayerNet"])
def test_calling_a_model_runs_forward(make):
    model = make()
    x = np.random.default_rng(0).random((2, model[0].in_features), dtype=np.float32)
    np.testing.assert_array_equal(model(x), model.forward(x))


def test_model_activation_classes_exist_for_every_name():
    assert ACTIVATIONS == {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}
