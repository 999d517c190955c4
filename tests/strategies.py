"""Hypothesis strategies (and the two ``assume`` helpers) shared by every property test.

A gradient check in float64 can only judge a backward pass where

* no ReLU/LeakyReLU input lies within reach of the finite-difference step
  (``min_abs_kink_input``), and
* the true gradient is not buried under the difference quotient's rounding
  noise (``finite_differences_resolve``).

The strategies draw *moderate* values to make both the common case: inputs in
[-3, 3], at most 5 units per layer, at most 3 Linear layers, and initializers
whose scale is O(1 / sqrt(fan)) or a normal std of at least 0.3.

Batch size 1 is drawn often on purpose: it is the classic place for a
``sum(axis=0)`` or broadcasting bug to hide.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

ACTIVATION_NAMES = ("relu", "leaky_relu", "sigmoid", "tanh")
MAX_ABS = 3.0
GRAD_TOL = 1e-6            # worst relative error a correct backward pass must meet
# Inputs of a ReLU/LeakyReLU must be farther than this from 0.  A finite
# difference moves them by about h * |weights| <= 1e-4, far less.
KINK_MARGIN = 1e-3
# Finite-difference step for whole networks: rounding noise ~ eps * |f| / h is
# ten times smaller than with the default h = 1e-6, while the O(h^2)
# truncation error stays ~1e-10.
NETWORK_H = 1e-5

batch_sizes = st.one_of(st.just(1), st.integers(1, 5))
feature_sizes = st.integers(1, 5)
class_counts = st.integers(2, 5)
seeds = st.integers(0, 2**32 - 1)
activation_names = st.sampled_from(ACTIVATION_NAMES)
negative_slopes = st.floats(0.01, 0.5)
mlp_sizes = st.lists(st.integers(1, 5), min_size=2, max_size=4)   # 1 to 3 Linear layers


def moderate_floats(max_abs: float = MAX_ABS) -> st.SearchStrategy[float]:
    """Finite floats in [-max_abs, max_abs]."""
    return st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False)


def floats_away_from_zero(margin: float = 0.05, max_abs: float = MAX_ABS) -> st.SearchStrategy[float]:
    """Floats with margin <= |v| <= max_abs: keeps ReLU kinks out of reach by construction."""
    return st.tuples(st.sampled_from((-1.0, 1.0)), st.floats(margin, max_abs)).map(lambda sm: sm[0] * sm[1])


def float64_arrays(shape, elements: st.SearchStrategy[float] | None = None) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape``, with moderate entries unless ``elements`` says otherwise."""
    return hnp.arrays(np.float64, shape, elements=elements if elements is not None else moderate_floats())


@st.composite
def matrices(draw, rows=batch_sizes, cols=feature_sizes, elements=None) -> np.ndarray:
    """A float64 (N, D) array; N and D drawn from ``rows`` and ``cols``."""
    return draw(float64_arrays((draw(rows), draw(cols)), elements))


@st.composite
def init_specs(draw, allow_zeros: bool = True):
    """Every form ``Linear(init=...)`` accepts: a name, or a ``{'name': ..., **options}`` dict.

    ``allow_zeros=False`` leaves out ``'zeros'``, which would put every
    pre-activation of a hidden layer exactly on a ReLU kink.
    """
    names = ["normal", "xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform"]
    if allow_zeros:
        names.append("zeros")
    name = draw(st.sampled_from(names))
    if name == "normal":
        # not the default std of 0.01: its gradients would vanish through a few layers
        return {"name": "normal", "std": draw(st.floats(0.3, 1.0))}
    if name.startswith("kaiming") and draw(st.booleans()):
        spec = {"name": name, "mode": draw(st.sampled_from(["fan_in", "fan_out"])),
                "nonlinearity": draw(st.sampled_from(["linear", "sigmoid", "tanh", "relu", "leaky_relu"]))}
        if spec["nonlinearity"] == "leaky_relu":
            spec["a"] = draw(st.floats(0.0, 0.5))
        return spec
    if name.startswith("xavier") and draw(st.booleans()):
        return {"name": name, "gain": draw(st.floats(0.5, 2.0))}
    return name


