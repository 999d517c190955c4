"""Figures of the optimization studies (Neuromatch Academy DL W1D5, ``experiments/nma_*.py``).

Every function returns a matplotlib Figure; write it with ``minidl.plots.save``.
``plot_weight_images`` is general: it shows the columns of any (784, K) weight
matrix (a linear classifier's class templates, or the first-layer filters of
any trained MLP) as 28x28 images.
"""
from __future__ import annotations

import math

import numpy as np

from minidl.plots import Figure, subplots

__all__ = ["first_layer_weights", "plot_weight_images", "plot_delta_histograms", "plot_surface_paths",
           "plot_param_distances", "plot_loss_panels", "plot_timing", "plot_loss_vs_time",
           "plot_step_losses", "plot_iteration_curves", "moving_average"]


def first_layer_weights(model) -> np.ndarray:
    """The weight matrix W (D_in, D_out) of the first layer of ``model`` that has one."""
    for layer in getattr(model, "layers", [model]):
        if hasattr(layer, "W"):
            return np.asarray(layer.W.data)
    raise ValueError(f"{model!r} has no layer with a weight matrix W")


def plot_weight_images(weights, title: str, panel_titles=None, ncols: int = 5, max_images: int | None = None,
                       image_shape=(28, 28)) -> Figure:
    """Each column of ``weights`` as an image, on a diverging colour map centred at 0.

    Args:
        weights:      (784, K) array (minidl's (in, out) layout: column k is unit k's
                      filter), or a model, whose first layer's W is used.
        title:        what was trained, e.g. "linear model, Adam lr 7e-4, 200 steps".
        panel_titles: K labels (default "unit k"); e.g. the class digits.
        max_images:   show only the first this many columns.
    Red is a positive weight (the pixel votes for the unit), blue negative; one
    symmetric colour scale is shared by all panels, so panels can be compared.
    """
    W = first_layer_weights(weights) if not isinstance(weights, np.ndarray) else weights
    if W.ndim != 2 or W.shape[0] != math.prod(image_shape):
        raise ValueError(f"weights must have shape ({math.prod(image_shape)}, K); got {W.shape}")
    k = W.shape[1] if max_images is None else min(W.shape[1], max_images)
    ncols = min(ncols, k)
    nrows = math.ceil(k / ncols)
    # one extra narrow column on the right holds the shared colour bar
    fig, axes = subplots(nrows, ncols + 1, width=1.9, height=2.0, squeeze=False,
                         gridspec_kw={"width_ratios": [1.0] * ncols + [0.08]})
    grid = axes[0, -1].get_gridspec()
    for ax in axes[:, -1]:
        ax.remove()
    cax = fig.add_subplot(grid[:, -1])
    axes = axes[:, :-1]
    limit = float(np.abs(W[:, :k]).max()) or 1.0
    image = None
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.spines[:].set_visible(False)
        if i >= k:
            ax.axis("off")
            continue
        image = ax.imshow(W[:, i].reshape(image_shape), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(panel_titles[i] if panel_titles is not None else f"unit {i}", fontsize=9)
    fig.suptitle(title, fontsize=10)
    bar = fig.colorbar(image, cax=cax)
    bar.set_label("weight (0 = white)")
    return fig


def plot_delta_histograms(stages, title: str, bins: int = 30) -> Figure:
    """One panel per stage: histogram of the loss change of random perturbations, gradient step marked.

    stages: list of dicts with ``label`` (e.g. "at initialisation"), ``deltas`` ((M,) loss
    changes of the random directions), ``grad_delta`` (loss change of one gradient step),
    ``noise`` and ``lr``.
    """
    fig, axes = subplots(1, len(stages), width=5.0, height=3.8, squeeze=False)
    for ax, st in zip(axes[0], stages):
        d = np.asarray(st["deltas"])
        lo, hi = min(d.min(), st["grad_delta"]), max(d.max(), 0.0)
        pad = 0.05 * (hi - lo or 1.0)
        ax.hist(d, bins=np.linspace(lo - pad, hi + pad, bins), color="0.6", edgecolor="k", lw=0.5,
                label=f"{len(d)} random directions (noise {st['noise']:g})")
        ax.axvline(st["grad_delta"], color="C3", lw=2, label=f"one gradient step (lr {st['lr']:g})")
        ax.axvline(0.0, color="k", lw=0.8, ls=":")
        improved = int((d < 0).sum())
        ax.set(xlabel="Δloss = loss after − loss before (nats)", ylabel="count")
        ax.set_title(f"{st['label']}\n{improved} of {len(d)} random steps lower the loss", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    return fig


def plot_surface_paths(U, V, Z, paths: dict, optimum, title: str, names=("u", "v")) -> Figure:
    """Contours of a 2-parameter loss with optimizer paths drawn over them.

    U, V, Z: (H, W) grids (parameter values and loss); paths: label -> (T+1, 2) points;
    optimum: (2,) point, drawn as a star.
    """
    fig, ax = subplots(width=6.6, height=5.6)
    filled = ax.contourf(U, V, Z, levels=30, cmap="viridis")
    ax.contour(U, V, Z, levels=30, colors="k", linewidths=0.3, alpha=0.4)
    fig.colorbar(filled, ax=ax, pad=0.02).set_label("loss (NLL, nats)")
    for i, (label, path) in enumerate(paths.items()):
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], ".-", color=f"C{i + 1}", ms=2.5, lw=1.2, label=label)
    start = np.asarray(next(iter(paths.values())))[0]
    ax.plot(*start, "o", color="w", mec="k", ms=8, label="start")
    ax.plot(*optimum, "*", color="gold", mec="k", ms=16, label="optimum (Newton)")
    ax.set(xlim=(U.min(), U.max()), ylim=(V.min(), V.max()), xlabel=names[0], ylabel=names[1], title=title)
    ax.grid(False)
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_param_distances(distances: dict, title: str, names=("u", "v"), tol: float | None = None) -> Figure:
    """log distance |theta_i(t) - theta_i*| to the optimum per parameter against step.

    distances: label -> (T+1, 2) absolute distances.  One panel per parameter.
    """
    fig, axes = subplots(1, 2, width=5.0, height=3.8)
    for j, ax in enumerate(axes):
        for i, (label, d) in enumerate(distances.items()):
            d = np.maximum(np.asarray(d)[:, j], 1e-17)       # exact zeros would vanish on a log axis
            ax.semilogy(np.arange(len(d)), d, color=f"C{i + 1}", label=label)
        if tol is not None:
            ax.axhline(tol, color="k", ls=":", lw=1, label=f"{tol:g}")
        ax.set(xlabel="step", ylabel=f"|{names[j]} − {names[j]}*|  (log scale)", title=f"parameter {names[j]}")
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_loss_panels(panels, title: str, ylim=(0.0, 3.0), xlabel: str = "step") -> Figure:
    """Side-by-side panels of loss curves on a shared y-range.

    panels: list of ``(panel_title, [losses, ...])``; each losses is a (T,) array.
    """
    fig, axes = subplots(1, len(panels), width=4.4, height=3.6, squeeze=False, sharey=True)
    for ax, (panel_title, curves) in zip(axes[0], panels):
        for i, losses in enumerate(curves):
            ax.plot(np.arange(len(losses)), losses, lw=1.2, label=f"start {i + 1}")
        ax.set(xlabel=xlabel, title=panel_title, ylim=ylim)
    axes[0, 0].set_ylabel("training loss (NLL, nats)")
    axes[0, -1].legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_timing(batch_sizes, seconds: dict, title: str, spread: dict | None = None) -> Figure:
    """Seconds per forward+backward against batch size N, log-log, one line per model.

    seconds: label -> (K,) medians; spread: label -> ((K,) low, (K,) high), drawn as a band.
    """
    fig, ax = subplots(width=6.4, height=4.4)
    for i, (label, sec) in enumerate(seconds.items()):
        ax.loglog(batch_sizes, sec, "o-", ms=4, color=f"C{i}", label=label)
        if spread and label in spread:
            ax.fill_between(batch_sizes, *spread[label], color=f"C{i}", alpha=0.2)
    ax.set(xlabel="batch size N (examples)", ylabel="seconds per forward + backward (median)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def plot_loss_vs_time(curves: dict, budgets, title: str, ylim=None, clock: str = "wall clock") -> Figure:
    """Loss against training seconds, one line per label; budgets drawn as dotted verticals.

    curves: label -> ((T,) seconds, (T,) loss).
    """
    fig, ax = subplots(width=6.6, height=4.4)
    for i, (label, (t, loss)) in enumerate(curves.items()):
        ax.plot(t, loss, "-", color=f"C{i}", lw=1.4, label=label)
    for b in budgets:
        ax.axvline(b, color="k", ls=":", lw=0.8)
    ax.set(xlabel=f"training time (s, {clock}, evaluation excluded)", ylabel="training loss (NLL, nats)")
    ax.set_title(title, fontsize=10)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=8)
    return fig


