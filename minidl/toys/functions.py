"""One-dimensional target functions for the deep-vs-shallow studies (NTU MLDS 2018 HW1-1).

    sinc:  y = sin(5 pi x) / (5 pi x)        sign:  y = sgn(sin(5 pi x))

    x, y = function_data("sinc", 2000)       # (2000, 1) each, x evenly spaced in (0, 1]
"""
from __future__ import annotations

import numpy as np

__all__ = ["FUNCTIONS", "function_data"]

# name -> (formula in words, f)
FUNCTIONS = {
    "sinc": ("sin(5 pi x) / (5 pi x)", lambda x: np.sin(5 * np.pi * x) / (5 * np.pi * x)),
    "sign": ("sgn(sin(5 pi x))", lambda x: np.sign(np.sin(5 * np.pi * x))),
}


def function_data(name: str, points: int) -> tuple[np.ndarray, np.ndarray]:
    """x: (points, 1) float64, evenly spaced in (0, 1] (x = 0 excluded: sinc is 0/0 there); y = f(x)."""
    if name not in FUNCTIONS:
        raise ValueError(f"unknown function {name!r}; expected one of {sorted(FUNCTIONS)}")
    x = np.linspace(0.0, 1.0, int(points) + 1)[1:, None]
    return x, FUNCTIONS[name][1](x)