def labels(n: int, num_classes: int) -> st.SearchStrategy[np.ndarray]:
    """int64 class labels of shape (n,), each in [0, num_classes)."""
    return hnp.arrays(np.int64, (n,), elements=st.integers(0, num_classes - 1))


@st.composite
def logits_and_labels(draw, max_abs: float = MAX_ABS):
    """``(logits (N, C) float64, labels (N,) int64)`` with moderate logits."""
    n, c = draw(batch_sizes), draw(class_counts)
    return draw(float64_arrays((n, c), moderate_floats(max_abs))), draw(labels(n, c))


# ---- assume() helpers ----------------------------------------------------------
def min_abs_kink_input(model, x: np.ndarray) -> float:
    """Smallest |input| reaching any ReLU/LeakyReLU of a Sequential (inf if none).

    Runs the layers one by one, so it sees the real pre-activations; use it
    as ``assume(min_abs_kink_input(model, x) > KINK_MARGIN)``.
    """
    from minidl.layers import LeakyReLU, ReLU
    smallest = np.inf
    for layer in model:
        if isinstance(layer, (ReLU, LeakyReLU)) and x.size:
            smallest = min(smallest, float(np.abs(x).min()))
        x = layer.forward(x)
    return smallest


def finite_differences_resolve(f, arrays, h: float = NETWORK_H, ratio: float = 1e-3) -> bool:
    """Whether a finite-difference check of the scalar ``f`` can judge each of ``arrays``.

    A difference quotient carries rounding noise of about eps * |f| / h
    (~1e-11 |f| for h = 1e-5).  When the true gradient of a whole array is far
    smaller than |f| -- saturated sigmoids, a LeakyReLU passing only its 0.01
    slope, small weights in a width-1 chain, a softmax that is certain, a
    dead ReLU layer -- that noise exceeds 1e-6 of it and the check could not
    tell right from wrong.  This returns True if every array's *numerical*
    gradient reaches ``ratio * max(|f|, 1)``.  It runs forward passes only, so
    a wrong backward cannot hide behind it; use it as
    ``assume(finite_differences_resolve(f, arrays))``.
    """
    from minidl.gradcheck import numerical_gradient
    floor = ratio * max(abs(f(None)), 1.0)
    return all(a.size and np.abs(numerical_gradient(f, a, h)).max() >= floor for a in arrays)


# ---- images, for the spatial layers -------------------------------------------
def pairs(low: int, high: int) -> st.SearchStrategy:
    """An int or an (int, int) pair in [low, high]: both forms a spatial layer accepts."""
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high), st.integers(low, high)))


def as_pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


@st.composite
def conv_settings(draw, max_side: int = 7):
    """``dict(n, c, o, h, w, kernel_size, stride, padding, bias)`` for a small Conv2d whose
    kernel fits the padded image; batch 1 is drawn often, channel counts up to 3."""
    kernel, stride, padding = draw(pairs(1, 3)), draw(pairs(1, 3)), draw(pairs(0, 2))
    (kh, kw), (ph, pw) = as_pair(kernel), as_pair(padding)
    h = draw(st.integers(max(kh - 2 * ph, 1), max_side))
    w = draw(st.integers(max(kw - 2 * pw, 1), max_side))
    return dict(n=draw(batch_sizes), c=draw(st.integers(1, 3)), o=draw(st.integers(1, 3)), h=h, w=w,
                kernel_size=kernel, stride=stride, padding=padding, bias=draw(st.booleans()))


def distinct_float64_arrays(shape, rng: np.random.Generator) -> np.ndarray:
    """float64 values in [-3, 3], evenly spaced and shuffled: no two within 6 / size of each
    other, so a max-pool's arg-max is unique and no finite-difference step can change it."""
    size = int(np.prod(shape))
    values = np.linspace(-MAX_ABS, MAX_ABS, size) if size > 1 else np.array([0.5])
    return rng.permutation(values).reshape(shape)
