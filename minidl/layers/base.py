"""``Layer``: the contract every layer and model follows.

    forward(x)     -> y      caches what backward needs
    backward(dout) -> dx     sets .grad on the layer's Parameters, returns dL/dx

``dout`` is dL/dy, the gradient of the scalar loss with respect to this
layer's output, so ``backward`` is one application of the chain rule.
Gradients are *set*, never accumulated: each backward pass overwrites them.

This base class also provides the bookkeeping every model needs:
parameter lists with dotted names, dtype conversion, and state dicts.
"""
from __future__ import annotations

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


class Layer:
    """Base class.  Subclasses set ``self._params`` to a dict name -> Parameter."""

    _params: dict[str, Parameter] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Return dL/dx.  With ``input_grad=False`` a layer may skip computing it
        (the first layer of a network never needs it) and return None."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # a method, not ``__call__ = forward``: that alias would bind Layer.forward
        # itself, so ``layer(x)`` would ignore every subclass's forward
        return self.forward(x)

    # ---- parameters -------------------------------------------------------
    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``[(name, Parameter), ...]`` in a fixed order, e.g. ``[('W', ...), ('b', ...)]``."""
        return list(self._params.items())

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def astype(self, dtype) -> "Layer":
        """Convert every parameter to ``dtype`` in place (e.g. float64 for gradient checks); returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        return self

    # ---- state ------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: copy of parameter data}``."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters.  Refuses any mismatch, listing the
        missing, unexpected and wrongly shaped keys all at once."""
        own = dict(self.named_parameters())
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
        for k, p in own.items():
            p.data = np.array(state[k], dtype=p.data.dtype)
            p.grad = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
