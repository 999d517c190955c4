"""Figures.  Every experiment draws through this package, never its own copy.

One contract: every ``plot_*`` function draws one figure and *returns* it (a
``matplotlib.figure.Figure``, which a notebook shows inline); the caller saves
it, atomically, with ``save``.  Axes are labelled, several lines get a legend,
and the title says what ran.

matplotlib is imported here, so ``import minidl`` itself stays free of it,
with the Agg backend, which needs no display.  In a Jupyter kernel the
notebook's own backend stays, so a returned figure shows inline.

    from minidl import plots
    fig, ax = plots.subplots()
    ...
    plots.save(fig, run_dir / "curves.png")
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

from minidl.util.progress import in_notebook

if not in_notebook():
    matplotlib.use("Agg")
else:
    try:                # the notebook's inline backend: a figure a cell returns is shown, once
        import matplotlib_inline.backend_inline  # noqa: F401
    except ImportError:
        pass
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from minidl.util.fileio import atomic_write_bytes  # noqa: E402

__all__ = ["plt", "Figure", "subplots", "save", "wrap_title", "plot_curves"]

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
}


def subplots(nrows: int = 1, ncols: int = 1, width: float = 6.4, height: float = 4.2, **kwargs):
    """A new figure and its axes (as ``plt.subplots`` returns them) in the house style; the size is per panel.

    The figure is not pyplot's: nothing global holds it, so it is freed when dropped, and a
    notebook shows it once, when a cell returns it.
    """
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width * ncols, height * nrows), layout="tight")     # laid out at every draw
        axes = fig.subplots(nrows, ncols, **kwargs)
    for ax in (axes.flat if hasattr(axes, "flat") else [axes]):
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def wrap_title(title: str, width: int) -> str:
    """Wrap each line of a title to ``width`` characters, so it is never cut off."""
    import textwrap
    return "\n".join(part for line in title.split("\n") for part in textwrap.wrap(line, width) or [""])


def save(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` as a PNG atomically and return the path (a pyplot figure is also closed)."""
    import io
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=STYLE["savefig.dpi"])
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


# CS 7643's helper, at the package's top as the course's notebooks call it (after subplots and save,
# which its module imports from here)
from minidl.plots.training import plot_curves  # noqa: E402
