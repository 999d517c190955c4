"""Layers: gradient checks (hypothesis, float64), exact values, errors, dtypes, Sequential."""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import strategies as S
from minidl.gradcheck import check_layer
from minidl.layers import ACTIVATIONS, Layer, LeakyReLU, Linear, LogSoftmax, ReLU, Sequential, Sigmoid, Tanh
from minidl.optim import SGD
from minidl.parameter import Parameter

EXAMPLES = settings(max_examples=40)


def _assert_grad_ok(err, what, x):
    assert err <= S.GRAD_TOL, (f"{what}: worst relative gradient error {err:.3e} > {S.GRAD_TOL} "
                               f"for input shape {x.shape}")


# ---------------------------------------------------------------- gradient checks
@EXAMPLES
@given(n=S.batch_sizes, d_in=S.feature_sizes, d_out=S.feature_sizes, bias=st.booleans(),
       init=S.init_specs(), data=st.data(), seed=S.seeds)
def test_linear_gradients(n, d_in, d_out, bias, init, data, seed):
    layer = Linear(d_in, d_out, bias=bias, init=init, rng=seed, dtype=np.float64)
    x = data.draw(S.float64_arrays((n, d_in)), label="x")
    err = check_layer(layer, x, np.random.default_rng(seed))
    _assert_grad_ok(err, f"{layer!r} init={init}", x)


@EXAMPLES
@given(x=S.matrices(elements=S.floats_away_from_zero()), slope=S.negative_slopes, seed=S.seeds,
       kind=st.sampled_from(["relu", "leaky_relu"]))
def test_kinked_activation_gradients(x, slope, seed, kind):
    assume(np.abs(x).min() > S.KINK_MARGIN)
    layer = ReLU() if kind == "relu" else LeakyReLU(slope)
    err = check_layer(layer, x, np.random.default_rng(seed))
    _assert_grad_ok(err, repr(layer), x)


@EXAMPLES
@given(x=S.matrices(), seed=S.seeds, layer_cls=st.sampled_from([Sigmoid, Tanh, LogSoftmax]))
def test_smooth_activation_gradients(x, seed, layer_cls):
    layer = layer_cls()
    err = check_layer(layer, x, np.random.default_rng(seed))
    _assert_grad_ok(err, repr(layer), x)


@st.composite
def _sequentials(draw):
    """A float64 Sequential of Linear layers with a (possibly different) activation between each
    pair, sometimes ending in LogSoftmax, plus an input for it."""
    sizes = draw(S.mlp_sizes)
    seed = draw(S.seeds)
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, bias=draw(st.booleans()), init=draw(S.init_specs(allow_zeros=False)),
                             rng=rng, dtype=np.float64))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[draw(S.activation_names)]())
    if draw(st.booleans()):
        layers.append(LogSoftmax())
    x = draw(S.float64_arrays((draw(S.batch_sizes), sizes[0]), S.floats_away_from_zero()))
    return Sequential(*layers), x, seed


@EXAMPLES
@given(model_x_seed=_sequentials())
def test_sequential_gradients(model_x_seed):
    model, x, seed = model_x_seed
    assume(S.min_abs_kink_input(model, x) > S.KINK_MARGIN)
    dout = np.random.default_rng(seed).standard_normal(model.forward(x).shape)   # as check_layer draws it
    assume(S.finite_differences_resolve(lambda _: float(np.sum(model.forward(x) * dout)),
                                        [x] + [p.data for p in model.parameters()]))
    err = check_layer(model, x, np.random.default_rng(seed), h=S.NETWORK_H)
    _assert_grad_ok(err, " -> ".join(map(repr, model)), x)


# ---------------------------------------------------------------- Linear
def test_linear_parameter_shapes_and_flags():
    layer = Linear(784, 128)
    assert layer.W.shape == (784, 128) and layer.b.shape == (128,)
    assert layer.W.decay is True and layer.b.decay is False
    assert np.all(layer.b.data == 0)
    assert [name for name, _ in layer.named_parameters()] == ["W", "b"]
    no_bias = Linear(3, 2, bias=False)
    assert no_bias.b is None and [name for name, _ in no_bias.named_parameters()] == ["W"]
    assert repr(layer) == "Linear(784 -> 128)" and repr(no_bias) == "Linear(3 -> 2, bias=False)"


