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


# ---- several schedulers on one optimizer: torch's chainable form ----------------------------------

def _torch_chained(base_lr, schedulers, epochs):
    """PyTorch's recursive ``get_lr`` (torch/optim/lr_scheduler.py), transcribed: each step, every scheduler in
    turn maps the current rate lr to the next.  ``schedulers``: ("cosine", T_max, eta_min), ("exp", gamma) or
    ("step", step_size, gamma), stepped in that order, as torch's ChainedScheduler does."""
    import math
    lr, rates = base_lr, [base_lr]
    for e in range(1, epochs + 1):
        for kind, *args in schedulers:
            if kind == "exp":
                lr = lr * args[0]
            elif kind == "step":
                lr = lr * args[1] if e % args[0] == 0 else lr
            else:
                T, eta_min = args
                if (e - 1 - T) % (2 * T) == 0:
                    lr = lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                else:
                    ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
                    lr = ratio * (lr - eta_min) + eta_min
        rates.append(lr)
    return rates


def _chained_rates(lr, makers, epochs):
    opt = _optimizer(lr)
    schedulers = [make(opt) for make in makers]
    rates = [opt.lr]
    for _ in range(epochs):
        for scheduler in schedulers:
            scheduler.step()
        rates.append(opt.lr)
    return rates


def test_cosine_chained_with_exponential_matches_torch():
    # SGD lr 0.1; CosineAnnealingLR(T_max 6, eta_min 0.01), then ExponentialLR(0.9), both stepped each epoch.
    # epoch 1: cosine 0.01 + (0.1 - 0.01) (1 + cos(pi/6)) / (1 + cos 0) = 0.01 + 0.09 * 0.9330127 = 0.0939711;
    #          exponential 0.0939711 * 0.9 = 0.0845740.  (Each scheduler's own closed form, the last one
    #          setting the rate, would give ExponentialLR's 0.1 * 0.9 = 0.09: 5.4e-3 off.)
    # epoch 2: cosine 0.01 + (0.0845740 - 0.01) (1 + cos(pi/3)) / (1 + cos(pi/6)) = 0.0699462;  * 0.9 = 0.0629515
    # epoch 7 is the step off the bottom (e - 1 = T_max): lr + (0.1 - 0.01) (1 - cos(pi/6)) / 2, then * 0.9.
    # The values are torch 2.13's, which the transcription above reproduces bit for bit.
    torch_rates = [0.1, 0.08457402885326978, 0.06295153718043599, 0.04077092230826159, 0.022846915038717722,
                   0.012098088458870091, 0.009000000000000001, 0.013525971146730235, 0.02084319311905723,
                   0.028517747614303025, 0.03399895927930909, 0.03586960060774742, 0.033954258928901776,
                   0.029114665060572417, 0.022828749479743803]
    assert _torch_chained(0.1, [("cosine", 6, 0.01), ("exp", 0.9)], 14) == pytest.approx(torch_rates, rel=1e-15)
    got = _chained_rates(0.1, [lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.01),
                               lambda o: ExponentialLR(o, gamma=0.9)], 14)
    assert got == pytest.approx(torch_rates, rel=1e-13)


@pytest.mark.parametrize("lr, specs, makers", [
    (0.1, [("exp", 0.9), ("cosine", 6, 0.01)],                   # the other order gives other rates
     [lambda o: ExponentialLR(o, gamma=0.9), lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.01)]),
    (0.1, [("step", 3, 0.5), ("exp", 0.9)],
     [lambda o: StepLR(o, step_size=3, gamma=0.5), lambda o: ExponentialLR(o, gamma=0.9)]),
    (1.0, [("cosine", 2, 0.0), ("exp", 0.5)],                    # two periods: the bottom step at e = 3 and 7
     [lambda o: CosineAnnealingLR(o, T_max=2), lambda o: ExponentialLR(o, gamma=0.5)]),
], ids=["exponential-then-cosine", "step-and-exponential", "short-cosine-and-exponential"])
def test_chained_schedulers_follow_torchs_recursive_form(lr, specs, makers):
    assert _chained_rates(lr, makers, 14) == pytest.approx(_torch_chained(lr, specs, 14), rel=1e-13, abs=1e-17)


def test_one_scheduler_keeps_the_closed_form():
    opt = _optimizer(0.1)
    cosine = CosineAnnealingLR(opt, T_max=6, eta_min=0.01)
    assert opt.schedulers == [cosine] and not cosine.chained
    for epoch in range(1, 15):
        cosine.step()
        assert opt.lr == cosine.lr_at(epoch)          # exactly, with no recursion's rounding


def test_a_later_scheduler_shares_the_first_ones_base_lr():
    # torch keeps the optimizer's initial_lr from the first scheduler: a second one created after two
    # steps still starts its bottom-of-period rise from 0.1, not from the rate of the moment
    opt = _optimizer(0.1)
    first = StepLR(opt, step_size=1, gamma=0.5)
    first.step()
    first.step()
    assert opt.lr == 0.025
    second = CosineAnnealingLR(opt, T_max=3)
    assert second.base_lr == 0.1 and first.chained and second.chained


def test_a_rejected_scheduler_does_not_attach():
    opt = _optimizer(0.1)
    with pytest.raises(ValueError, match="T_max"):
        CosineAnnealingLR(opt, T_max=0)
    assert opt.schedulers == []
    assert not ExponentialLR(opt, gamma=0.9).chained


def test_chained_state_round_trip_continues_the_same_rates():
    def make(opt):
        return [CosineAnnealingLR(opt, T_max=6, eta_min=0.01), ExponentialLR(opt, gamma=0.9)]
    opt = _optimizer(0.1)
    schedulers = make(opt)
    for _ in range(4):
        for s in schedulers:
            s.step()
    saved_opt, saved = opt.state_dict(), [s.state_dict() for s in schedulers]
    resumed_opt = _optimizer(0.1)
    resumed = make(resumed_opt)
    resumed_opt.load_state_dict(saved_opt)           # chained, the rate is the optimizer's own state
    for s, state in zip(resumed, saved):
        s.load_state_dict(state)
    assert resumed_opt.lr == opt.lr
    for _ in range(6):
        for a, b in zip(schedulers, resumed):
            a.step()
            b.step()
        assert resumed_opt.lr == opt.lr
