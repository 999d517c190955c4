"""``Optimizer``: the one update contract every rule shares.

An optimizer holds a list of Parameters.  ``step()`` reads each ``p.grad``
and changes ``p.data`` in place; that is all it knows about the model, so the
same rule moves a network's weights or a 2-D point on a test surface.

A rule is written once, as ``_update(data, g, state)`` on arrays, and runs in
one of two ways with the same arithmetic:

- **whole model** (the usual case): the optimizer keeps its parameters in an
  ``Arena`` (minidl/arena.py), one flat buffer of values and one of gradients,
  and applies the rule once to the two (S,) buffers: a fixed number of NumPy
  calls per step, however deep the network;
- **parameter by parameter**, when some parameter has no gradient this step or
  the parameters have several dtypes: the rule runs on each ``(p.data, p.grad)``.

Per-parameter state (momentum buffers, moment estimates) lives in
``self.state[p]``, a dict keyed by the Parameter object itself: two models, or
two optimizers, never share state by accident.  Its arrays are views of the
flat state buffers ``self.flat_state`` that the whole-model update uses.
"""
from __future__ import annotations

import math

import numpy as np

from minidl.arena import Arena
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
    """Base class.  Subclasses implement ``_update(data, g, state)``.

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
        self.arena: Arena | None = None
        self.flat_state: dict | None = None   # the state as (S,) buffers of the arena; None until rebuilt
        self._temps: dict = {}
        self._build_arena()

    def zero_grad(self) -> None:
        """Forget the gradients (backward passes overwrite them anyway)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient: the whole model at once
        when every parameter has one, parameter by parameter otherwise."""
        arena = self.arena
        if arena is None or not arena.ready():
            arena = self._arena_with_grads()          # rebuilt, or gradients copied in; or None
        state = None if arena is None else self._flat_state(arena)
        if state is None:
            return self._step_each()
        g = arena.grad
        if self.weight_decay:
            g = g.copy()                       # L2 on the weights' prefix, or on all: d/dp (wd/2 ||p||^2) = wd p
            end = arena.size if self.decay_biases else arena.decay_end
            g[:end] += self.weight_decay * arena.data[:end]
        self._update(arena.data, g, state)
        self._share_flat_state(arena, state)

    def _step_each(self) -> None:
        """The update rule on each parameter that has a gradient, one at a time."""
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
            self._update(p.data, g, state)
        self.flat_state = None                # new or diverging per-parameter state: rebuild before a flat step

    def _update(self, data: np.ndarray, g: np.ndarray, state: dict) -> None:
        """The rule: change ``data`` in place from the gradient ``g`` (same shape) and ``state``
        (a dict this method fills on its first call).  ``data`` is one parameter, or all of them."""
        raise NotImplementedError

    def _temp(self, like: np.ndarray, which: int = 0) -> np.ndarray:
        """Scratch array number ``which``, shaped like ``like``, kept from step to step (no
        allocation per step)."""
        key = (which, like.shape, like.dtype)
        temp = self._temps.get(key)
        if temp is None:
            temp = self._temps[key] = np.empty_like(like)
        return temp

    # ---- the arena -----------------------------------------------------------
    def _build_arena(self) -> None:
        """Put the parameters into a new arena (None if they have several dtypes)."""
        self.flat_state = None
        self.arena = Arena(self.params) if len({p.dtype for p in self.params}) == 1 else None

    def _arena_with_grads(self) -> Arena | None:
        """The arena, rebuilt if something rebound a ``p.data``, with every gradient in it;
        None if a parameter has no gradient (or the dtypes differ)."""
        if self.arena is None or not self.arena.holds():
            self._build_arena()
        if self.arena is None or not self.arena.gather_grads():
            return None
        return self.arena

    def _flat_state(self, arena: Arena) -> dict | None:
        """The state as (S,) buffers: ``{}`` before the first step; None when the parameters'
        states cannot be one (some have state and some not, or their step counts differ)."""
        if self.flat_state is not None:
            return self.flat_state
        states = [self.state.get(p) for p in self.params]
        if not any(states):
            return {}
        if not all(states) or len({tuple(sorted(s)) for s in states}) != 1:
            return None
        flat = {}
        for name, first in states[0].items():
            if np.ndim(first):
                flat[name] = np.zeros(arena.size, dtype=arena.dtype)
                for p, state in zip(self.params, states):
                    arena.view_of(flat[name], p)[...] = state[name]
            elif len({state[name] for state in states}) == 1:
                flat[name] = first                # a number all share, such as Adam's step
            else:
                return None
        self._share_flat_state(arena, flat)
        return flat

    def _share_flat_state(self, arena: Arena, flat: dict) -> None:
        """Keep ``flat`` and make each ``self.state[p]`` its views (and its numbers)."""
        if flat is not self.flat_state:
            self.flat_state = flat
            self.state = {p: {name: arena.view_of(value, p) if np.ndim(value) else value
                              for name, value in flat.items()} for p in self.params}
        else:
            for name, value in flat.items():
                if not isinstance(value, np.ndarray):
                    for p in self.params:
                        self.state[p][name] = value

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
        self.flat_state = None                # rebuilt from these at the next whole-model step

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