def test_linear_forward_and_backward_by_hand():
    layer = Linear(3, 2, dtype=np.float64)
    layer.W.data = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    layer.b.data = np.array([10.0, 20.0])
    x = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0]])
    # row 0: [1+3+5, 2+4+6] + b = [19, 32];  row 1: [1-5, 2-6] + b = [6, 16]
    np.testing.assert_array_equal(layer.forward(x), [[19.0, 32.0], [6.0, 16.0]])
    dout = np.array([[1.0, 0.0], [0.0, 2.0]])
    dx = layer.backward(dout)
    # dx = dout @ W.T: row 0 = W[:, 0] = [1, 3, 5]; row 1 = 2 W[:, 1] = [4, 8, 12]
    np.testing.assert_array_equal(dx, [[1.0, 3.0, 5.0], [4.0, 8.0, 12.0]])
    # dW = x.T @ dout: column 0 = x[0] = [1, 1, 1]; column 1 = 2 x[1] = [2, 0, -2]
    np.testing.assert_array_equal(layer.W.grad, [[1.0, 2.0], [1.0, 0.0], [1.0, -2.0]])
    # db = column sums of dout
    np.testing.assert_array_equal(layer.b.grad, [1.0, 2.0])


def test_linear_without_bias_is_x_at_w():
    layer = Linear(2, 2, bias=False, dtype=np.float64)
    layer.W.data = np.array([[1.0, -1.0], [2.0, 0.5]])
    np.testing.assert_array_equal(layer.forward(np.array([[3.0, 2.0]])), [[7.0, -2.0]])


def test_linear_batch_of_one():
    layer = Linear(4, 3, rng=0, dtype=np.float64)
    layer.b.data = np.array([1.0, 2.0, 3.0])
    x = np.arange(4.0).reshape(1, 4)
    np.testing.assert_allclose(layer.forward(x), x @ layer.W.data + layer.b.data, rtol=1e-15)
    layer.backward(np.ones((1, 3)))
    assert layer.b.grad.shape == (3,)
    np.testing.assert_array_equal(layer.b.grad, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(layer.W.grad, np.repeat(x.T, 3, axis=1))


def test_linear_wrong_width_names_layer_and_both_shapes():
    layer = Linear(784, 128)
    with pytest.raises(ValueError) as info:
        layer.forward(np.zeros((64, 783), dtype=np.float32))
    msg = str(info.value)
    assert "Linear(784 -> 128)" in msg and "(64, 783)" in msg and "784" in msg.replace("784 -> 128", ""), msg


@pytest.mark.parametrize("shape", [(784,), (2, 784, 1), ()])
def test_linear_wrong_rank_raises(shape):
    with pytest.raises(ValueError, match=r"Linear\(784 -> 128\)"):
        Linear(784, 128).forward(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
def test_linear_integer_input_raises(dtype):
    with pytest.raises(ValueError, match="dtype"):
        Linear(3, 2).forward(np.ones((2, 3), dtype=dtype))


@pytest.mark.parametrize("sizes", [(0, 3), (3, 0), (-1, 2)])
def test_linear_non_positive_sizes_raise(sizes):
    with pytest.raises(ValueError):
        Linear(*sizes)


@pytest.mark.parametrize("make", [lambda: Linear(3, 2), ReLU, LeakyReLU, Sigmoid, Tanh, LogSoftmax,
                                  lambda: Sequential(Linear(3, 2), ReLU())], ids=repr)
def test_backward_before_forward_raises(make):
    with pytest.raises(RuntimeError, match="before forward"):
        make().backward(np.ones((1, 2), dtype=np.float32))


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, Sigmoid, Tanh, LogSoftmax])
def test_activation_integer_input_raises(make):
    with pytest.raises(ValueError, match="dtype int64"):
        make().forward(np.ones((2, 3), dtype=np.int64))


