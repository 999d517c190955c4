"""``Sequential``: layers applied one after another."""
from __future__ import annotations

import numpy as np

from minidl.layers.base import Layer
from minidl.parameter import Parameter


class Sequential(Layer):
    """Compose layers: ``forward`` runs them in order, ``backward`` in reverse.

    Parameters are named ``<index>.<name>``, e.g. ``0.W``, ``0.b``, ``2.W``
    (index 1 is an activation and has none).
    """

    def __init__(self, *layers: Layer):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential item {i} is {type(layer).__name__}, not a minidl Layer")
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Inputs:  x: (N, D_in), the first layer's input.
        Returns: y: (N, D_out), the last layer's output (x itself if there are no layers).
        """
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Inputs:  dout: (N, D_out), dL/dy for the last layer's output.
                 input_grad: whether the first layer computes dx.
        Returns: dx: (N, D_in), dL/dx, or None if not input_grad.  Sets every layer's grads.
        """
        # h_k = f_k(h_{k-1}), so dL/dh_{k-1}[i] = sum_j dL/dh_k[j] dh_k[j]/dh_{k-1}[i]: exactly
        # what layer k's backward makes of dout = dL/dh_k.  So: last layer first, and each
        # layer's dx is the dout of the layer before it
        layers = self.layers
        for layer in layers[:0:-1]:
            dout = layer.backward(dout)
        return layers[0].backward(dout, input_grad=input_grad) if layers else dout

    def _named_members(self) -> list[tuple[str, Layer | Parameter]]:
        # the layers by index (so names are 0.W, 0.b, 2.W), then anything a subclass assigned
        return [(str(i), layer) for i, layer in enumerate(self.layers)] + super()._named_members()

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}(\n{inner}\n)"
