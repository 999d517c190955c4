"""Figures for optimizers on 2-D test surfaces (``minidl.toys.surfaces``).

Both functions take *tracks*: a sequence of objects with the attributes

    label:       legend text, e.g. ``"adams (adam, lr 0.001)"``
    path:        ``(T+1, 2)`` float array, the points p_0 .. p_T (finite ones only)
    values:      ``(T+1,)`` float array, f(p_0) .. f(p_T)
    diverged_at: the step at which the run diverged, or None

(``experiments.race.optimizer_race.RaceRun`` is one).  Each returns a matplotlib
figure; write it with ``minidl.plots.save``.  Only a log-spaced subsample of
each track (``max_points``) is drawn: 1e5 points per line would make slow,
heavy PNGs and look no different.
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatterSciNotation, LogLocator

from minidl.plots import Figure, subplots
from minidl.toys.surfaces import Surface

__all__ = ["log_spaced_indices", "plot_trajectories", "plot_errors"]


# white (low f) to mid grey (high f): light enough for coloured paths to stand out everywhere
_LIGHT_GREYS = ListedColormap(matplotlib.colormaps["Greys"](np.linspace(0.0, 0.62, 256)), name="light_greys")


def log_spaced_indices(n: int, max_points: int = 2000) -> np.ndarray:
    """Up to about ``max_points`` sorted unique indices into ``range(n)``, log-spaced.

    Always contains 0 and n - 1; dense at the start (where paths move fast),
    sparse at the end.  If ``n <= max_points`` every index is returned.
    """
    if n <= max_points:
        return np.arange(n)
    idx = np.geomspace(1, n, max_points).astype(np.int64) - 1   # 0 .. n-1
    return np.unique(np.concatenate([[0], idx, [n - 1]]))


def _fmt_steps(k: int) -> str:
    return f"{k:,}".replace(",", " ")


def plot_trajectories(surface: Surface, tracks: Sequence, window, title: str, *,
                      max_points: int = 2000, n_levels: int = 30, decades: float = 7.0,
                      resolution: int = 400) -> Figure:
    """Filled contours of ``surface`` with each track's path drawn over them.

    Args:
        surface:    a ``minidl.toys.surfaces.Surface``.
        tracks:     see the module docstring.
        window:     ``((x_lo, x_hi), (y_lo, y_hi))``; the axes are *fixed* to it, so a
                    diverging path leaves the frame instead of rescaling it.
        title:      figure title (say what was run: surface, start, steps, learning rates).
        n_levels:   number of contour levels, log-spaced over the ``decades`` below the
                    largest f - f* in the window.
        resolution: grid points per axis for the contours.
    Returns:
        the matplotlib Figure.
    """
    n_entries = len(tracks) + 4                      # legend lines under the axes
    fig, ax = subplots(width=7.0, height=6.6 + 0.2 * n_entries)
    _log_contours(fig, ax, surface, window, n_levels, decades, resolution)
    _draw_tracks(ax, tracks, max_points)
    # drawn under the end markers but larger, so both stay visible when a run ends on a minimum
    ax.plot(surface.minima[:, 0], surface.minima[:, 1], "*", color="gold", mec="k", mew=1.0,
            ms=22, zorder=6)
    starts = np.unique(np.array([np.asarray(t.path)[0] for t in tracks]), axis=0)
    ax.plot(starts[:, 0], starts[:, 1], "o", color="w", mec="k", mew=1.5, ms=9, zorder=8)
    (x_lo, x_hi), (y_lo, y_hi) = window
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title, fontsize=10)
    ax.grid(False)
    _marker_legend(ax, surface, tracks)
    return fig


def _log_contours(fig, ax, surface: Surface, window, n_levels: int, decades: float, resolution: int) -> None:
    """Filled contours of f - f* over ``window``, on log-spaced levels, with a colour bar."""
    (x_lo, x_hi), (y_lo, y_hi) = window
    X, Y = np.meshgrid(np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution))
    gap = np.maximum(surface.f(np.stack([X, Y], axis=-1)) - surface.f_min, 0.0)   # (res, res)
    # f - f* spans many decades (0 at the minimum, ~1e5 in the Rosenbrock corners), so the
    # levels are log-spaced; adding a small floor (a power of ten, `decades` below the
    # largest value) keeps the logarithm finite at the minimum itself.
    top = max(float(gap.max()), 1e-12)
    floor = 10.0 ** (math.ceil(math.log10(top)) - decades)
    Z = gap + floor
    levels = np.geomspace(floor, Z.max() * 1.0001, n_levels)
    filled = ax.contourf(X, Y, Z, levels=levels, norm=LogNorm(levels[0], levels[-1]), cmap=_LIGHT_GREYS)
    ax.contour(X, Y, Z, levels=levels[::3], colors="k", linewidths=0.3, alpha=0.35)
    bar = fig.colorbar(filled, ax=ax, pad=0.02, spacing="proportional",
                       ticks=LogLocator(numticks=20), format=LogFormatterSciNotation())
    bar.set_label(f"f − f* + {floor:g}   (log scale)")


def _draw_tracks(ax, tracks: Sequence, max_points: int) -> None:
    """Each track's path (log-spaced subsample), and a marker where it ended."""
    for i, track in enumerate(tracks):
        color = f"C{i}"
        path = np.asarray(track.path)
        idx = log_spaced_indices(len(path), max_points)
        ax.plot(path[idx, 0], path[idx, 1], "-", color=color, lw=1.6, alpha=0.9, label=_legend_text(track),
                zorder=3)
        end = path[-1]
        # runs that end on the same point would hide each other's markers: draw them as
        # concentric squares, the first track's the largest and lowest
        size = 6 + 3 * (len(tracks) - 1 - i)
        if track.diverged_at is not None:      # last finite point; usually far outside the frame
            ax.plot(*end, "X", color=color, ms=size + 3, mec="k", mew=0.8, zorder=7 + i)
        else:
            ax.plot(*end, "s", color=color, ms=size, mec="k", mew=0.8, zorder=7 + i)