def test_calling_a_layer_runs_its_forward():
    x = np.array([[-1.0, 2.0]])
    for layer in (ReLU(), Sigmoid(), Linear(2, 3, dtype=np.float64),
                  Sequential(Linear(2, 2, dtype=np.float64), Tanh())):
        np.testing.assert_array_equal(layer(x), layer.forward(x), err_msg=repr(layer))


# ---------------------------------------------------------------- activations: values
def test_activation_values_by_hand():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(ReLU().forward(x), [[0.0, 0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(x), [[-0.2, -0.05, 0.0, 0.5, 3.0]], rtol=1e-15)
    np.testing.assert_allclose(LeakyReLU().forward(x), [[-0.02, -0.005, 0.0, 0.5, 3.0]], rtol=1e-15)
    np.testing.assert_allclose(Sigmoid().forward(x), 1.0 / (1.0 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x), rtol=1e-15)
    # derivatives: ReLU 0/1, LeakyReLU slope/1, sigmoid y(1-y) = 1/4 at 0, tanh 1 - y^2 = 1 at 0
    ones = np.ones_like(x)
    relu = ReLU()
    relu.forward(x)
    np.testing.assert_array_equal(relu.backward(ones), [[0.0, 0.0, 0.0, 1.0, 1.0]])
    leaky = LeakyReLU(0.1)
    leaky.forward(x)
    np.testing.assert_allclose(leaky.backward(ones), [[0.1, 0.1, 0.1, 1.0, 1.0]], rtol=1e-15)
    sig = Sigmoid()
    sig.forward(np.zeros((1, 1)))
    np.testing.assert_allclose(sig.backward(np.ones((1, 1))), [[0.25]], rtol=1e-15)
    tanh = Tanh()
    tanh.forward(np.zeros((1, 1)))
    np.testing.assert_allclose(tanh.backward(np.ones((1, 1))), [[1.0]], rtol=1e-15)


def test_log_softmax_layer_values():
    x = np.array([[0.0, np.log(3.0)], [5.0, 5.0]])
    # softmax rows [1/4, 3/4] and [1/2, 1/2]
    np.testing.assert_allclose(LogSoftmax().forward(x), np.log([[0.25, 0.75], [0.5, 0.5]]), rtol=1e-14)
    with pytest.raises(ValueError, match="shape"):
        LogSoftmax().forward(np.zeros(3))


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, Sigmoid, Tanh, LogSoftmax, lambda: Linear(3, 3, dtype=np.float64)],
                         ids=repr)
def test_layers_do_not_write_into_their_arguments(make):
    layer = make()
    x = np.array([[-1.0, 0.5, 2.0], [0.25, -3.0, 1.0]])
    dout = np.array([[1.0, -2.0, 0.5], [0.0, 1.5, -1.0]])
    x0, dout0 = x.copy(), dout.copy()
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_huge_inputs(dtype):
    x = np.array([[-1e4, -1e3, -100.0, -30.0, 0.0, 30.0, 100.0, 1e3, 1e4]], dtype=dtype)
    layer = Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert y.dtype == dtype and dx.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1)), y
    assert np.all(np.isfinite(dx)) and np.all(dx >= 0), dx
    assert y[0, 0] == 0.0 and y[0, -1] == 1.0 and y[0, 4] == 0.5
    assert np.all(np.diff(y[0]) >= 0), "sigmoid must be monotone"


# ---------------------------------------------------------------- dtypes
# each builder takes the Linear dtype keywords: none (the float32 default) or dtype=np.float64
_LAYERS = {
    "Linear": lambda **kw: Linear(3, 4, rng=0, **kw),
    "Linear(bias=False)": lambda **kw: Linear(3, 4, bias=False, rng=0, **kw),
    "ReLU": lambda **kw: ReLU(),
    "LeakyReLU": lambda **kw: LeakyReLU(0.2),
    "Sigmoid": lambda **kw: Sigmoid(),
    "Tanh": lambda **kw: Tanh(),
    "LogSoftmax": lambda **kw: LogSoftmax(),
    "Sequential": lambda **kw: Sequential(Linear(3, 5, rng=0, **kw), Sigmoid(), Linear(5, 2, rng=1, **kw),
                                          LogSoftmax()),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(_LAYERS))
