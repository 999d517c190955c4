"""``Model.type: Sequential``: a network written as a list of layers, each size inferred.

    Model:
      type: Sequential
      input_shape: [1, 28, 28]          # one example; MNIST rows are reshaped to it (a view, no copy)
      layers:
        - Conv2d: {out_channels: 16, kernel_size: 5, padding: 2}
        - ReLU
        - MaxPool2d: 2                  # one value: the layer's first option
        - Flatten
        - Dropout: 0.3
        - Linear: {out_features: 10}

An entry is a layer's name, or ``{name: options}`` where options is a dict of
the layer's keyword arguments or one value for its first one.  What a layer
takes from the layer before it (``in_channels``, ``in_features``,
``num_features``) is filled in: a dummy batch goes through the network as it is
built, so every shape is known.  An MLP is written the same way, with
``input_shape: [784]`` and Linear layers.

Every mistake is a ConfigError naming the list index, before any training:
an unknown layer or option (with the closest valid name), a missing option, or
shapes that do not fit (``Model.layers[6] Linear needs flat (N, D) inputs; ...``).
"""
from __future__ import annotations

import difflib
import inspect

import numpy as np

from minidl import layers as L
from minidl.runs.config import ConfigError

__all__ = ["LAYERS", "build_sequential", "input_shape"]

LAYERS = {cls.__name__: cls for cls in (L.Linear, L.Conv2d, L.MaxPool2d, L.AvgPool2d, L.Flatten, L.Dropout,
                                        L.BatchNorm1d, L.BatchNorm2d, L.ReLU, L.LeakyReLU, L.Sigmoid, L.Tanh)}
# option filled in from the shape of one example coming in: (name, axis of that shape, the rank it needs)
INFERRED = {"Linear": ("in_features", 1), "Conv2d": ("in_channels", 3),
            "BatchNorm1d": ("num_features", 1), "BatchNorm2d": ("num_features", 3)}
# options the builder gives: the model's random stream and dtype
GIVEN = {"rng", "dtype"}


def input_shape(model_cfg: dict) -> tuple[int, ...]:
    """The shape of one example the Sequential model takes, e.g. (1, 28, 28)."""
    return tuple(int(d) for d in model_cfg["input_shape"])


def _closest(name: str, choices) -> str:
    match = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def _entry(entry, where: str) -> tuple[str, dict]:
    """``'ReLU'`` or ``{'Conv2d': {...}}`` or ``{'MaxPool2d': 2}`` -> (name, options)."""
    if isinstance(entry, str):
        name, options = entry, {}
    elif isinstance(entry, dict) and len(entry) == 1:
        (name, options), = entry.items()
    else:
        raise ConfigError(f"{where}: expected a layer name or {{name: options}}; got {entry!r}")
    if name not in LAYERS:
        raise ConfigError(f"{where}: unknown layer {name!r}{_closest(name, LAYERS)}; "
                          f"layers: {', '.join(LAYERS)}")
    if options is None:
        options = {}
    if not isinstance(options, dict):                 # one value: the first option a user gives
        first = [p for p in _options(name) if p not in GIVEN and p != INFERRED.get(name, ("",))[0]]
        if not first:
            raise ConfigError(f"{where}: {name} takes no options; got {options!r}")
        options = {first[0]: options}
    return name, dict(options)


def _options(name: str) -> list[str]:
    return [p for p in inspect.signature(LAYERS[name]).parameters if p != "self"]


def _check_options(name: str, options: dict, shape: tuple, where: str) -> dict:
    """The options with the inferred size filled in; ConfigError for unknown or misplaced ones."""
    allowed = [p for p in _options(name) if p not in GIVEN]
    inferred, rank = INFERRED.get(name, (None, None))
    for key in options:
        if key not in allowed or key == inferred:
            why = " (it is inferred from the layer before)" if key == inferred else _closest(key, allowed)
            raise ConfigError(f"{where}: {name} has no option {key!r}{why}; options: {', '.join(allowed)}")
    if inferred is not None:
        if len(shape) != rank:
            need = "flat (N, D) inputs; add Flatten before it" if rank == 1 else "images (N, C, H, W)"
            raise ConfigError(f"{where}: {name} needs {need}; the layer before gives examples of shape {shape}")
        options[inferred] = shape[0]
    return options


def build_sequential(model_cfg: dict, rng: np.random.Generator, dtype=np.float32, where: str = "config"):
    """The ``Sequential`` that ``model_cfg`` describes (see the module docstring)."""
    shape, entries = input_shape(model_cfg), model_cfg["layers"]
    if not entries:
        raise ConfigError(f"{where}: Model.layers is empty; list at least one layer")
    built = []
    for i, entry in enumerate(entries):
        at = f"{where}: Model.layers[{i}]"
        name, options = _entry(entry, at)
        options = _check_options(name, options, shape, at)
        params = _options(name)
        if "rng" in params:
            options["rng"] = rng.spawn(1)[0]
        if "dtype" in params:
            options["dtype"] = dtype
        try:
            layer = LAYERS[name](**options)
            out = layer.eval().forward(np.zeros((2, *shape), dtype=dtype))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{at}: {name}: {exc}") from None
        layer.train()
        shape = out.shape[1:]
        built.append(layer)
    return L.Sequential(*built)
