"""Figures of the optimization studies (NTU MLDS 2018 HW1-1 and HW1-2): function fits,
gradient norms, weight-space PCA and the minimal ratio at near-critical points."""
from __future__ import annotations

import numpy as np

from minidl.plots import Figure, subplots, wrap_title

__all__ = ["plot_function_fit", "plot_grad_norm", "plot_weight_pca", "plot_minimal_ratio", "plot_ratio_tolerance"]


def plot_function_fit(x: np.ndarray, target: np.ndarray, fits: dict, title: str) -> Figure:
    """Two panels: training loss per epoch (log y) and the learned functions against the truth.

    ``fits`` maps a label (e.g. 'deep, 571 params') to ``{'loss': (E,) per epoch, 'pred': (N,)}``;
    x and target are (N,) arrays.
    """
    fig, (ax_loss, ax_fit) = subplots(1, 2, width=5.6, height=4.0)
    for label, fit in fits.items():
        loss = np.asarray(fit["loss"])
        ax_loss.plot(np.arange(1, loss.size + 1), loss, lw=1.2, label=label)
    ax_loss.set(xlabel="epoch (one full-batch Adam step)", ylabel="training MSE", yscale="log",
                title="training loss")
    ax_loss.legend(fontsize=8)
    ax_fit.plot(x, target, color="black", lw=2.5, alpha=0.35, label="ground truth")
    for label, fit in fits.items():
        ax_fit.plot(x, fit["pred"], lw=1.2, label=label)
    ax_fit.set(xlabel="x", ylabel="y", title="predictions after training")
    ax_fit.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def plot_grad_norm(traces: dict, title: str, loss_label: str = "training loss",
                   xlabel: str = "iteration (optimizer step)") -> Figure:
    """Gradient norm (top) and loss (bottom) against the iteration, sharing the x axis.

    ``traces`` maps a label to ``{'grad_norm': (T,), 'loss': (T,)}``, one value per step.
    Both panels have a log y axis.
    """
    fig, (ax_g, ax_l) = subplots(2, 1, width=7.0, height=2.9, sharex=True)
    for label, trace in traces.items():
        steps = np.arange(1, len(trace["grad_norm"]) + 1)
        ax_g.plot(steps, trace["grad_norm"], lw=0.9, label=label)
        ax_l.plot(steps, trace["loss"], lw=0.9, label=label)
    ax_g.set(ylabel="||gradient||, all parameters", yscale="log", title=wrap_title(title, 62))
    ax_l.set(xlabel=xlabel, ylabel=loss_label, yscale="log")
    if len(traces) > 1:
        ax_g.legend(fontsize=8)
    return fig


def _pca_panel(ax, projections, run, accuracy, epoch, ratio, label_every_point: bool) -> None:
    import matplotlib as mpl
    colours = mpl.colormaps["tab10"]
    for k, r in enumerate(np.unique(run)):
        sel = np.flatnonzero(run == r)
        sel = sel[np.argsort(epoch[sel])]
        pts, c = projections[sel], colours(k % 10)
        ax.plot(pts[:, 0], pts[:, 1], "-", color=c, lw=0.8, alpha=0.6)
        ax.scatter(pts[1:, 0], pts[1:, 1], color=c, s=14, label=f"seed {r}")
        ax.scatter(pts[:1, 0], pts[:1, 1], facecolors="none", edgecolors=c, s=34)
        shown = range(len(sel)) if label_every_point else (0, len(sel) - 1)
        for i in shown:
            ax.annotate(f"{100 * accuracy[sel[i]]:.0f}", pts[i], fontsize=6.5, color=c, xytext=(3, 2),
                        textcoords="offset points")
    ax.set(xlabel=f"principal component 1 ({100 * ratio[0]:.1f}% of variance)",
           ylabel=f"principal component 2 ({100 * ratio[1]:.1f}% of variance)")


def plot_weight_pca(projections: np.ndarray, run: np.ndarray, accuracy: np.ndarray, epoch: np.ndarray,
                    ratio: np.ndarray, title: str,
                    moves: tuple[np.ndarray, np.ndarray] | None = None) -> Figure:
    """Snapshots projected to 2-D, one colour per run, joined in epoch order (hollow: first snapshot).

    projections (M, 2); run, accuracy, epoch (M,); ratio (2,) explained-variance ratios.
    The left panel is the joint projection, labelled with the accuracy (%) of each run's first and
    last snapshot.  ``moves`` = (projections, ratio) of the displacements theta_t - theta_0 adds a
    right panel in which every run starts at the origin, every point labelled with its accuracy.
    """
    fig, axes = subplots(1, 2 if moves is not None else 1, width=6.4, height=5.6, squeeze=False)
    _pca_panel(axes[0, 0], projections, run, accuracy, epoch, ratio, label_every_point=False)
    axes[0, 0].set_title("snapshots of all runs, projected jointly\n(labels: accuracy % at the first and last)",
                         fontsize=9)
    axes[0, 0].legend(fontsize=7, ncol=2)
    if moves is not None:
        _pca_panel(axes[0, 1], moves[0], run, accuracy, epoch, moves[1], label_every_point=True)
        axes[0, 1].set_title("displacement from each run's start, theta_t - theta_0, projected jointly\n"
                             "(labels: accuracy % at every snapshot)", fontsize=9)
    fig.suptitle(wrap_title(title, 150))
    return fig


