"""Figures of the generalization studies (NTU MLDS 2018 HW1-3): random labels, parameter count,
interpolation between two minima, and sensitivity and sharpness against batch size.

Train curves are blue and test curves orange throughout; loss is drawn solid, accuracy dashed,
so a reader can tell the lines apart on the twin-axis figures without the legend.
"""
from __future__ import annotations

import numpy as np

from minidl.plots import Figure, subplots, wrap_title

__all__ = ["plot_random_labels", "plot_vs_params", "plot_interpolation", "plot_vs_batch_size", "plot_sharpness"]

TRAIN, TEST = "tab:blue", "tab:orange"
MEASURE_COLOURS = ("tab:green", "tab:purple", "tab:red", "tab:brown")


def _merged_legend(ax, twin, **kwargs) -> None:
    """One legend for the lines of both y axes of a twin-axis plot."""
    lines, labels = ax.get_legend_handles_labels()
    more_lines, more_labels = twin.get_legend_handles_labels()
    ax.legend(lines + more_lines, labels + more_labels, **kwargs)


def plot_random_labels(rows: list[dict], title: str, passed_epoch: int | None = None) -> Figure:
    """Loss and accuracy against epoch, train (random labels) and test (true labels), side by side.

    ``rows`` have keys epoch, train_loss, train_acc, test_loss, test_acc.  ``passed_epoch``, the
    first epoch with train accuracy > 0.99, is marked by a dotted vertical line.
    """
    epochs = np.array([r["epoch"] for r in rows], dtype=float)
    fig, axes = subplots(1, 2, width=5.4, height=4.0)
    for ax, kind, label in zip(axes, ("loss", "acc"), ("cross-entropy loss", "accuracy")):
        ax.plot(epochs, [r[f"train_{kind}"] for r in rows], color=TRAIN, label="train (random labels)")
        ax.plot(epochs, [r[f"test_{kind}"] for r in rows], color=TEST, label="test (true labels)")
        if passed_epoch is not None:
            ax.axvline(passed_epoch, color="grey", ls=":", lw=1, label=f"train acc > 0.99 (epoch {passed_epoch})")
        ax.set(xlabel="epoch", ylabel=label, title=label)
        ax.legend(fontsize=8)
    axes[1].set_ylim(-0.02, 1.02)
    fig.suptitle(wrap_title(title, 110))
    return fig


def plot_vs_params(params: np.ndarray, rows: list[dict], kind: str, title: str) -> Figure:
    """Train and test ``kind`` ('loss' or 'acc') of each model against its parameter count (log x).

    ``rows[i]`` holds ``train_<kind>`` and ``test_<kind>`` of the model with ``params[i]`` parameters.
    """
    order = np.argsort(params)
    x = np.asarray(params)[order]
    fig, ax = subplots(width=6.4, height=4.2)
    for split, colour, marker in (("train", TRAIN, "o"), ("test", TEST, "s")):
        ax.plot(x, [rows[i][f"{split}_{kind}"] for i in order], "-" + marker, color=colour, ms=4, label=split)
    ylabel = "cross-entropy loss" if kind == "loss" else "accuracy"
    ax.set(xscale="log", xlabel="number of parameters (log scale)", ylabel=ylabel, title=wrap_title(title, 60))
    ax.legend()
    return fig


def plot_interpolation(rows: list[dict], labels: tuple[str, str], title: str) -> Figure:
    """Loss (left axis, log) and accuracy (right axis) along theta(alpha) = (1 - alpha) theta1 + alpha theta2.

    ``rows`` are ``interpolation_curve`` rows: alpha, train_loss, train_acc, test_loss, test_acc.
    ``labels`` name the two models at alpha = 0 and alpha = 1.
    """
    alpha = np.array([r["alpha"] for r in rows])
    fig, ax = subplots(width=7.2, height=4.6)
    twin = ax.twinx()
    for split, colour in (("train", TRAIN), ("test", TEST)):
        ax.plot(alpha, [r[f"{split}_loss"] for r in rows], "-", color=colour, lw=1.6, label=f"{split} loss")
        twin.plot(alpha, [r[f"{split}_acc"] for r in rows], "--", color=colour, lw=1.3, label=f"{split} accuracy")
    for a, label in zip((0.0, 1.0), labels):
        ax.axvline(a, color="grey", lw=0.8, ls=":")
        ax.annotate(label, xy=(a, 0.55), xycoords=("data", "axes fraction"), xytext=(3, 0),
                    textcoords="offset points", fontsize=8, color="dimgrey", rotation=90, va="center")
    ax.set(xlabel="alpha  (theta = (1 - alpha) theta1 + alpha theta2)", ylabel="cross-entropy loss (log scale)",
           yscale="log", title=wrap_title(title, 80))
    twin.set_ylabel("accuracy")
    twin.set_ylim(-0.02, 1.02)
    twin.grid(False)
    _merged_legend(ax, twin, fontsize=8, loc="center left")
    return fig