def test_dtype_is_preserved(name, dtype):
    layer = _LAYERS[name]() if dtype == np.float32 else _LAYERS[name](dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(dtype)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    got = {"output": y.dtype, "dx": dx.dtype}
    got.update({f"grad {n}": p.grad.dtype for n, p in layer.named_parameters()})
    got.update({f"param {n}": p.dtype for n, p in layer.named_parameters()})
    assert set(got.values()) == {np.dtype(dtype)}, f"{name} with {np.dtype(dtype)} input: {got}"


def test_default_parameter_dtype_is_float32_and_astype_converts():
    layer = Linear(3, 2)
    assert layer.W.dtype == np.float32 and layer.b.dtype == np.float32
    assert layer.astype(np.float64) is layer
    assert layer.W.dtype == np.float64 and layer.b.dtype == np.float64


# ---------------------------------------------------------------- Sequential
class _Recorder(Layer):
    """Identity layer that logs its calls, to observe the order Sequential uses."""

    def __init__(self, tag, log):
        self.tag, self.log = tag, log

    def forward(self, x):
        self.log.append(("forward", self.tag))
        return x

    def backward(self, dout, input_grad=True):
        self.log.append(("backward", self.tag))
        return dout


def test_sequential_runs_forward_in_order_and_backward_in_reverse():
    log = []
    model = Sequential(*[_Recorder(i, log) for i in range(3)])
    model.forward(np.zeros((1, 1)))
    model.backward(np.zeros((1, 1)))
    assert log == [("forward", 0), ("forward", 1), ("forward", 2),
                   ("backward", 2), ("backward", 1), ("backward", 0)]


def test_sequential_composes_in_order():
    lin = Linear(2, 2, bias=False, dtype=np.float64)
    lin.W.data = np.array([[1.0, 0.0], [0.0, -1.0]])
    x = np.array([[1.0, 2.0]])
    # ReLU after Linear: relu([1, -2]) = [1, 0];  Linear after ReLU: relu(x) @ W = [1, -2]
    np.testing.assert_array_equal(Sequential(lin, ReLU()).forward(x), [[1.0, 0.0]])
    np.testing.assert_array_equal(Sequential(ReLU(), lin).forward(x), [[1.0, -2.0]])


def test_sequential_backward_chains_the_gradients():
    a, b = Linear(2, 3, rng=0, dtype=np.float64), Linear(3, 2, rng=1, dtype=np.float64)
    model = Sequential(a, Tanh(), b)
    x = np.array([[0.5, -1.0]])
    dout = np.array([[1.0, -2.0]])
    model.forward(x)
    dx = model.backward(dout)
    # by hand: h = tanh(x W_a + b_a);  dh = dout W_b^T;  dz = dh (1 - h^2);  dx = dz W_a^T
    h = np.tanh(x @ a.W.data + a.b.data)
    dz = (dout @ b.W.data.T) * (1 - h ** 2)
    np.testing.assert_allclose(b.W.grad, h.T @ dout, rtol=1e-14)
    np.testing.assert_allclose(a.W.grad, x.T @ dz, rtol=1e-14)
    np.testing.assert_allclose(dx, dz @ a.W.data.T, rtol=1e-14)


def test_sequential_first_layer_may_skip_input_gradient():
    model = Sequential(Linear(2, 3, dtype=np.float64), ReLU(), Linear(3, 1, dtype=np.float64))
    model.forward(np.ones((2, 2)))
    assert model.backward(np.ones((2, 1)), input_grad=False) is None
    assert all(p.grad is not None for p in model.parameters())


def test_sequential_parameters_and_dotted_names():
    first, last = Linear(4, 3), Linear(3, 2, bias=False)
    model = Sequential(first, ReLU(), last)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.W", "0.b", "2.W"]
    params = model.parameters()
    assert len(params) == 3 and all(isinstance(p, Parameter) for p in params)
    assert params[0] is first.W and params[1] is first.b and params[2] is last.W
    assert model.num_parameters() == 4 * 3 + 3 + 3 * 2
    nested = Sequential(model, Linear(2, 1))
    assert [n for n, _ in nested.named_parameters()] == ["0.0.W", "0.0.b", "0.2.W", "1.W", "1.b"]


def test_sequential_zero_grad_clears_every_gradient():
    model = Sequential(Linear(2, 2), ReLU(), Linear(2, 1))
    model.forward(np.ones((1, 2), dtype=np.float32))
    model.backward(np.ones((1, 1), dtype=np.float32))
    model.zero_grad()
    assert [p.grad for p in model.parameters()] == [None] * 4


def test_sequential_repr_lists_layers():
    text = repr(Sequential(Linear(4, 3), ReLU(), Linear(3, 2, bias=False)))
    assert text.startswith("Sequential(")
    for line in ["(0) Linear(4 -> 3)", "(1) ReLU()", "(2) Linear(3 -> 2, bias=False)"]:
        assert line in text, text
    assert text.index("(0)") < text.index("(1)") < text.index("(2)")


def test_sequential_indexing_and_rejects_non_layers():
    relu = ReLU()
    model = Sequential(Linear(2, 2), relu)
    assert len(model) == 2 and model[1] is relu and list(model)[1] is relu
    with pytest.raises(TypeError, match="item 1"):
        Sequential(Linear(2, 2), np.tanh)


def test_state_dict_round_trip_and_mismatch():
    src, dst = Sequential(Linear(3, 2, rng=0)), Sequential(Linear(3, 2, rng=1))
    dst.load_state_dict(src.state_dict())
    for (name, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    with pytest.raises(ValueError, match="0.W"):
        Sequential(Linear(4, 2)).load_state_dict(src.state_dict())


# ---------------------------------------------------------------- parameter registration
class _Scale(Layer):
    """y = x * s + t with a learned (D,) scale s and shift t; registers them only by assignment."""

    def __init__(self, d):
        super().__init__()
        self.s = Parameter(np.ones(d))
        self.t = Parameter(np.zeros(d), decay=False)

    def forward(self, x):
        self._x = x
        return x * self.s.data + self.t.data

    def backward(self, dout, input_grad=True):
        # y[n,i] = x[n,i] s[i] + t[i]  =>  ds[i] = sum_n x[n,i] dout[n,i],  dt[i] = sum_n dout[n,i]
        self.s.grad = (self._x * dout).sum(axis=0)
        self.t.grad = dout.sum(axis=0)
        return dout * self.s.data


class _NoSuperInit(Layer):
    """Forgets super().__init__(): the registry is made when the first attribute is set."""

    def __init__(self):
        self.w = Parameter(np.zeros(2))


def test_a_custom_layer_registers_its_parameters_and_is_trained_by_sgd():
    layer = _Scale(2)
    assert [name for name, _ in layer.named_parameters()] == ["s", "t"]
    assert layer.parameters()[0] is layer.s and layer.parameters()[1] is layer.t
    opt = SGD(layer.parameters(), lr=0.1)
    x, target = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[2.0, -4.0], [6.0, 2.0]])   # s = (2, -2), t = 0
    for _ in range(500):
        layer.backward(layer.forward(x) - target)          # dL/dy of 0.5 ||y - target||^2
        opt.step()
    np.testing.assert_allclose(layer.s.data, [2.0, -2.0], atol=1e-6)
    np.testing.assert_allclose(layer.t.data, [0.0, 0.0], atol=1e-6)


