"""``Optimizer``: the one update contract every rule shares.

An optimizer holds a list of Parameters.  ``step()`` reads each ``p.grad``
and changes ``p.data`` in place; that is all it knows about the model, so the
same rule moves a network's weights or a 2-D point on a test surface.

Per-parameter state (momentum buffers, moment estimates) lives in
``self.state[p]``, a dict keyed by the Parameter object itself: two models, or
two optimizers, never share state by accident.
"""
from __future__ import annotations

import math

import numpy as np

from minidl.parameter import Parameter


def _check(name: str, value: float, low: float = 0.0, high: float | None = None,
           low_open: bool = False, high_open: bool = True) -> float:
    """Validate a hyperparameter against [low, high) (or other ends) with a clear message."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    ok = math.isfinite(value) and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = "inf)" if high is None else (f"{high})" if high_open else f"{high}]")
        raise ValueError(f"{name} must be in {lo}{low}, {hi}; got {value}")
    return value


class Optimizer:
    """Base class.  Subclasses implement ``_update(p, g, state)``.

    Args:
        params: an iterable of Parameters, or a model (anything with ``.parameters()``).
        lr:     learning rate, >= 0.
        weight_decay: L2 coefficient; ``g += weight_decay * p`` for parameters
                with ``decay=True`` (weights), and not for biases (``decay=False``)
                unless ``decay_biases``.
        decay_biases: apply weight_decay to every parameter, biases included, as
                ``torch.optim`` does (it knows no weights from biases).
    """

    def __init__(self, params, lr: float, weight_decay: float = 0.0, decay_biases: bool = False):
        if hasattr(params, "parameters"):
            params = params.parameters()
        self.params: list[Parameter] = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"optimizer parameter {i} is a {type(p).__name__}, not a minidl Parameter")
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        self.lr = _check("lr", lr)
        self.weight_decay = _check("weight_decay", weight_decay)
        self.decay_biases = bool(decay_biases)
        self.state: dict[Parameter, dict] = {}
        self.schedulers: list = []      # the lr schedulers attached to it: each LRScheduler adds itself

    def zero_grad(self) -> None:
        """Forget the gradients (backward passes overwrite them anyway)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        wd = self.weight_decay
        for p in self.params:
            g = p.grad
            if g is None:
                continue
            if wd and (p.decay or self.decay_biases):
                g = g + wd * p.data           # L2: d/dp (wd/2 ||p||^2) = wd p
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {}
            self._update(p, g, state)

    def _update(self, p: Parameter, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    # ---- checkpointing -----------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat ``{key: array}`` dict (savable with ``np.savez``, loadable without pickle).

        Keys: ``lr``, and ``<param index>.<state name>`` for each per-parameter entry.
        """
        out = {"lr": np.asarray(self.lr)}
        for i, p in enumerate(self.params):
            for key, value in self.state.get(p, {}).items():
                out[f"{i}.{key}"] = np.array(value)
        return out

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned.

        Refuses (ValueError) a missing or non-scalar ``lr``, an index past the
        parameters, and per-parameter state that is not what this optimizer
        keeps (``state_shapes``): every parameter has all of it, with its
        shapes and floating-point buffers, or - before the first step - none has any.
        """
        if "lr" not in state:
            raise ValueError("optimizer state has no 'lr' entry")
        if np.ndim(state["lr"]):
            raise ValueError(f"optimizer state 'lr' must be one number; got shape {np.shape(state['lr'])}")
        lr = _check("lr", state["lr"])
        loaded: list[dict] = [{} for _ in self.params]
        for key, value in state.items():
            if key == "lr":
                continue
            index, _, name = key.partition(".")
            if not index.isdigit() or int(index) >= len(self.params) or not name:
                raise ValueError(f"optimizer state key {key!r} does not match the {len(self.params)} parameters")
            loaded[int(index)][name] = np.array(value)
        if any(loaded):
            for i, (p, entries) in enumerate(zip(self.params, loaded)):
                self._check_state(i, entries, self.state_shapes(p))
        self.lr = lr
        self.state = {p: {name: value.astype(p.dtype) if value.ndim else value.item()
                          for name, value in entries.items()}
                      for p, entries in zip(self.params, loaded) if entries}

    def state_shapes(self, p: Parameter) -> dict[str, tuple]:
        """What ``self.state[p]`` holds after a step: ``{name: shape}``, ``()`` for a number."""
        return {}

    def _check_state(self, i: int, entries: dict, expected: dict) -> None:
        """Refuse parameter ``i``'s loaded state unless it has exactly the ``expected`` names and shapes."""
        name = type(self).__name__
        if sorted(entries) != sorted(expected):
            raise ValueError(f"optimizer state of parameter {i} has {sorted(entries) or 'no entries'}; "
                             f"{name} keeps {sorted(expected) or 'none'}")
        for key, value in entries.items():
            if value.shape != expected[key]:
                raise ValueError(f"optimizer state '{i}.{key}' has shape {value.shape}; expected {expected[key]}")
            if value.dtype.kind not in ("f" if value.ndim else "fiu"):      # buffers; or a number (Adam's step)
                raise ValueError(f"optimizer state '{i}.{key}' has dtype {value.dtype}; expected "
                                 + ("floating-point" if value.ndim else "a number"))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(lr={self.lr}, weight_decay={self.weight_decay}"
                f"{', decay_biases=True' if self.decay_biases else ''})")
