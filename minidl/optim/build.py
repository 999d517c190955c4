"""One builder for every optimizer and scheduler named in a config.

    build_optimizer({"type": "sgd", "lr": 0.1, "momentum": 0.9}, model.parameters())
    == SGD(model.parameters(), lr=0.1, momentum=0.9)

The main job, the Neuromatch studies and the optimizer race all build their
optimizers here, from a *spec*: a dict with the registry name under ``type``
and the constructor's keyword arguments beside it.
"""
from __future__ import annotations

import inspect

from minidl.optim.adagrad import Adagrad
from minidl.optim.adam import Adam
from minidl.optim.rmsprop import RMSprop
from minidl.optim.schedulers import CosineAnnealingLR, ExponentialLR, StepLR
from minidl.optim.sgd import SGD

__all__ = ["OPTIMIZERS", "SCHEDULERS", "build_optimizer", "build_scheduler"]

OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}
SCHEDULERS = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}


def _build(registry: dict, what: str, spec: dict, first):
    if not isinstance(spec, dict):
        raise ValueError(f"a {what} spec is a mapping like {{type: ..., <options>}}; got {spec!r}")
    options = dict(spec)
    kind = options.pop("type", None)
    if kind not in registry:
        raise ValueError(f"unknown {what} type {kind!r}; expected one of {sorted(registry)}")
    cls = registry[kind]
    allowed = list(inspect.signature(cls).parameters)[1:]
    unknown = [key for key in options if key not in allowed]
    if unknown:
        raise ValueError(f"{what} {kind!r} has no option {unknown[0]!r}; its options are {allowed}")
    # YAML has no tuples: betas: [0.9, 0.99] arrives as a list
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        return cls(first, **options)
    except TypeError as exc:           # a required option is missing, e.g. an SGD without lr
        raise ValueError(f"{what} {kind!r}: {exc}") from None


def build_optimizer(spec: dict, params):
    """``{type, <options>}`` -> that optimizer over ``params``; ValueError names a bad type or option."""
    return _build(OPTIMIZERS, "optimizer", spec, params)


def build_scheduler(spec: dict, optimizer):
    """``{type: step | exponential | cosine, <options>}`` -> that lr scheduler of ``optimizer``."""
    return _build(SCHEDULERS, "scheduler", spec, optimizer)
