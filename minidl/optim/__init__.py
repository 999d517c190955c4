"""Optimizers and learning-rate schedulers (torch.optim semantics).

Every optimizer follows one contract (``minidl.optim.base.Optimizer``):
``step()`` moves each Parameter's ``data`` using its ``grad``.
``build_optimizer(spec, params)`` makes one from a config's ``{type, <options>}``.
"""
from minidl.optim.adagrad import Adagrad
from minidl.optim.adam import Adam
from minidl.optim.base import Optimizer
from minidl.optim.build import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler
from minidl.optim.rmsprop import RMSprop
from minidl.optim.schedulers import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from minidl.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adagrad",
           "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "OPTIMIZERS", "SCHEDULERS",
           "build_optimizer", "build_scheduler"]
