"""Initializers: torch's formulas on a large layer, determinism, the spec forms, errors, no global seeding."""
import math

import numpy as np
import pytest

from minidl import init
from minidl.layers import Linear
from minidl.models import MLP, SoftmaxRegression, TwoLayerNet

SHAPE = (1000, 2000)            # (D_in, D_out): fan_in = 1000, fan_out = 2000
FAN = {"fan_in": 1000, "fan_out": 2000}
# torch.nn.init.calculate_gain, written out
GAINS = [("linear", {}, 1.0), ("sigmoid", {}, 1.0), ("tanh", {}, 5.0 / 3.0), ("relu", {}, math.sqrt(2.0)),
         ("leaky_relu", {"a": 0.2}, math.sqrt(2.0 / (1.0 + 0.2 ** 2))),
         ("leaky_relu", {"a": 0.0}, math.sqrt(2.0))]
GAIN_IDS = [f"{name}{opts.get('a', '')}" for name, opts, _ in GAINS]
TOL = 0.02                      # the sample std of 2e6 draws is within ~0.1 % of the true one


def _draw(fn, **options):
    return fn(SHAPE, np.random.default_rng(1234), **options)


def _assert_std(w, expected, what):
    assert w.shape == SHAPE and w.dtype == np.float64
    assert abs(w.mean()) < 0.01 * expected, f"{what}: mean {w.mean():.3g} for std {expected:.4g}"
    assert w.std() == pytest.approx(expected, rel=TOL), \
        f"{what}: sample std {w.std():.5g}, torch formula {expected:.5g}"


def _assert_uniform(w, bound, what):
    assert np.abs(w).max() <= bound, f"{what}: max |w| {np.abs(w).max():.5g} above the bound {bound:.5g}"
    assert np.abs(w).max() > 0.999 * bound, f"{what}: max |w| {np.abs(w).max():.5g}, far inside the bound {bound:.5g}"
    _assert_std(w, bound / math.sqrt(3.0), what)          # U(-b, b) has std b / sqrt(3)


# ---------------------------------------------------------------- torch's formulas
def test_zeros():
    w = _draw(init.zeros)
    assert w.shape == SHAPE and not w.any()
    assert not init.zeros((3, 2)).any() and init.zeros((3, 2), None).shape == (3, 2)


@pytest.mark.parametrize("std", [0.01, 0.05, 1.0])
def test_normal(std):
    _assert_std(_draw(init.normal, std=std), std, f"normal(std={std})")


def test_normal_default_std_is_0_01_and_mean_option():
    _assert_std(_draw(init.normal), 0.01, "normal()")
    assert _draw(init.normal, std=0.1, mean=3.0).mean() == pytest.approx(3.0, abs=1e-3)


@pytest.mark.parametrize("gain", [1.0, 5.0 / 3.0])
def test_xavier_normal(gain):
    # std = gain * sqrt(2 / (fan_in + fan_out)) = gain * sqrt(2 / 3000)
    _assert_std(_draw(init.xavier_normal, gain=gain), gain * math.sqrt(2.0 / 3000.0), f"xavier_normal(gain={gain})")


@pytest.mark.parametrize("gain", [1.0, math.sqrt(2.0)])
def test_xavier_uniform(gain):
    # bound = gain * sqrt(6 / (fan_in + fan_out)) = gain * sqrt(6 / 3000)
    bound = gain * math.sqrt(6.0 / 3000.0)
    _assert_uniform(_draw(init.xavier_uniform, gain=gain), bound, f"xavier_uniform(gain={gain})")


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, options, gain", GAINS, ids=GAIN_IDS)
def test_kaiming_normal(mode, nonlinearity, options, gain):
    # std = gain / sqrt(fan)
    w = _draw(init.kaiming_normal, mode=mode, nonlinearity=nonlinearity, **options)
    _assert_std(w, gain / math.sqrt(FAN[mode]), f"kaiming_normal({mode}, {nonlinearity}, {options})")


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, options, gain", GAINS, ids=GAIN_IDS)
def test_kaiming_uniform(mode, nonlinearity, options, gain):
    # bound = gain * sqrt(3 / fan)
    w = _draw(init.kaiming_uniform, mode=mode, nonlinearity=nonlinearity, **options)
    _assert_uniform(w, gain * math.sqrt(3.0 / FAN[mode]), f"kaiming_uniform({mode}, {nonlinearity}, {options})")