def _batch_size_axis(ax, bs: np.ndarray) -> None:
    """x axis with a tick at every batch size, labelled as a plain integer.

    Logarithmic, unless the batch sizes are evenly spaced (three or more, e.g. 500, 1000, ..., 5000),
    whose ticks would crowd together at the right of a log axis.
    """
    steps = np.diff(np.sort(bs))
    if len(bs) >= 3 and np.allclose(steps, steps[0]):
        ax.set(xlabel="batch size")
    else:
        ax.set(xscale="log", xlabel="batch size (log scale)")
    ax.set_xticks(bs)
    ax.set_xticklabels([f"{int(b)}" for b in bs])
    ax.minorticks_off()


def plot_vs_batch_size(batch_sizes, rows: list[dict], measure, measure_label: str, title: str) -> Figure:
    """Two panels against batch size (log x): loss and accuracy, each with ``measure`` on a twin axis.

    ``rows[i]`` holds train_loss, test_loss, train_acc, test_acc of the model trained with
    ``batch_sizes[i]``.  ``measure`` is one value per model (e.g. its sensitivity), named by
    ``measure_label``, which is kept short: the twin axis and the legend both show it.  It may
    also be a dict ``{legend label: values}`` of several measures in the same unit (e.g. the
    sensitivity at test images and at a random input); they share the twin axis, named by
    ``measure_label``, which turns logarithmic when they span more than a factor of 20.
    """
    measures = dict(measure) if isinstance(measure, dict) else {measure_label: measure}
    values = np.concatenate([np.asarray(v, dtype=float) for v in measures.values()])
    log_twin = len(measures) > 1 and values.min() > 0 and values.max() > 20 * values.min()
    bs = np.asarray(batch_sizes, dtype=float)
    fig, axes = subplots(1, 2, width=6.0, height=4.4)
    for ax, kind, ylabel in zip(axes, ("loss", "acc"), ("cross-entropy loss", "accuracy")):
        twin = ax.twinx()
        style = "-o" if kind == "loss" else "--o"
        for split, colour in (("train", TRAIN), ("test", TEST)):
            ax.plot(bs, [r[f"{split}_{kind}"] for r in rows], style, color=colour, ms=4, label=f"{split} {ylabel}")
        for (label, v), colour, marker in zip(measures.items(), MEASURE_COLOURS, "^vDs"):
            twin.plot(bs, v, "-" + marker, color=colour, ms=5, lw=1.8, label=label)
        _batch_size_axis(ax, bs)
        ax.set_ylabel(ylabel)
        twin.set_ylabel(measure_label + (" (log scale)" if log_twin else ""),
                        color=MEASURE_COLOURS[0] if len(measures) == 1 else "black")
        if log_twin:
            twin.set_yscale("log")
        twin.grid(False)
        _merged_legend(ax, twin, fontsize=8, loc="best")
    fig.suptitle(wrap_title(title, 120))
    return fig


def plot_sharpness(batch_sizes, sharpness: dict[float, list], grad_norms, samples: int,
                   title: str) -> Figure:
    """Sharpness against batch size (log-log), and the same divided by eps.

    ``sharpness[eps][i]`` is the estimate for the model trained with ``batch_sizes[i]``;
    ``grad_norms[i]`` is ||grad L||_2 of that model on the same loss.  The right panel shows
    sharpness / eps: curves that coincide there grow linearly in eps, the signature of the
    first-order term g . delta; the dashed line is what that term alone predicts for
    ``samples`` uniform points, (E max of ``samples`` normals) * ||g||_2 / sqrt(3).
    """
    from statistics import NormalDist
    bs = np.asarray(batch_sizes, dtype=float)
    fig, (left, right) = subplots(1, 2, width=6.0, height=4.4)
    for (eps, values), colour in zip(sorted(sharpness.items()), MEASURE_COLOURS):
        values = np.asarray(values, dtype=float)
        left.plot(bs, values, "-^", color=colour, ms=5, label=f"eps = {eps:g}")
        right.plot(bs, values / eps, "-^", color=colour, ms=5, label=f"eps = {eps:g}")
    # Blom's approximation of the expected maximum of n standard normals
    expected_max = NormalDist().inv_cdf((samples - 0.375) / (samples + 0.25))
    right.plot(bs, expected_max * np.asarray(grad_norms) / np.sqrt(3), "--", color="grey",
               label=f"first-order term alone: {expected_max:.2f} ||grad L||_2 / sqrt(3)")
    for ax in (left, right):
        _batch_size_axis(ax, bs)
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    left.set(ylabel="sharpness: max L(theta + delta) - L(theta)",
             title="sharpness (log scale)")
    right.set(ylabel="sharpness / eps", title="sharpness / eps: equal curves = linear in eps")
    fig.suptitle(wrap_title(title, 120))
    return fig
