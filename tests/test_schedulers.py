"""Learning-rate schedulers: torch's lr sequences worked out by hand, state round trips, validation."""
import numpy as np
import pytest

from minidl import Parameter
from minidl.optim import SGD, Adam, CosineAnnealingLR, ExponentialLR, StepLR


def _optimizer(lr):
    return SGD([Parameter(np.zeros(2))], lr=lr)


def _rates(scheduler, epochs=10):
    """[lr before any step, lr after 1 step, ..., lr after ``epochs`` steps]."""
    rates = scheduler.get_last_lr()[:]
    for _ in range(epochs):
        scheduler.step()
        rates += scheduler.get_last_lr()
    return rates


def test_step_lr_sequence():
    # base 1.0, gamma 0.5, step_size 3: lr = 0.5 ** (epoch // 3)
    #   epochs 0-2: 1.0   3-5: 0.5   6-8: 0.25   9-10: 0.125
    opt = _optimizer(1.0)
    got = _rates(StepLR(opt, step_size=3, gamma=0.5))
    assert got == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125], rel=1e-15)
    assert opt.lr == pytest.approx(0.125)


def test_step_lr_default_gamma_is_0_1():
    # base 0.5, step_size 2: 0.5, 0.5, 0.05, 0.05, 0.005
    assert _rates(StepLR(_optimizer(0.5), step_size=2), 4) == pytest.approx([0.5, 0.5, 0.05, 0.05, 0.005], rel=1e-12)


def test_exponential_lr_sequence():
    # base 0.1, gamma 0.5: 0.1 * 0.5 ** epoch
    got = _rates(ExponentialLR(_optimizer(0.1), gamma=0.5))
    assert got == pytest.approx([0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125, 0.0015625, 0.00078125,
                                 0.000390625, 0.0001953125, 0.00009765625], rel=1e-12)


def test_cosine_annealing_lr_sequence():
    # base 0.5, eta_min 0.1, T_max 4: lr = 0.1 + 0.4 * (1 + cos(pi * e / 4)) / 2
    #   cos(pi/4) = sqrt(2)/2   ->  0.1 + 0.2 * (1 + 0.70710678118654752) = 0.44142135623730950
    #   cos(pi/2) = 0           ->  0.3
    #   cos(3pi/4) = -sqrt(2)/2 ->  0.1 + 0.2 * (1 - 0.70710678118654752) = 0.15857864376269050
    #   cos(pi) = -1            ->  0.1 (the minimum at e = T_max), then back up as torch does
    got = _rates(CosineAnnealingLR(_optimizer(0.5), T_max=4, eta_min=0.1))
    up, down = 0.44142135623730950, 0.15857864376269050
    assert got == pytest.approx([0.5, up, 0.3, down, 0.1, down, 0.3, up, 0.5, up, 0.3], rel=1e-12)


def test_cosine_annealing_default_eta_min_is_zero():
    # base 1.0, T_max 2: 1, (1 + cos(pi/2))/2 = 0.5, 0
    assert _rates(CosineAnnealingLR(_optimizer(1.0), T_max=2), 2) == pytest.approx([1.0, 0.5, 0.0], abs=1e-15)


def test_get_last_lr_is_a_list_and_the_optimizer_uses_the_new_rate():
    p = Parameter(np.array([1.0]))
    opt = SGD([p], lr=1.0)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    last = scheduler.get_last_lr()
    assert isinstance(last, list) and last == [1.0]
    scheduler.step()
    assert scheduler.get_last_lr() == [0.5] and opt.lr == 0.5
    p.grad = np.array([1.0])
    opt.step()                          # p = 1 - 0.5 * 1
    assert p.data[0] == pytest.approx(0.5)


def test_scheduler_drives_adam_too():
    opt = Adam([Parameter(np.zeros(1))], lr=0.01)
    scheduler = ExponentialLR(opt, gamma=0.1)
    scheduler.step()
    scheduler.step()
    assert opt.lr == pytest.approx(1e-4) and scheduler.get_last_lr() == [opt.lr]


@pytest.mark.parametrize("make", [
    lambda opt: StepLR(opt, step_size=3, gamma=0.5),
    lambda opt: ExponentialLR(opt, gamma=0.9),
    lambda opt: CosineAnnealingLR(opt, T_max=5, eta_min=0.01),
], ids=["step", "exponential", "cosine"])
def test_state_dict_round_trip(make):
    first = make(_optimizer(0.2))
    for _ in range(4):
        first.step()
    state = first.state_dict()
    assert state == {"base_lr": 0.2, "last_epoch": 4}
    second_opt = _optimizer(7.0)        # a different starting rate: the state must win
    second = make(second_opt)
    second.load_state_dict(state)
    assert second.get_last_lr() == pytest.approx(first.get_last_lr(), rel=1e-15)
    assert second_opt.lr == pytest.approx(first.optimizer.lr, rel=1e-15)
    assert _rates(second, 6)[1:] == pytest.approx(_rates(first, 6)[1:], rel=1e-15)
    # without the state the sequences differ, so the comparison above is not vacuous
    assert _rates(make(_optimizer(7.0)), 6)[1:] != pytest.approx(_rates(make(_optimizer(0.2)), 6)[1:])


@pytest.mark.parametrize("make, pattern", [
    (lambda opt: StepLR(opt, step_size=0), "step_size"),
    (lambda opt: StepLR(opt, step_size=-2), "step_size"),
    (lambda opt: StepLR(opt, step_size=1.5), "step_size"),
    (lambda opt: StepLR(opt, step_size=2, gamma=0.0), "gamma"),
    (lambda opt: StepLR(opt, step_size=2, gamma=-0.5), "gamma"),
    (lambda opt: ExponentialLR(opt, gamma=0.0), "gamma"),
    (lambda opt: ExponentialLR(opt, gamma=-1.0), "gamma"),
    (lambda opt: ExponentialLR(opt, gamma=float("inf")), "gamma"),
    (lambda opt: CosineAnnealingLR(opt, T_max=0), "T_max"),
    (lambda opt: CosineAnnealingLR(opt, T_max=2.5), "T_max"),
    (lambda opt: CosineAnnealingLR(opt, T_max=10, eta_min=-0.1), "eta_min"),
])
def test_invalid_arguments_raise_value_error(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make(_optimizer(0.1))


@pytest.mark.parametrize("cls, kwargs", [(StepLR, {"step_size": 2}), (ExponentialLR, {"gamma": 0.5}),
                                         (CosineAnnealingLR, {"T_max": 3})])
def test_scheduler_needs_a_minidl_optimizer(cls, kwargs):
    with pytest.raises(TypeError, match="Optimizer"):
        cls(object(), **kwargs)
