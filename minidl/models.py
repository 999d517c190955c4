"""Ready-made networks.  All are ``Sequential`` subclasses that output logits;
the loss (softmax cross-entropy) is a separate object, as in PyTorch.

L2 regularisation is *not* written into any model: it is the optimizer's
``weight_decay``, which applies to weights (``decay=True``) and skips biases.
``weight_decay = reg`` is exactly the gradient of the CS 7643 term
``0.5 * reg * sum ||W||^2``.
"""
from __future__ import annotations

import math

import numpy as np

from minidl.layers import ACTIVATIONS, Linear, LogSoftmax, Sequential

__all__ = ["MLP", "SoftmaxRegression", "TwoLayerNet", "NeuromatchMLP", "TORCH_LINEAR_INIT"]


class MLP(Sequential):
    """A multi-layer perceptron of any depth.

        MLP([784, 30, 30, 10], activation='sigmoid')
        == Linear(784->30), Sigmoid, Linear(30->30), Sigmoid, Linear(30->10)

    The output layer has no activation: it returns logits.

    Args:
        sizes:      [D_in, H_1, ..., H_k, D_out], at least two entries.
        activation: 'relu', 'leaky_relu', 'sigmoid' or 'tanh'.
        init:       weight initializer for every Linear (see ``minidl.init.get``).
        bias:       whether the Linear layers have biases (they start at 0).
        rng:        np.random.Generator or int seed; one stream for all layers.
        dtype:      parameter dtype (float32 default; float64 for gradient checks).

    Shapes: x (N, D_in) -> logits (N, D_out).
    """

    def __init__(self, sizes, activation: str = "relu", init="kaiming_uniform",
                 bias: bool = True, rng=None, dtype=np.float32):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP sizes needs at least [D_in, D_out]; got {sizes}")
        bad = [s for s in sizes if s <= 0]
        if bad:
            raise ValueError(f"MLP sizes must all be positive; got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}")
        rng = np.random.default_rng(rng)
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(d_in, d_out, bias=bias, init=init, rng=rng, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes, self.activation = sizes, activation

    def linear_layers(self) -> list[Linear]:
        """The Linear layers, input side first."""
        return [layer for layer in self.layers if isinstance(layer, Linear)]


def _course_weight(shape, scale: float = 0.001, seed: int = 1024) -> np.ndarray:
    """CS 7643 A1 initialisation: ``scale * np.random.RandomState(seed).randn(*shape)``.

    A fresh legacy ``RandomState`` per weight, as the assignment does; nothing global is touched.
    """
    return scale * np.random.RandomState(seed).randn(*shape)


class SoftmaxRegression(Sequential):
    """CS 7643 Assignment 1 softmax regression, reproduced exactly.

        Linear(784 -> 10, no bias) -> ReLU -> (softmax cross-entropy, outside)

    ``W = 0.001 * np.random.RandomState(1024).randn(784, 10)``.

    The ReLU on the scores is the assignment's own design ("linear layer
    without bias => ReLU activation => Softmax").  It clips every negative
    score to 0, which caps test accuracy near 0.85 after 10 epochs.
    ``relu=False`` drops it: plain multinomial logistic regression, which
    reaches 0.9186 (docs/cs7643.md).

    Shapes: x (N, 784) -> scores (N, 10).
    """

    def __init__(self, input_size: int = 784, num_classes: int = 10, relu: bool = True, dtype=np.float32):
        fc = Linear(input_size, num_classes, bias=False, init="zeros", dtype=dtype)
        fc.W.data = _course_weight((input_size, num_classes)).astype(dtype)
        from minidl.layers import ReLU
        super().__init__(fc, ReLU()) if relu else super().__init__(fc)


class TwoLayerNet(Sequential):
    """CS 7643 Assignment 1 two-layer network, reproduced exactly.

        Linear(784 -> h) -> Sigmoid -> Linear(h -> 10) -> (softmax cross-entropy, outside)

    ``W1 = 0.001 * RandomState(1024).randn(784, h)`` and
    ``W2 = 0.001 * RandomState(1024).randn(h, 10)``: the generator is seeded
    afresh with 1024 before each weight.  Biases start at zero.

    Shapes: x (N, 784) -> scores (N, 10).
    """

    def __init__(self, hidden_size: int = 128, input_size: int = 784, num_classes: int = 10,
                 dtype=np.float32):
        if int(hidden_size) <= 0:
            raise ValueError(f"TwoLayerNet hidden_size must be positive; got {hidden_size}")
        from minidl.layers import Sigmoid
        fc1 = Linear(input_size, hidden_size, init="zeros", dtype=dtype)
        fc2 = Linear(hidden_size, num_classes, init="zeros", dtype=dtype)
        fc1.W.data = _course_weight((input_size, hidden_size)).astype(dtype)
        fc2.W.data = _course_weight((hidden_size, num_classes)).astype(dtype)
        super().__init__(fc1, Sigmoid(), fc2)
        self.hidden_size = int(hidden_size)


# Kaiming-uniform with a = sqrt(5) (leaky-ReLU gain sqrt(2 / (1 + a^2)) = sqrt(1/3)) has the bound
# sqrt(1/3) * sqrt(3 / fan_in) = 1 / sqrt(fan_in): PyTorch's default nn.Linear weight init.
TORCH_LINEAR_INIT = {"name": "kaiming_uniform", "a": math.sqrt(5.0)}


class NeuromatchMLP(MLP):
    """The Neuromatch W1D5 tutorial's ``MLP(784, hidden_dims, 10)``, reproduced.

        Linear(784 -> h_1) -> ReLU -> ... -> Linear(h_k -> 10) -> LogSoftmax

    Weights and biases follow PyTorch's ``nn.Linear`` default, U(+-1/sqrt(fan_in)):
    all the weights are drawn first, layer by layer, then all the biases, from
    one Generator.  The output is log-probabilities, for ``NLLLoss``, as the
    tutorial's ``nn.Module`` returns them (together the two equal
    ``SoftmaxCrossEntropy``).  ``hidden = []`` is the linear model.

    Shapes: x (N, 784) -> log-probabilities (N, 10).
    """

    def __init__(self, hidden, rng=None, dtype=np.float32):
        rng = np.random.default_rng(rng)
        super().__init__([784, *hidden, 10], activation="relu", init=TORCH_LINEAR_INIT, rng=rng, dtype=dtype)
        for layer in self.linear_layers():
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.b.data[...] = rng.uniform(-bound, bound, size=layer.b.data.shape)
        self.layers.append(LogSoftmax())
        self.hidden = list(hidden)
