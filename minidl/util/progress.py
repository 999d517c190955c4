"""Progress bars that render where the run is: tqdm's.

On a terminal, a bar redrawn in place; in Jupyter, a notebook progress bar
(``tqdm.auto`` picks it); in a log (CI, a pipe, a file), nothing at all, so that
a log keeps its one line per epoch and no carriage returns.

    bar = progress_bar(60000, "epoch 3/10")     # None where nobody can see a bar
    if bar is not None:
        bar.update(64); bar.close()
"""
from __future__ import annotations

import sys

__all__ = ["progress_bar", "is_terminal", "in_notebook"]


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where a notebook widget can show progress)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress_bar(total: int | None, desc: str, unit: str = "it", stream=None, leave: bool = False, **options):
    """A ``tqdm`` bar of ``total`` units (None if unknown), or None where no bar can be seen.

    ``leave=False`` clears the bar when it closes (the caller's summary line replaces it);
    other ``options`` go to tqdm, e.g. ``unit_scale=True`` for bytes.
    """
    if not (in_notebook() or is_terminal(stream)):
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit=unit, file=stream, leave=leave, dynamic_ncols=True, **options)
