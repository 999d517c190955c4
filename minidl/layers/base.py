"""``Layer``: the contract every layer and model follows.

    forward(x)     -> y      caches what backward needs
    backward(dout) -> dx     sets .grad on the layer's Parameters, returns dL/dx

``dout`` is dL/dy, the gradient of the scalar loss with respect to this
layer's output, so ``backward`` is one application of the chain rule.
Gradients are *set*, never accumulated: each backward pass overwrites them.

This base class also provides the bookkeeping every model needs: parameters
that register themselves when assigned as attributes, parameter lists with
dotted names, buffers (state that is saved but not trained, such as batch
norm's running statistics), a training/evaluation mode, dtype conversion, and
state dicts.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from minidl.parameter import Parameter


def check_float_input(x, who: "Layer") -> np.ndarray:
    """Return ``x`` as a floating ndarray, or raise a ValueError naming the layer."""
    if type(x) is not np.ndarray:
        x = np.asarray(x)
    if x.dtype.kind != "f":
        raise ValueError(f"{who!r} expects a floating-point input array; got dtype {x.dtype} "
                         f"(convert with x.astype(np.float32))")
    return x


def _hidden_member(container, layers_too: bool):
    """The first Parameter (or, if ``layers_too``, Layer with parameters) inside a
    list, tuple or dict, looking into nested ones; None if there is none."""
    for item in (container.values() if isinstance(container, dict) else container):
        if isinstance(item, Parameter) or (layers_too and isinstance(item, Layer) and item.named_parameters()):
            return item
        if isinstance(item, (list, tuple, dict)):
            found = _hidden_member(item, layers_too)
            if found is not None:
                return found
    return None


class Layer:
    """Base class for layers and models.

    Parameters register themselves: assigning a ``Parameter`` to an attribute
    (``self.W = Parameter(...)``) adds it to ``named_parameters()`` under that
    name, in assignment order, and assigning a sub-``Layer`` adds its
    parameters with the attribute name as a prefix (``self.fc = Linear(...)``
    gives ``fc.W``, ``fc.b``).  Setting the attribute to anything else, such as
    None, removes it again.  A Parameter (or a Layer with parameters) inside a
    list, tuple or dict would never be found, so assigning one raises a
    TypeError; ``Sequential`` is the exception, as it lists its ``layers`` itself.

    ``forward`` keeps what ``backward`` needs with ``self._cache_for_backward(array)``,
    and ``backward`` reads it back with ``self._cached()``.

    Buffers are arrays a layer keeps and a checkpoint must carry, but no optimizer
    touches (batch norm's running mean and variance): ``self._register_buffer(name,
    array)`` makes ``self.<name>`` one, and ``state_dict()`` holds it beside the
    parameters, under the same dotted names (``3.running_mean``).

    Modes: ``training`` is True until ``eval()``; ``train()`` sets it back.  Both
    reach every sub-layer and return self.  Only layers that behave differently
    (Dropout, BatchNorm) read it.
    """

    training = True          # a class default, so a subclass need not call super().__init__()

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output and cache what ``backward`` needs.

        Inputs:
            x: (N, D_in) float array, one example per row.
        Returns:
            y: (N, D_out) array of the same dtype.
        """
        raise NotImplementedError

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Apply the chain rule once: set each Parameter's ``.grad`` and return dL/dx.

        Inputs:
            dout: (N, D_out), dL/dy for the y that the last ``forward`` returned.
            input_grad: if False, a layer may skip dx and return None (the first
                layer of a network never needs it).
        Returns:
            dx: (N, D_in), dL/dx, or None.
        """
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # a method, not ``__call__ = forward``: that alias would bind Layer.forward
        # itself, so ``layer(x)`` would ignore every subclass's forward
        return self.forward(x)

    # ---- the forward cache ---------------------------------------------------
    def _cache_for_backward(self, array: np.ndarray) -> None:
        """Keep ``array`` for backward, as ``self._cache = array`` would; ``_cached()`` returns it.

        Fast path: the array goes into a one-element list, made on the first call, so
        no attribute is assigned and ``Layer.__setattr__`` does not run (an array is
        never a parameter).  Called from C on each assignment, that Python method cost
        2-4 % of a batch-10 training step as measured (784-30-10, three caches a step).
        """
        try:
            self._cache_box[0] = array
        except AttributeError:
            object.__setattr__(self, "_cache_box", [array])

    def _cached(self) -> np.ndarray:
        """The array the last forward kept; a RuntimeError if there was no forward yet."""
        try:
            return self._cache_box[0]
        except AttributeError:
            raise RuntimeError(f"{self!r}: backward called before forward") from None

    # ---- modes ------------------------------------------------------------
    def train(self, mode: bool = True) -> "Layer":
        """Training mode (``training = True``) for this layer and every sub-layer; returns self."""
        object.__setattr__(self, "training", bool(mode))
        for layer in self._sub_layers():
            layer.train(mode)
        return self

    def eval(self) -> "Layer":
        """Evaluation mode (``training = False``) for this layer and every sub-layer; returns self."""
        return self.train(False)

    def walk(self):
        """This layer, then every sub-layer at any depth, in order (a generator)."""
        yield self
        for layer in self._sub_layers():
            yield from layer.walk()

    def _sub_layers(self) -> list["Layer"]:
        """The registered sub-layers (for Sequential, its ``layers`` too), in order."""
        return [member for _, member in self._named_members() if isinstance(member, Layer)]

    # ---- buffers ----------------------------------------------------------
    def _register_buffer(self, name: str, array: np.ndarray) -> None:
        """Make ``self.<name> = array`` a buffer: saved by ``state_dict()``, never trained.

        The buffer is the attribute itself, so ``self.<name> = new_array`` (or an
        in-place update) is what the next ``state_dict()`` sees.
        """
        try:
            names = self._buffer_names
        except AttributeError:
            names = []
            object.__setattr__(self, "_buffer_names", names)
        if name not in names:
            names.append(name)
        setattr(self, name, array)

    def _buffer_slots(self) -> list[tuple[str, "Layer", str]]:
        """``[(dotted name, owning layer, attribute name), ...]`` for every buffer, sub-layers'
        included with their prefix; a layer reachable twice is listed once."""
        slots, seen = [], set()
        for name in getattr(self, "_buffer_names", ()):
            slots.append((name, self, name))
        for prefix, member in self._named_members():
            if isinstance(member, Layer):
                slots += [(f"{prefix}.{full}", owner, attr) for full, owner, attr in member._buffer_slots()]
        unique = []
        for full, owner, attr in slots:
            if (id(owner), attr) not in seen:
                seen.add((id(owner), attr))
                unique.append((full, owner, attr))
        return unique

    def named_buffers(self) -> list[tuple[str, np.ndarray]]:
        """``[(name, array), ...]``, e.g. ``[('1.running_mean', ...), ('1.running_var', ...)]``."""
        return [(full, getattr(owner, attr)) for full, owner, attr in self._buffer_slots()]

    # ---- parameters -------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        members = self._registry()
        if isinstance(value, (Parameter, Layer)):
            members[name] = value                     # a re-assigned name keeps its place
        else:
            members.pop(name, None)                   # e.g. ``self.b = None``: b is no parameter any more
            if isinstance(value, (list, tuple, dict)):
                self._refuse_hidden_parameters(name, value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._registry().pop(name, None)
        object.__delattr__(self, name)

    def _registry(self) -> dict[str, "Parameter | Layer"]:
        """``{attribute name: Parameter or Layer}`` in assignment order, made on first
        use, so a subclass need not call ``super().__init__()``.  (Read as an attribute:
        touching ``self.__dict__`` would slow every later attribute read of the layer.)"""
        try:
            return self._members
        except AttributeError:
            object.__setattr__(self, "_members", {})
            return self._members

    def _refuse_hidden_parameters(self, name: str, value) -> None:
        # a class that lists sub-layers itself (Sequential, from its ``layers``) does find those
        layers_too = type(self)._named_members is Layer._named_members
        hidden = _hidden_member(value, layers_too)
        if hidden is not None:
            what = "a Parameter" if isinstance(hidden, Parameter) else f"the Layer {hidden!r}"
            raise TypeError(f"{type(self).__name__}.{name}: a {type(value).__name__} holding {what} hides it "
                            f"from named_parameters() and so from the optimizer; assign each Parameter "
                            f"(or Layer) as its own attribute, e.g. self.W1 = ..., self.W2 = ...")

    def _named_members(self) -> list[tuple[str, "Parameter | Layer"]]:
        """The registered ``(attribute name, Parameter or Layer)`` pairs, in assignment order."""
        return list(self._registry().items())

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``[(name, Parameter), ...]`` in a fixed order, e.g. ``[('W', ...), ('b', ...)]``.

        A sub-layer's parameters carry its name as a prefix (``fc.W``); a
        Parameter reachable twice (weight tying) is listed once, so an optimizer
        steps it once.
        """
        pairs, seen = [], set()
        for name, member in self._named_members():
            if isinstance(member, Parameter):
                found = [(name, member)]
            else:
                found = [(f"{name}.{sub}", p) for sub, p in member.named_parameters()]
            for full_name, p in found:
                if id(p) not in seen:
                    seen.add(id(p))
                    pairs.append((full_name, p))
        return pairs

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def astype(self, dtype) -> "Layer":
        """Convert every parameter and floating buffer to ``dtype`` in place (e.g. float64 for
        gradient checks); returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        for _, owner, attr in self._buffer_slots():
            value = getattr(owner, attr)
            if value.dtype.kind == "f":
                setattr(owner, attr, value.astype(dtype))
        return self

    # ---- state ------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: copy of the array}``: every parameter, then every buffer."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, array.copy()) for name, array in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters and buffers.  Refuses any mismatch, listing
        the missing, unexpected and wrongly shaped keys all at once."""
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        mismatched = [f"{k}: checkpoint {tuple(np.shape(state[k]))} vs model {own[k].shape}"
                      for k in own if k in state and tuple(np.shape(state[k])) != own[k].shape]
        if missing or unexpected or mismatched:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            if mismatched:
                parts.append("shape mismatches [" + "; ".join(mismatched) + "]")
            raise ValueError(f"state does not match {type(self).__name__}: " + ", ".join(parts))
        for k, p in self.named_parameters():
            p.data = np.array(state[k], dtype=p.data.dtype)
            p.grad = None
        for k, owner, attr in self._buffer_slots():
            setattr(owner, attr, np.array(state[k], dtype=getattr(owner, attr).dtype))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@contextlib.contextmanager
def evaluation_mode(model: Layer):
    """``model`` in evaluation mode while the block runs (no dropout, batch norm's running
    statistics, nothing updated), then back in the mode it had."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def in_evaluation_mode(function):
    """Decorate ``function(model, ...)`` to run with ``model`` in evaluation mode: the analysis
    tools (Hessian, Jacobians, interpolation) measure the network, never its training noise."""
    @functools.wraps(function)
    def wrapper(model, *args, **kwargs):
        with evaluation_mode(model):
            return function(model, *args, **kwargs)
    return wrapper
