"""The arena (minidl/arena.py): parameters and gradients as views of two flat buffers.

Every test trains two copies of a network side by side: one steps its whole model at
once through the arena (``opt.step()``), the other parameter by parameter
(``opt._step_each()``, the same rule on each parameter's own arrays).  Whatever is
done to the model in between (loading a state, converting the dtype, the analysis
tools, a checkpoint and resume), the two must stay equal bit for bit, and after
each step every ``p.data`` must again be a view of the arena.
"""
from __future__ import annotations

import numpy as np
import pytest

from minidl.analysis.jacobian import input_jacobian
from minidl.analysis.params import flatten_params, perturb, unflatten_params
from minidl.arena import Arena
from minidl.losses import SoftmaxCrossEntropy
from minidl.models import MLP
from minidl.optim import SGD, Adagrad, Adam, RMSprop
from minidl.parameter import Parameter

OPTIMIZERS = {
    "sgd": lambda m: SGD(m, lr=0.1),
    "momentum_wd": lambda m: SGD(m, lr=0.05, momentum=0.9, weight_decay=1e-2),
    "nesterov_decay_biases": lambda m: SGD(m, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2,
                                           decay_biases=True),
    "adam_wd": lambda m: Adam(m, lr=1e-2, weight_decay=1e-3),
    "adam_amsgrad": lambda m: Adam(m, lr=1e-2, amsgrad=True),
    "rmsprop_centered_momentum": lambda m: RMSprop(m, lr=1e-3, centered=True, momentum=0.5),
    "adagrad": lambda m: Adagrad(m, lr=1e-2, weight_decay=1e-3),
}

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 40)


def _pair(make_opt):
    """Two equal networks with their optimizers: (whole-model, parameter-by-parameter)."""
    nets = [MLP([6, 5, 4, 3], activation="tanh", rng=1) for _ in range(2)]
    return [(net, make_opt(net)) for net in nets]


def _train(net, opt, steps, whole: bool, start: int = 0):
    loss = SoftmaxCrossEntropy()
    for s in range(start, start + steps):
        rows = np.arange(s * 8, s * 8 + 8) % len(X)
        loss.forward(net.forward(X[rows].astype(net.parameters()[0].dtype)), Y[rows])
        net.backward(loss.backward(), input_grad=False)
        opt.step() if whole else opt._step_each()


