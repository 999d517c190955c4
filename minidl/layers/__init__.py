"""Layers with analytic backward passes.

Each layer follows the contract in :mod:`minidl.layers.base`:
``forward(x) -> y`` caches what it needs, ``backward(dout) -> dx`` sets the
``.grad`` of its Parameters and returns dL/dx.
"""
from minidl.layers.activations import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Tanh
from minidl.layers.base import Layer
from minidl.layers.batchnorm import BatchNorm1d, BatchNorm2d
from minidl.layers.conv import Conv2d
from minidl.layers.dropout import Dropout
from minidl.layers.linear import Linear
from minidl.layers.pooling import AvgPool2d, MaxPool2d
from minidl.layers.sequential import Sequential
from minidl.layers.shape import Flatten

ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}

__all__ = ["Layer", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "BatchNorm1d", "BatchNorm2d",
           "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "LogSoftmax", "Sequential", "ACTIVATIONS"]
