"""Weight initializers.

Every initializer has the signature ``f(shape, rng, **options) -> ndarray``
and returns a *new* float64 array; the layer casts it to its own dtype, so the
same seed gives the same numbers in float32 and float64.  Randomness always
comes from the ``np.random.Generator`` you pass: nothing here seeds anything.

Layout and fans
---------------
minidl stores a Linear weight as ``W`` of shape ``(in_features, out_features)``
so that ``y = x @ W + b``.  PyTorch stores the transpose, ``(out, in)``.
Therefore, for a 2-D shape ``(D_in, D_out)``::

    fan_in  = shape[0]   (torch: weight.shape[1])
    fan_out = shape[1]   (torch: weight.shape[0])

With that mapping every formula below gives the same distribution as the
function of the same name in ``torch.nn.init``.

A Conv2d weight has torch's own layout, ``(out_channels, in_channels, kH, kW)``,
and torch's fans: each output sees ``in_channels * kH * kW`` inputs, each input
reaches ``out_channels * kH * kW`` outputs::

    fan_in  = shape[1] * shape[2] * shape[3]
    fan_out = shape[0] * shape[2] * shape[3]

Gains (``calculate_gain``), as in torch::

    linear, sigmoid: 1     tanh: 5/3     relu: sqrt(2)
    leaky_relu(a): sqrt(2 / (1 + a^2))
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = [
    "zeros", "normal", "xavier_normal", "xavier_uniform",
    "kaiming_normal", "kaiming_uniform", "calculate_gain", "get", "NAMES",
]

_GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}


def calculate_gain(nonlinearity: str, a: float = 0.0) -> float:
    """The recommended gain for a nonlinearity (torch.nn.init.calculate_gain)."""
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + a * a))
    try:
        return _GAINS[nonlinearity]
    except KeyError:
        valid = sorted([*_GAINS, "leaky_relu"])
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of {valid}") from None


def _fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (D_in, D_out), or of a conv weight (C_out, C_in, kH, kW)."""
    if len(shape) == 4:
        receptive = int(shape[2]) * int(shape[3])
        return int(shape[1]) * receptive, int(shape[0]) * receptive
    if len(shape) != 2:
        raise ValueError(f"fan-based initializers need a 2-D weight shape (D_in, D_out) or a conv weight shape "
                         f"(C_out, C_in, kH, kW); got {tuple(shape)}")
    return int(shape[0]), int(shape[1])


def _fan(shape, mode: str) -> int:
    fan_in, fan_out = _fans(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out'; got {mode!r}")


def zeros(shape, rng: np.random.Generator | None = None) -> np.ndarray:
    """All zeros.  ``rng`` is accepted (and ignored) so every initializer has one signature."""
    return np.zeros(shape, dtype=np.float64)


def normal(shape, rng: np.random.Generator, std: float = 0.01, mean: float = 0.0) -> np.ndarray:
    """N(mean, std^2) entries."""
    return rng.normal(mean, std, size=shape)


def xavier_normal(shape, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=shape)


def xavier_uniform(shape, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


def kaiming_normal(shape, rng: np.random.Generator, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu", a: float = 0.0) -> np.ndarray:
    """He normal: N(0, std^2), std = gain / sqrt(fan), fan chosen by ``mode``."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    return rng.normal(0.0, std, size=shape)


def kaiming_uniform(shape, rng: np.random.Generator, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", a: float = 0.0) -> np.ndarray:
    """He uniform: U(-b, b), b = gain * sqrt(3 / fan), fan chosen by ``mode``."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(shape, mode))
    return rng.uniform(-bound, bound, size=shape)


NAMES: dict[str, Callable] = {
    "zeros": zeros, "normal": normal,
    "xavier_normal": xavier_normal, "xavier_uniform": xavier_uniform,
    "kaiming_normal": kaiming_normal, "kaiming_uniform": kaiming_uniform,
}


def get(spec) -> Callable:
    """Turn an init spec into a callable ``f(shape, rng)``.

    ``spec`` is a callable (returned as is), a name such as ``'xavier_normal'``,
    or a mapping ``{'name': 'kaiming_uniform', 'mode': 'fan_out', 'nonlinearity': 'relu'}``
    whose other keys are passed to the initializer (the form YAML configs use).
    """
    if callable(spec):
        return spec
    options = {}
    if isinstance(spec, dict):
        options = dict(spec)
        spec = options.pop("name", None)
    if not isinstance(spec, str) or spec not in NAMES:
        raise ValueError(f"unknown init {spec!r}; expected one of {sorted(NAMES)} or a callable")
    fn = NAMES[spec]
    if not options:
        return fn
    import inspect
    allowed = list(inspect.signature(fn).parameters)[2:]
    for key in options:
        if key not in allowed:
            raise ValueError(f"init {spec!r} has no option {key!r}; its options are {allowed}")
    if "nonlinearity" in options:
        calculate_gain(options["nonlinearity"], options.get("a", 0.0))  # validate early
    if "mode" in options:
        _fan((1, 1), options["mode"])

    def initializer(shape, rng):
        return fn(shape, rng, **options)

    initializer.__name__ = spec
    initializer.options = options
    return initializer