def test_kaiming_defaults_are_torchs():
    # torch: mode='fan_in', nonlinearity='leaky_relu', a=0  ->  gain sqrt(2)
    _assert_std(_draw(init.kaiming_normal), math.sqrt(2.0 / 1000.0), "kaiming_normal()")
    _assert_uniform(_draw(init.kaiming_uniform), math.sqrt(6.0 / 1000.0), "kaiming_uniform()")


@pytest.mark.parametrize("nonlinearity, options, gain", GAINS, ids=GAIN_IDS)
def test_calculate_gain(nonlinearity, options, gain):
    assert init.calculate_gain(nonlinearity, **options) == pytest.approx(gain, rel=1e-15)


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("name", sorted(init.NAMES))
def test_same_seed_same_array_other_seed_other_array(name):
    fn = init.NAMES[name]
    a = fn((30, 20), np.random.default_rng(5))
    b = fn((30, 20), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    if name != "zeros":
        assert not np.array_equal(a, fn((30, 20), np.random.default_rng(6)))


def test_linear_same_seed_same_weights_in_every_dtype():
    w32 = Linear(30, 20, init="xavier_uniform", rng=3).W.data
    w64 = Linear(30, 20, init="xavier_uniform", rng=3, dtype=np.float64).W.data
    np.testing.assert_array_equal(Linear(30, 20, init="xavier_uniform", rng=3).W.data, w32)
    np.testing.assert_array_equal(w32, w64.astype(np.float32))
    # an int seed and a Generator built from it give the same weights
    np.testing.assert_array_equal(Linear(30, 20, rng=np.random.default_rng(3)).W.data, Linear(30, 20, rng=3).W.data)


# ---------------------------------------------------------------- Linear(init=...)
@pytest.mark.parametrize("name", sorted(init.NAMES))
def test_linear_init_by_name(name):
    layer = Linear(30, 20, init=name, rng=11, dtype=np.float64)
    np.testing.assert_array_equal(layer.W.data, init.NAMES[name]((30, 20), np.random.default_rng(11)))
    assert not layer.b.data.any(), "biases start at zero whatever the weight init"


def test_linear_init_by_callable_gets_shape_and_generator():
    seen = {}

    def halves(shape, rng):
        seen["shape"], seen["rng"] = shape, rng
        return np.full(shape, 0.5)

    layer = Linear(4, 3, init=halves, rng=0)
    assert seen["shape"] == (4, 3) and isinstance(seen["rng"], np.random.Generator)
    np.testing.assert_array_equal(layer.W.data, np.full((4, 3), 0.5, dtype=np.float32))
    assert layer.W.dtype == np.float32


@pytest.mark.parametrize("spec, fn, options", [
    ({"name": "kaiming_normal", "mode": "fan_out", "nonlinearity": "relu"}, init.kaiming_normal,
     {"mode": "fan_out", "nonlinearity": "relu"}),
    ({"name": "kaiming_uniform", "mode": "fan_in", "nonlinearity": "leaky_relu", "a": 0.2}, init.kaiming_uniform,
     {"mode": "fan_in", "nonlinearity": "leaky_relu", "a": 0.2}),
    ({"name": "xavier_normal", "gain": 3.0}, init.xavier_normal, {"gain": 3.0}),
    ({"name": "normal", "std": 0.5}, init.normal, {"std": 0.5}),
    ({"name": "zeros"}, init.zeros, {}),
])
def test_linear_init_by_dict(spec, fn, options):
    before = dict(spec)
    layer = Linear(30, 20, init=spec, rng=2, dtype=np.float64)
    expected = fn((30, 20), np.random.default_rng(2), **options)
    np.testing.assert_array_equal(layer.W.data, expected)
    if options:      # the options really were used: the default call gives other numbers
        assert not np.array_equal(expected, fn((30, 20), np.random.default_rng(2)))
    assert spec == before, "the spec dict must not be modified"


def test_dict_spec_statistics_on_a_large_layer():
    layer = Linear(*SHAPE, init={"name": "kaiming_normal", "mode": "fan_out", "nonlinearity": "tanh"}, rng=0,
                   dtype=np.float64)
    assert layer.W.data.std() == pytest.approx((5.0 / 3.0) / math.sqrt(2000.0), rel=TOL)


@pytest.mark.parametrize("spec, pattern", [
    ("he_normal", "unknown init 'he_normal'"),
    ("", "unknown init"),
    (None, "unknown init None"),
    (42, "unknown init 42"),
    ({"mode": "fan_in"}, "unknown init None"),
    ({"name": "glorot"}, "unknown init 'glorot'"),
    ({"name": "kaiming_normal", "mode": "fan_avg"}, "mode must be 'fan_in' or 'fan_out'; got 'fan_avg'"),
    ({"name": "kaiming_uniform", "nonlinearity": "swish"}, "unknown nonlinearity 'swish'"),
    ({"name": "kaiming_uniform", "nonlinearity": "ReLU"}, "unknown nonlinearity 'ReLU'"),
    ({"name": "xavier_normal", "mode": "fan_in"}, "has no option 'mode'"),
    ({"name": "normal", "sd": 0.1}, "has no option 'sd'"),
])
def test_bad_specs_raise_value_error(spec, pattern):
    with pytest.raises(ValueError, match=pattern):
        init.get(spec)
    with pytest.raises(ValueError, match=pattern):
        Linear(3, 2, init=spec)
    with pytest.raises(ValueError, match=pattern):
        MLP([3, 4, 2], init=spec)


def test_bad_options_raise_when_called_directly():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal((3, 2), rng, mode="fan_avg")
    with pytest.raises(ValueError, match="nonlinearity"):
        init.kaiming_uniform((3, 2), rng, nonlinearity="gelu")
    with pytest.raises(ValueError, match="2-D"):
        init.xavier_uniform((3,), rng)


# ---------------------------------------------------------------- no global state
def _global_state():
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return name, keys.copy(), pos, has_gauss, cached


def _assert_same_state(before, after):
    assert before[0] == after[0] and before[2:] == after[2:], "np.random global state moved"
    np.testing.assert_array_equal(before[1], after[1], err_msg="np.random global state was reseeded")


@pytest.fixture
def mid_stream_global_state():
    """Park the legacy global RandomState mid-stream, where no ``np.random.seed(...)`` call can
    land (a reseed always restarts the stream), and restore the caller's state afterwards."""
    saved = np.random.get_state()
    np.random.seed(20240229)
    np.random.random(3)
    yield
    np.random.set_state(saved)


def test_building_layers_and_models_leaves_the_global_random_state_alone(mid_stream_global_state):
    before = _global_state()
    for fn in init.NAMES.values():
        fn((5, 4), np.random.default_rng(0))
    Linear(5, 4)                                   # rng=None: fresh entropy, not the global state
    Linear(5, 4, rng=1, init={"name": "kaiming_normal", "mode": "fan_out"})
    MLP([5, 4, 3])
    MLP([5, 4, 3], activation="tanh", init="xavier_normal", rng=2)
    SoftmaxRegression()                            # the course's RandomState(1024) is a private one
    TwoLayerNet(8)
    _assert_same_state(before, _global_state())


@pytest.mark.parametrize("careless", [lambda: np.random.random(), lambda: np.random.seed(0),
                                      lambda: np.random.seed(20240229)], ids=["draw", "seed", "same seed"])
def test_the_state_check_can_fail(mid_stream_global_state, careless):
    before = _global_state()
    careless()                                     # what a careless initializer might do
    with pytest.raises(AssertionError):
        _assert_same_state(before, _global_state())