def moving_average(x, width: int) -> np.ndarray:
    """Trailing mean over ``width`` points (shorter at the start); (T,) -> (T,)."""
    x = np.asarray(x, dtype=np.float64)
    c = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - width, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_step_losses(curves: dict, title: str, ylim=(0.0, 2.5), smooth: int = 20) -> Figure:
    """Per-step mini-batch loss (faint) and its ``smooth``-step moving average, one colour per label."""
    fig, ax = subplots(width=6.8, height=4.4)
    for i, (label, losses) in enumerate(curves.items()):
        steps = np.arange(1, len(losses) + 1)
        ax.plot(steps, losses, color=f"C{i}", lw=0.6, alpha=0.3)
        ax.plot(steps, moving_average(losses, smooth), color=f"C{i}", lw=1.8, label=label)
    ax.set(xlabel="step (mini-batch)", ylabel=f"mini-batch loss (NLL; bold: {smooth}-step mean)",
           title=title, ylim=ylim)
    ax.legend(fontsize=8)
    return fig


def plot_iteration_curves(rows: list[dict], title: str) -> Figure:
    """Train and validation loss and accuracy against the step (two panels).

    rows: ``Trainer.fit`` rows with ``step``, ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``
    (train: mean over the batches since the previous row; val: the fixed validation subset).
    """
    it = [r["step"] for r in rows]
    fig, axes = subplots(1, 2, width=5.2, height=3.8)
    for ax, kind, label in zip(axes, ("loss", "acc"), ("loss (NLL, nats)", "accuracy")):
        ax.plot(it, [r[f"train_{kind}"] for r in rows], "-", label="train (mean over the batches since the last point)")
        ax.plot(it, [r[f"val_{kind}"] for r in rows], "-", label="validation subset")
        ax.set(xlabel="step (mini-batches)", ylabel=label, title=label.split(" ")[0])
        ax.legend(fontsize=8)
    axes[0].set_yscale("log")
    fig.suptitle(title, fontsize=10)
    return fig