def plot_minimal_ratio(ratios: np.ndarray, losses: np.ndarray, converged: np.ndarray,
                       title: str, threshold: float, minima: np.ndarray | None = None,
                       ratios_tol0: np.ndarray | None = None, tol_name: str = "tol") -> Figure:
    """Final loss (log y) against minimal ratio, one point per run (the course's figure).

    ratios, losses, converged (R,); ``minima`` (R,) bool marks the end points with no clearly
    negative eigenvalue (triangles; saddles are circles).  Runs that missed the gradient-norm
    threshold are red crosses.  ``ratios_tol0`` (R,), the same runs' ratios at tol = 0, are drawn as
    hollow grey circles; ``tol_name`` names the tolerance of ``ratios`` on the x axis.
    """
    ratios, losses, converged = map(np.asarray, (ratios, losses, converged))
    minima = np.zeros(ratios.shape, bool) if minima is None else np.asarray(minima, bool)
    fig, ax = subplots(width=7.6, height=4.8)
    if ratios_tol0 is not None:
        ax.scatter(ratios_tol0, losses, s=18, facecolors="none", edgecolors="tab:gray",
                   label=f"the same runs at tol = 0 ({len(losses)} runs)")
    for mask, marker, color, what in ((converged & ~minima, "o", "tab:blue", "saddle"),
                                      (converged & minima, "^", "tab:green", "minimum")):
        if mask.any():
            ax.scatter(ratios[mask], losses[mask], s=18, marker=marker, color=color,
                       label=f"{what}, ||grad|| <= {threshold:g} ({int(mask.sum())} runs)")
    if (~converged).any():
        ax.scatter(ratios[~converged], losses[~converged], s=26, marker="x", color="tab:red",
                   label=f"||grad|| <= {threshold:g} not reached ({int((~converged).sum())} runs)")
    ax.set(xlabel=f"minimal ratio (fraction of Hessian eigenvalues > {tol_name})", ylabel="training MSE at the end",
           yscale="log", title=wrap_title(title, 90))
    ax.legend(fontsize=8)
    return fig


def plot_ratio_tolerance(eigenvalues: np.ndarray, rank_tols: np.ndarray, title: str) -> Figure:
    """How the eigenvalue counts depend on the tolerance; R runs, P eigenvalues each.

    eigenvalues (R, P); rank_tols (R,) each run's P * eps * max|lam|.  Left: the fraction of
    eigenvalues > tol (the minimal ratio) and < -tol against tol (log x): median over runs and the
    10-90 % band, with the tol = 0 medians as dotted lines.  Right: histograms of the number of
    negative eigenvalues per run at tol = 0 and at the rank tolerance.
    """
    lam, rank_tols = np.asarray(eigenvalues, dtype=np.float64), np.asarray(rank_tols, dtype=np.float64)
    top = max(float(np.abs(lam).max()), 1e-300)
    tols = np.logspace(np.log10(top) - 17, np.log10(top), 171)
    fig, (ax, ax_hist) = subplots(1, 2, width=6.4, height=4.6)
    for sign, color, what in ((1, "tab:blue", "positive, > tol: the minimal ratio"), (-1, "tab:red", "negative, < -tol")):
        frac = (sign * lam[:, None, :] > tols[None, :, None]).mean(axis=2)          # (R, T)
        lo, mid, hi = np.percentile(frac, [10, 50, 90], axis=0)
        ax.plot(tols, mid, color=color, label=f"{what} (median)")
        ax.fill_between(tols, lo, hi, color=color, alpha=0.2, lw=0)
        ax.axhline(np.median((sign * lam > 0).mean(axis=1)), color=color, ls=":", lw=1,
                   label=f"{what.split(',')[0]} at tol = 0 (median)")
    ax.axvline(np.median(rank_tols), color="black", ls="--", lw=1, label="rank tol P eps max|lam| (median)")
    ax.set(xscale="log", xlabel="eigenvalue tolerance tol (MSE per parameter^2)",
           ylabel=f"fraction of the {lam.shape[1]} eigenvalues", title="counts against the tolerance\n(band: 10-90 % of runs)")
    ax.legend(fontsize=7)
    counts = {"tol = 0": (lam < 0).sum(axis=1), "rank tol": (lam < -rank_tols[:, None]).sum(axis=1)}
    edges = np.arange(min(c.min() for c in counts.values()), max(c.max() for c in counts.values()) + 2) - 0.5
    for (name, c), color in zip(counts.items(), ("tab:gray", "tab:red")):
        ax_hist.hist(c, bins=edges, histtype="step", lw=1.5, color=color, label=f"{name} (median {np.median(c):g})")
    ax_hist.set(xlabel="negative eigenvalues per run (< -tol)", ylabel="runs", title="negative eigenvalues")
    ax_hist.legend(fontsize=8)
    fig.suptitle(wrap_title(title, 150), fontsize=9)
    return fig