def _marker_legend(ax, surface: Surface, tracks: Sequence) -> None:
    """The legend under the axes: one line per track, then what the markers mean."""
    n_min = len(surface.minima)
    markers = [
        Line2D([], [], ls="", marker="o", color="w", mec="k", mew=1.5, ms=8, label="start"),
        Line2D([], [], ls="", marker="s", color="0.6", mec="k", ms=7, label="end"),
        Line2D([], [], ls="", marker="X", color="0.6", mec="k", ms=8, label="last finite point (diverged)"),
        Line2D([], [], ls="", marker="*", color="gold", mec="k", ms=14,
               label="global minimum" if n_min == 1 else f"global minima ({n_min})"),
    ]
    if not any(t.diverged_at is not None for t in tracks):
        markers.pop(2)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + markers, loc="upper left", bbox_to_anchor=(0.0, -0.07), fontsize=8.5,
              borderaxespad=0.0)


def plot_errors(surface: Surface, tracks: Sequence, title: str, *, step_axis: str = "log",
                thresholds: Sequence[float] = (), max_points: int = 2000) -> Figure:
    """Two panels against step t: log10(f(p_t) - f*) and log10(distance to the nearest minimum).

    Args:
        surface:    the ``minidl.toys.surfaces.Surface`` the tracks ran on.
        tracks:     see the module docstring.
        title:      figure title.
        step_axis:  ``"log"`` (logarithmic beyond step 1: shows fast early phases and
                    1e5-step tails together) or ``"linear"`` (linear convergence is a line).
        thresholds: f - f* levels to draw as dotted reference lines, e.g. (1e-3, 1e-8).
    Returns:
        the matplotlib Figure.
    """
    if step_axis not in ("log", "linear"):
        raise ValueError(f"step_axis must be 'log' or 'linear'; got {step_axis!r}")
    fig, (ax_f, ax_d) = subplots(1, 2, width=5.6, height=4.0 + 0.2 * (len(tracks) + 1))
    steps, log_gaps, log_dists = [], [], []          # per track: subsampled steps and both curves
    for track in tracks:
        values = np.asarray(track.values, dtype=np.float64)
        idx = log_spaced_indices(len(values), max_points)
        steps.append(idx)
        log_gaps.append(_log10_positive(values[idx] - surface.f_min))
        log_dists.append(_log10_positive(surface.distance(np.asarray(track.path)[idx])))

    for ax, curves in ((ax_f, log_gaps), (ax_d, log_dists)):
        limits = _y_limits(tracks, curves)
        for i, (track, x, y) in enumerate(zip(tracks, steps, curves)):
            ax.plot(x, y, "-", color=f"C{i}", lw=1.4, label=_legend_text(track))
            if track.diverged_at is not None and y.size and np.isfinite(y[-1]):
                top = y[-1] if limits is None else min(y[-1], limits[1])
                ax.plot(x[-1], top, "X", color=f"C{i}", ms=9, mec="k", mew=0.8, clip_on=False, zorder=5)
        if limits is not None:
            ax.set_ylim(*limits)
    for k, level in enumerate(thresholds):
        label = "f − f* = " + ", ".join(f"{v:g}" for v in thresholds) if k == 0 else None
        ax_f.axhline(np.log10(level), color="0.4", ls=":", lw=1.0, label=label)
    last = max([len(t.values) - 1 for t in tracks] + [t.diverged_at or 0 for t in tracks] + [1])
    for ax in (ax_f, ax_d):
        ax.set_xlim(0, last)
        if step_axis == "log":
            # linear on [0, 1] and logarithmic beyond, so step 0 (the start) still has a place
            ax.set_xscale("symlog", linthresh=1.0, linscale=0.25)
            ax.set_xlabel("step t (log scale beyond 1)")
        else:
            ax.set_xlabel("step t")
    ax_f.set_ylabel("log₁₀( f(p_t) − f* )")
    ax_d.set_ylabel("log₁₀ ‖p_t − p*‖")
    ax_f.set_title("error in f", fontsize=10)
    ax_d.set_title("distance to the nearest minimum p*", fontsize=10)
    ax_f.legend(loc="upper left", bbox_to_anchor=(0.0, -0.21), fontsize=8.5, borderaxespad=0.0)
    fig.suptitle(title, fontsize=10.5)
    return fig


def _y_limits(tracks, curves):
    """(bottom, top) for one error panel, or None if no curve has a finite point.

    A diverging run climbs hundreds of decades in a few steps; rescaling for it would
    flatten every other curve.  So the top is set by the runs that did not diverge and by
    where every run started; a diverging curve leaves through the top edge, and its X
    (the last finite step) is pinned to that edge.
    """
    finite = [(t, y[np.isfinite(y)]) for t, y in zip(tracks, curves)]
    finite = [(t, y) for t, y in finite if y.size]
    if not finite:
        return None
    high = max([y[0] for _, y in finite] + [y.max() for t, y in finite if t.diverged_at is None])
    low = min(y.min() for _, y in finite)
    pad = 0.06 * (high - low) + 0.1
    return low - pad, high + pad


def _legend_text(track) -> str:
    if track.diverged_at is None:
        return track.label
    return f"{track.label}: diverged at step {_fmt_steps(track.diverged_at)}"


def _log10_positive(a: np.ndarray) -> np.ndarray:
    """log10 of ``a`` where a > 0, NaN (a gap in the line) where a <= 0 (an exact hit)."""
    out = np.full(a.shape, np.nan)
    np.log10(a, out=out, where=a > 0)
    return out
