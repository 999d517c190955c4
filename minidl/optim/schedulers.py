"""Learning-rate schedulers, with ``torch.optim.lr_scheduler`` semantics.

Create the scheduler after the optimizer; it remembers the optimizer's
initial rate as ``base_lr``.  Call ``step()`` once per *epoch*, after that
epoch's optimizer steps.  After e calls, the rate is:

    StepLR:             base_lr * gamma ** (e // step_size)
    ExponentialLR:      base_lr * gamma ** e
    CosineAnnealingLR:  eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2
"""
from __future__ import annotations

import math

from minidl.optim.base import Optimizer, _check


class LRScheduler:
    """Base class: subclasses define ``lr_at(epoch)``."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a scheduler needs a minidl Optimizer; got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The current rate, as a one-element list (torch returns one per parameter group)."""
        return [self.optimizer.lr]

    def state_dict(self) -> dict:
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned: ValueError for a bad ``base_lr`` or epoch count."""
        last_epoch = state["last_epoch"]
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < 0:
            raise ValueError(f"scheduler state last_epoch must be a whole number >= 0; got {last_epoch!r}")
        self.base_lr = _check("base_lr", state["base_lr"])
        self.last_epoch = int(last_epoch)
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer)
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"step_size must be a positive integer; got {step_size!r}")
        self.step_size = int(step_size)
        self.gamma = _check("gamma", gamma, 0.0, low_open=True)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)

    def __repr__(self):
        return f"StepLR(step_size={self.step_size}, gamma={self.gamma})"


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        super().__init__(optimizer)
        self.gamma = _check("gamma", gamma, 0.0, low_open=True)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** epoch

    def __repr__(self):
        return f"ExponentialLR(gamma={self.gamma})"


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs
    (and back up over the next ``T_max``, as torch does)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        super().__init__(optimizer)
        if int(T_max) != T_max or T_max < 1:
            raise ValueError(f"T_max must be a positive integer; got {T_max!r}")
        self.T_max = int(T_max)
        self.eta_min = _check("eta_min", eta_min)

    def lr_at(self, epoch):
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2

    def __repr__(self):
        return f"CosineAnnealingLR(T_max={self.T_max}, eta_min={self.eta_min})"