def test_sub_layers_register_with_a_dotted_prefix_in_assignment_order():
    class Block(Layer):
        def __init__(self):
            self.fc = Linear(3, 2, rng=0)
            self.gain = Parameter(np.ones(2))
            self.act = ReLU()
            self.out = Linear(2, 1, bias=False, rng=1)

    block = Block()
    assert [name for name, _ in block.named_parameters()] == ["fc.W", "fc.b", "gain", "out.W"]
    assert block.num_parameters() == 3 * 2 + 2 + 2 + 2
    model = Sequential(block, Linear(1, 1))
    assert [name for name, _ in model.named_parameters()] == ["0.fc.W", "0.fc.b", "0.gain", "0.out.W", "1.W", "1.b"]


def test_a_parameter_reachable_twice_is_listed_once():
    shared = Linear(2, 2, rng=0)
    model = Sequential(shared, ReLU(), shared)
    assert [name for name, _ in model.named_parameters()] == ["0.W", "0.b"]


def test_setting_a_parameter_attribute_to_none_unregisters_it():
    layer = Linear(3, 2)
    assert [name for name, _ in layer.named_parameters()] == ["W", "b"]
    layer.b = None
    assert [name for name, _ in layer.named_parameters()] == ["W"]
    layer.b = Parameter(np.zeros(2, dtype=np.float32), decay=False)
    assert [name for name, _ in layer.named_parameters()] == ["W", "b"]
    del layer.b
    assert [name for name, _ in layer.named_parameters()] == ["W"]
    no_bias = Linear(3, 2, bias=False)
    assert no_bias.b is None and [name for name, _ in no_bias.named_parameters()] == ["W"]


