"""Learning-rate schedulers, with ``torch.optim.lr_scheduler`` semantics.

Create the scheduler after the optimizer; the first scheduler attached to an
optimizer remembers its initial rate as ``base_lr`` (torch's ``initial_lr``),
and later ones share it.  Call ``step()`` once per *epoch*, after that epoch's
optimizer steps.

With one scheduler on the optimizer, the rate after e calls is the closed form:

    StepLR:             base_lr * gamma ** (e // step_size)
    ExponentialLR:      base_lr * gamma ** e
    CosineAnnealingLR:  eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2

With several on one optimizer (say a cosine and an exponential decay), each
``step()`` changes the *current* rate lr instead, as torch's chainable form
does, so that their effects compose:

    StepLR:             lr * gamma    when e is a multiple of step_size, else lr
    ExponentialLR:      lr * gamma
    CosineAnnealingLR:  eta_min + (lr - eta_min) * (1 + cos(pi * e / T_max)) / (1 + cos(pi * (e - 1) / T_max)),
                        or lr + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2 at the bottom of a
                        period (e - 1 - T_max a multiple of 2 T_max), where that ratio would be 0 / 0

For one scheduler the two forms agree up to rounding (the cosine ratio
telescopes to the closed form); the closed form is kept there because it does
not accumulate that rounding.
"""
from __future__ import annotations

import math

from minidl.optim.base import Optimizer, _check


class LRScheduler:
    """Base class: subclasses define the closed form ``lr_at(epoch)`` and the
    chainable form ``chained_lr(lr, epoch)`` (the rate after step ``epoch``,
    given the current rate ``lr``)."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a scheduler needs a minidl Optimizer; got {type(optimizer).__name__}")
        self.optimizer = optimizer
        attached = optimizer.schedulers
        # torch sets initial_lr once, from the first scheduler; every later one reads it
        self.base_lr = attached[0].base_lr if attached else optimizer.lr
        attached.append(self)
        self.last_epoch = 0

    @property
    def chained(self) -> bool:
        """True when another scheduler drives the same optimizer (the chainable form applies)."""
        return len(self.optimizer.schedulers) > 1

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def chained_lr(self, lr: float, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's rate."""
        self.last_epoch += 1
        if self.chained:
            self.optimizer.lr = self.chained_lr(self.optimizer.lr, self.last_epoch)
        else:
            self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The current rate, as a one-element list (torch returns one per parameter group)."""
        return [self.optimizer.lr]

    def state_dict(self) -> dict:
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``: ValueError for a bad ``base_lr`` or epoch count.  Alone, the scheduler
        also sets the optimizer's rate from its closed form; chained, the rate is the optimizer's own
        state (restore that too)."""
        last_epoch = state["last_epoch"]
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < 0:
            raise ValueError(f"scheduler state last_epoch must be a whole number >= 0; got {last_epoch!r}")
        self.base_lr = _check("base_lr", state["base_lr"])
        self.last_epoch = int(last_epoch)
        if not self.chained:
            self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"step_size must be a positive integer; got {step_size!r}")
        gamma = _check("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)
        self.step_size = int(step_size)
        self.gamma = gamma

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)

    def chained_lr(self, lr, epoch):
        return lr * self.gamma if epoch % self.step_size == 0 else lr

    def __repr__(self):
        return f"StepLR(step_size={self.step_size}, gamma={self.gamma})"


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        gamma = _check("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)
        self.gamma = gamma

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** epoch

    def chained_lr(self, lr, epoch):
        return lr * self.gamma

    def __repr__(self):
        return f"ExponentialLR(gamma={self.gamma})"


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs
    (and back up over the next ``T_max``, as torch does)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if int(T_max) != T_max or T_max < 1:
            raise ValueError(f"T_max must be a positive integer; got {T_max!r}")
        eta_min = _check("eta_min", eta_min)
        super().__init__(optimizer)
        self.T_max = int(T_max)
        self.eta_min = eta_min

    def lr_at(self, epoch):
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2

    def chained_lr(self, lr, epoch):
        T, eta_min = self.T_max, self.eta_min
        if (epoch - 1 - T) % (2 * T) == 0:
            # the step off the bottom (e - 1 = T, 3T, ...): the ratio below would be 0 / 0,
            # so torch adds the closed form's first rise, (base_lr - eta_min) (1 - cos(pi / T)) / 2
            return lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
        # closed form at e over closed form at e - 1, applied to the distance above eta_min
        ratio = (1 + math.cos(math.pi * epoch / T)) / (1 + math.cos(math.pi * (epoch - 1) / T))
        return ratio * (lr - eta_min) + eta_min

    def __repr__(self):
        return f"CosineAnnealingLR(T_max={self.T_max}, eta_min={self.eta_min})"
