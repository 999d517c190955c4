"""Optimizers and learning-rate schedulers (torch.optim semantics).

Every optimizer follows one contract (``minidl.optim.base.Optimizer``):
``step()`` moves each Parameter's ``data`` using its ``grad``.
"""
from minidl.optim.adagrad import Adagrad
from minidl.optim.adam import Adam
from minidl.optim.base import Optimizer
from minidl.optim.rmsprop import RMSprop
from minidl.optim.schedulers import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from minidl.optim.sgd import SGD

OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}
SCHEDULERS = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adagrad",
           "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "OPTIMIZERS", "SCHEDULERS"]