def _assert_same(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert p.data.dtype == q.data.dtype, name
        assert p.data.tobytes() == q.data.tobytes(), f"{name} differs"


def _assert_in_arena(net, opt):
    arena = opt.arena
    assert arena is not None and arena.holds()
    for p in net.parameters():
        assert p.data.base is arena.data or np.shares_memory(p.data, arena.data)
        assert p.grad is p.grad_slot and np.shares_memory(p.grad, arena.grad)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_whole_model_step_equals_the_parameter_by_parameter_step(name):
    (a, opt_a), (b, opt_b) = _pair(OPTIMIZERS[name])
    _train(a, opt_a, 6, whole=True)
    _train(b, opt_b, 6, whole=False)
    _assert_same(a, b)
    _assert_in_arena(a, opt_a)
    assert sorted(opt_a.state_dict()) == sorted(opt_b.state_dict())


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_views_stay_valid_through_load_state_dict(name):
    (a, opt_a), (b, opt_b) = _pair(OPTIMIZERS[name])
    _train(a, opt_a, 3, whole=True)
    _train(b, opt_b, 3, whole=False)
    model_state, opt_state = a.state_dict(), opt_a.state_dict()
    a.load_state_dict(model_state)                  # rebinds every p.data: the arena no longer holds them
    opt_a.load_state_dict(opt_state)
    assert not opt_a.arena.holds()
    _train(a, opt_a, 3, whole=True, start=3)
    _train(b, opt_b, 3, whole=False, start=3)
    _assert_same(a, b)
    _assert_in_arena(a, opt_a)


@pytest.mark.parametrize("name", ["sgd", "adam_wd"])
def test_views_stay_valid_through_astype(name):
    (a, opt_a), (b, opt_b) = _pair(OPTIMIZERS[name])
    _train(a, opt_a, 2, whole=True)
    _train(b, opt_b, 2, whole=False)
    for net, opt in ((a, opt_a), (b, opt_b)):
        net.astype(np.float64)
    # the whole-model step rebuilds its arena, and its state, in float64; the reference
    # converts its state the documented way, by loading it (load_state_dict casts to p.dtype)
    opt_b.load_state_dict(opt_b.state_dict())
    _train(a, opt_a, 3, whole=True, start=2)
    _train(b, opt_b, 3, whole=False, start=2)
    _assert_same(a, b)
    assert opt_a.arena.dtype == np.float64
    _assert_in_arena(a, opt_a)


@pytest.mark.parametrize("name", ["momentum_wd", "adam_wd"])
def test_views_stay_valid_through_the_analysis_tools(name):
    (a, opt_a), (b, opt_b) = _pair(OPTIMIZERS[name])
    for net, opt, whole in ((a, opt_a, True), (b, opt_b, False)):
        _train(net, opt, 2, whole)
        theta = flatten_params(net)
        unflatten_params(net, theta * 0.5)          # rebinds p.data
        perturb(net, 0.01, np.random.default_rng(3))  # in place
        _train(net, opt, 2, whole, start=2)
        loss = SoftmaxCrossEntropy()
        loss.forward(net.forward(X[:8]), Y[:8])
        net.backward(loss.backward(), input_grad=False)
        input_jacobian(net, X[:2])                  # backward passes of its own; must leave p.grad as it was
        opt.step() if whole else opt._step_each()
    _assert_same(a, b)
    _assert_in_arena(a, opt_a)


def test_a_checkpoint_resumes_into_a_new_arena(tmp_path):
    from minidl.training.checkpoint import restore, save_checkpoint
    (a, opt_a), (b, opt_b) = _pair(OPTIMIZERS["adam_wd"])
    _train(a, opt_a, 3, whole=True)
    save_checkpoint(tmp_path / "last.npz", a, opt_a, meta={"epoch": 1})
    c = MLP([6, 5, 4, 3], activation="tanh", rng=99)
    opt_c = Adam(c, lr=1e-2, weight_decay=1e-3)
    restore(tmp_path / "last.npz", c, opt_c)
    _train(a, opt_a, 3, whole=True, start=3)
    _train(c, opt_c, 3, whole=True, start=3)
    _assert_same(a, c)
    _assert_in_arena(c, opt_c)


def test_a_missing_gradient_falls_back_to_the_parameter_by_parameter_step():
    (a, opt_a), (b, opt_b) = _pair(OPTIMIZERS["adam_wd"])
    _train(a, opt_a, 2, whole=True)
    _train(b, opt_b, 2, whole=False)
    for net, opt in ((a, opt_a), (b, opt_b)):
        net.parameters()[1].grad = None             # one bias gets no update, and its Adam step lags
        opt.step() if net is a else opt._step_each()
    _train(a, opt_a, 2, whole=True, start=3)
    _train(b, opt_b, 2, whole=False, start=3)
    _assert_same(a, b)
    steps = {int(v) for k, v in opt_a.state_dict().items() if k.endswith(".step")}
    assert steps == {4, 5}


def test_a_gradient_assigned_by_the_caller_is_copied_in():
    p = Parameter(np.array([1.0, 2.0]))
    opt = SGD([p], lr=0.5)
    p.grad = grad = np.array([2.0, 4.0])
    opt.step()
    assert p.data.tolist() == [0.0, 0.0] and grad.tolist() == [2.0, 4.0]
    assert p.grad is p.grad_slot


def test_layout_puts_the_decayed_parameters_first_on_aligned_stretches():
    net = MLP([6, 5, 3], rng=0)
    arena = Arena(net.parameters())
    W0, b0, W1, b1 = net.parameters()
    starts = [p.data.ctypes.data - arena.data.ctypes.data for p in (W0, W1, b0, b1)]
    assert starts == sorted(starts) and all(s % 64 == 0 for s in starts)
    assert arena.decay_end * 4 <= starts[2]          # the biases start after the decay prefix
    assert not arena.data[arena.decay_end:starts[2] // 4].any()


def test_parameters_of_two_dtypes_step_one_by_one():
    p, q = Parameter(np.ones(2, np.float32)), Parameter(np.ones(2, np.float64))
    opt = Adam([p, q], lr=0.1)
    assert opt.arena is None
    p.grad, q.grad = np.ones(2, np.float32), np.ones(2, np.float64)
    opt.step()
    assert np.allclose(p.data, 0.9) and np.allclose(q.data, 0.9)


def test_an_arena_refuses_mixed_dtypes():
    with pytest.raises(ValueError, match="one dtype"):
        Arena([Parameter(np.ones(2, np.float32)), Parameter(np.ones(2, np.float64))])