def test_layers_share_no_registry():
    # the old class-level default ``_params = {}`` was one dict for every layer that forgot to set its own
    a, b = _NoSuperInit(), _NoSuperInit()
    assert a.parameters()[0] is a.w and b.parameters()[0] is b.w and a.w is not b.w
    assert ReLU().named_parameters() == [] and Layer().named_parameters() == []
    assert "_params" not in vars(Layer)


@pytest.mark.parametrize("hide", [
    lambda: [Parameter(np.zeros(2))],
    lambda: (np.zeros(2), Parameter(np.zeros(2))),
    lambda: {"W": Parameter(np.zeros(2))},
    lambda: [[np.zeros(1)], {"deep": [Parameter(np.zeros(2))]}],
    lambda: [Linear(2, 2)],                                  # a Layer with parameters, equally invisible
])
def test_a_parameter_hidden_in_a_container_raises(hide):
    layer = _Scale(2)
    with pytest.raises(TypeError, match=r"_Scale\.weights.*own attribute"):
        layer.weights = hide()
    assert not hasattr(layer, "weights") and len(layer.parameters()) == 2


def test_containers_without_parameters_are_fine_and_sequential_keeps_its_list():
    layer = _Scale(2)
    layer.history = [np.zeros(2), 1.5, (ReLU(), None)]
    layer.config = {"lr": 0.1}
    assert [name for name, _ in layer.named_parameters()] == ["s", "t"]
    model = Sequential(Linear(2, 2), ReLU())
    assert isinstance(model.layers, list) and [n for n, _ in model.named_parameters()] == ["0.W", "0.b"]
    with pytest.raises(TypeError, match="Sequential.extra"):
        model.extra = [Parameter(np.zeros(1))]


def test_registration_keeps_state_dict_round_trip_and_astype():
    class Block(Layer):
        def __init__(self, seed):
            self.fc = Linear(3, 2, rng=seed)
            self.gain = Parameter(np.full(2, float(seed), dtype=np.float32))

    src, dst = Block(1), Block(2)
    state = src.state_dict()
    assert list(state) == ["fc.W", "fc.b", "gain"]
    dst.load_state_dict(state)
    for (name, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert dst.astype(np.float64) is dst
    assert [p.dtype for p in dst.parameters()] == [np.float64] * 3
    assert dst.fc.W.dtype == np.float64 and dst.gain.dtype == np.float64


def test_a_deep_copy_registers_its_own_parameters():
    import copy
    model = Sequential(Linear(3, 2, rng=0), Sigmoid())
    model.forward(np.ones((1, 3), dtype=np.float32))
    clone = copy.deepcopy(model)
    assert [name for name, _ in clone.named_parameters()] == ["0.W", "0.b"]
    assert clone.parameters()[0] is clone[0].W and clone[0].W is not model[0].W
    clone[0].W.data += 1.0
    assert not np.array_equal(clone[0].W.data, model[0].W.data)
