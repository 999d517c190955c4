"""Weight decay (L2) in every optimizer: on weights always, on biases only with ``decay_biases``.

As in tests/test_optim.py (whose ``_trajectory`` runs them), every expected value
is worked out by hand in the comments, on a one-entry Parameter with fixed
gradients; ``decay=False`` makes it a bias.
"""
import numpy as np
import pytest

from test_optim import _trajectory

from minidl import Parameter
from minidl.optim import SGD, Adagrad, Adam, RMSprop


def test_sgd_weight_decay_applies_to_weights_and_skips_biases():
    # wd = 0.1, lr = 0.1, p starts at 2, gradient 1 each step
    # weight: g = 1 + 0.1*2    = 1.2    p = 2    - 0.12   = 1.88
    #         g = 1 + 0.1*1.88 = 1.188  p = 1.88 - 0.1188 = 1.7612
    # bias:   g = 1                     p = 1.9, then 1.8
    weight = _trajectory(lambda ps: SGD(ps, lr=0.1, weight_decay=0.1), [1, 1], start=2.0, decay=True)
    bias = _trajectory(lambda ps: SGD(ps, lr=0.1, weight_decay=0.1), [1, 1], start=2.0, decay=False)
    assert weight == pytest.approx([1.88, 1.7612], rel=1e-13)
    assert bias == pytest.approx([1.9, 1.8], rel=1e-13)


def test_sgd_weight_decay_enters_the_momentum_buffer():
    # wd = 0.1, mu = 0.9, lr = 0.1, p starts at 2, gradient 1
    # step 1: g = 1.2;    v = 1.2                    p = 2    - 0.12   = 1.88
    # step 2: g = 1.188;  v = 0.9*1.2 + 1.188 = 2.268  p = 1.88 - 0.2268 = 1.6532
    got = _trajectory(lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), [1, 1], start=2.0)
    assert got == pytest.approx([1.88, 1.6532], rel=1e-13)


def test_weight_decay_does_not_write_into_the_gradient():
    p = Parameter(np.array([2.0]))
    p.grad = grad = np.array([1.0])
    SGD([p], lr=0.1, weight_decay=0.1).step()
    # the step copies a gradient set by the caller into its arena (p.grad is then the arena's view)
    assert grad[0] == 1.0 and p.grad[0] == 1.0


def test_adam_weight_decay_is_l2_added_to_the_gradient():
    # wd = 0.5, p = 1, gradient 1: g = 1 + 0.5*1 = 1.5; first step is lr * 1.5 / (1.5 + eps)
    got = _trajectory(lambda ps: Adam(ps, lr=0.1, eps=0.1, weight_decay=0.5), [1.0])
    assert got == pytest.approx([1 - 0.1 * 1.5 / 1.6], rel=1e-13)
    bias = _trajectory(lambda ps: Adam(ps, lr=0.1, eps=0.1, weight_decay=0.5), [1.0], decay=False)
    assert bias == pytest.approx([1 - 0.1 * 1.0 / 1.1], rel=1e-13)


def test_decay_biases_puts_weight_decay_on_biases_as_torch_does():
    # torch.optim's weight_decay knows no biases: with decay_biases a bias (decay=False)
    # moves exactly as a weight does
    # SGD, wd = 0.1, lr = 0.1, p = 2, gradient 1: 2 -> 1.88 -> 1.7612 (as in the test above)
    sgd = lambda ps: SGD(ps, lr=0.1, weight_decay=0.1, decay_biases=True)
    assert _trajectory(sgd, [1, 1], start=2.0, decay=False) == pytest.approx([1.88, 1.7612], rel=1e-13)
    # Adam, wd = 0.5, p = 1, gradient 1: g = 1.5, first step lr * 1.5 / (1.5 + eps) (as for the weight above)
    adam = lambda ps: Adam(ps, lr=0.1, eps=0.1, weight_decay=0.5, decay_biases=True)
    assert _trajectory(adam, [1.0], decay=False) == pytest.approx([1 - 0.1 * 1.5 / 1.6], rel=1e-13)


@pytest.mark.parametrize("cls, kwargs", [(SGD, {"lr": 0.1, "momentum": 0.9}), (Adam, {"lr": 0.1}),
                                         (RMSprop, {"lr": 0.1}), (Adagrad, {"lr": 0.1})])
def test_every_optimizer_takes_decay_biases(cls, kwargs):
    # one bias Parameter, gradient 0: only the decay can move it, and only with decay_biases
    def final(decay_biases):
        return _trajectory(lambda ps: cls(ps, weight_decay=0.5, decay_biases=decay_biases, **kwargs),
                           [0.0, 0.0], start=1.0, decay=False)[-1]
    assert final(False) == 1.0
    assert final(True) < 1.0
    assert "decay_biases=True" in repr(cls([Parameter(np.zeros(1))], decay_biases=True, **kwargs))
    assert "decay_biases" not in repr(cls([Parameter(np.zeros(1))], **kwargs))
