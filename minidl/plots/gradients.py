"""Gradient figures: per-layer gradient-norm profiles, side by side with accuracy.

The numbers come from ``minidl.hooks.GradientStats`` through ``metrics.csv``:
one ``grad_norm_<param>`` column per weight matrix (the mean over an epoch's
batches of ``||dL/dW||``), input side first, and ``grad_ratio``.
"""
from __future__ import annotations

import math
from minidl.plots import Figure, subplots

__all__ = ["GRAD_PREFIX", "layer_norm_columns", "layer_profile", "plot_gradient_profiles"]

GRAD_PREFIX = "grad_norm_"


def layer_norm_columns(rows: list[dict]) -> list[str]:
    """The ``grad_norm_*`` columns of metrics rows, in file order (input layer first)."""
    if not rows:
        return []
    return [k for k in rows[0] if k.startswith(GRAD_PREFIX)]


def layer_profile(row: dict, columns: list[str]) -> list[float]:
    """One epoch's gradient norm of each weight matrix, input side first."""
    return [float(row[c]) if row.get(c) not in (None, "") else math.nan for c in columns]


def _acc_key(rows: list[dict]) -> str:
    for key in ("test_acc", "val_acc", "train_acc"):
        if key in rows[0]:
            return key
    raise ValueError(f"metrics rows have no accuracy column; columns are {list(rows[0])}")


def plot_gradient_profiles(runs: dict[str, list[dict]], title: str = "",
                           reference: tuple[str, float] | None = None) -> Figure:
    """Side by side, one column per run: the gradient-norm profile on top, accuracy below.

    Top row: ``||dL/dW_l||`` against the layer index l = 1 (input side) .. L
    (output), on a log axis shared by both columns, after the first and after
    the last epoch.  Bottom row: train and test accuracy against the epoch.

    Args:
        runs:      label (e.g. 'sigmoid, Xavier') -> that run's metrics rows
                   (with ``grad_norm_*`` columns, from ``Train.grad_stats: true``).
        reference: optional (label, accuracy) drawn as a dotted line on the
                   accuracy panels, e.g. the shallow net's final test accuracy.
    """
    runs = {label: rows for label, rows in runs.items() if rows}
    if not runs:
        raise ValueError("plot_gradient_profiles needs at least one run with metrics rows")
    fig, axes = subplots(2, len(runs), width=5.0, height=3.7, squeeze=False, sharey="row")
    for col, (label, rows) in enumerate(runs.items()):
        columns = layer_norm_columns(rows)
        if not columns:
            raise ValueError(f"run {label!r} has no grad_norm_* columns; train it with Train.grad_stats: true")
        layers = range(1, len(columns) + 1)
        top, bottom = axes[0, col], axes[1, col]
        first, last = rows[0], rows[-1]
        top.plot(layers, layer_profile(first, columns), "--o", ms=4, color="tab:orange",
                 label=f"after epoch {int(first['epoch'])}")
        top.plot(layers, layer_profile(last, columns), "-s", ms=4, color="tab:blue",
                 label=f"after epoch {int(last['epoch'])}")
        top.set_yscale("log")
        top.set_xticks(list(layers))
        top.set(xlabel="weight layer (1 = input side)", title=f"{label}: gradient norm per layer")
        bottom.set_ylim(0.0, 1.0)
        top.legend(fontsize=8)
        epochs = [float(r["epoch"]) for r in rows]
        acc = _acc_key(rows)
        bottom.plot(epochs, [float(r["train_acc"]) for r in rows], "-o", ms=3, label="train")
        bottom.plot(epochs, [float(r[acc]) for r in rows], "-^", ms=3,
                    label="test" if acc == "test_acc" else "validation")
        if reference is not None:
            bottom.axhline(reference[1], ls=":", color="gray", label=reference[0])
        bottom.set(xlabel="epoch", title=f"{label}: accuracy")
        bottom.legend(fontsize=8)
    axes[0, 0].set_ylabel("||dL/dW||, mean over the epoch's batches")
    axes[1, 0].set_ylabel("accuracy")
    if title:
        fig.suptitle(title)
    return fig
