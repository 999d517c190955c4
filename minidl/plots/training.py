"""Training figures: learning curves of one run, and comparisons across runs."""
from __future__ import annotations

import math

from matplotlib.ticker import MaxNLocator

from minidl.plots import Figure, subplots

__all__ = ["plot_history", "plot_curves", "plot_comparison", "plot_accuracy_and_error", "mean_curve", "metric_label"]

METRIC_LABELS = {"train_loss": "training loss", "train_acc": "training accuracy",
                 "val_loss": "validation loss", "val_acc": "validation accuracy", "lr": "learning rate",
                 "test_loss": "test loss", "test_acc": "test accuracy"}


def metric_label(key: str) -> str:
    """Axis text for a metrics.csv column, e.g. ``val_acc`` -> ``validation accuracy``."""
    return METRIC_LABELS.get(key, key.replace("_", " "))


def _column(rows: list[dict], key: str) -> list[float]:
    return [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in rows]


def plot_history(rows: list[dict], title: str = "") -> Figure:
    """Loss and accuracy per epoch, train vs validation, side by side.

    ``rows`` are metrics rows with keys epoch, train_loss, and val_loss or
    test_loss; for classification also train_acc and val_acc or test_acc.
    """
    epochs = _column(rows, "epoch")
    has_acc = "train_acc" in rows[0]
    splits = (("train", "-o", "train"), ("val", "-s", "validation"), ("test", "-^", "test"))
    fig, axes = subplots(1, 2 if has_acc else 1, width=5.2, height=3.8, squeeze=False)
    for ax, kind, label in zip(axes[0], ("loss", "acc"), ("cross-entropy loss", "accuracy")):
        for split, style, name in splits:
            if f"{split}_{kind}" in rows[0]:
                ax.plot(epochs, _column(rows, f"{split}_{kind}"), style, ms=3, label=name)
        ax.set(xlabel="epoch", ylabel=label, title="loss" if kind == "loss" else "accuracy")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_curves(train_loss_history, train_acc_history, valid_loss_history, valid_acc_history,
                title: str = "") -> Figure:
    """CS 7643's ``plot_curves``: the same four lists, one value per epoch, the same two panels.

    A student's notebook cell works unchanged::

        train_loss_history, train_acc_history, valid_loss_history, valid_acc_history = run.curves()
        plot_curves(train_loss_history, train_acc_history, valid_loss_history, valid_acc_history)
    """
    lengths = {len(train_loss_history), len(train_acc_history), len(valid_loss_history), len(valid_acc_history)}
    if len(lengths) != 1:
        raise ValueError(f"plot_curves needs four histories of one length (one value per epoch); got lengths "
                         f"{[len(h) for h in (train_loss_history, train_acc_history, valid_loss_history, valid_acc_history)]}")
    rows = [{"epoch": e + 1, "train_loss": tl, "train_acc": ta, "val_loss": vl, "val_acc": va}
            for e, (tl, ta, vl, va) in enumerate(zip(train_loss_history, train_acc_history,
                                                     valid_loss_history, valid_acc_history))]
    return plot_history(rows, title or "training and validation curves")


def plot_comparison(curves: dict[str, list[dict]], key: str = "val_acc",
                    ylabel: str = "validation accuracy", title: str = "", legend_title: str = "",
                    logy: bool = False) -> Figure:
    """One line per run: ``curves`` maps a label (e.g. 'lr=0.1') to that run's metrics rows."""
    fig, ax = subplots(width=6.8, height=4.4)
    for label, rows in curves.items():
        if rows:
            ax.plot(_column(rows, "epoch"), _column(rows, key), "-o", ms=3, label=label)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if logy:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend(title=legend_title or None, fontsize=8)
    return fig


def plot_accuracy_and_error(curves: dict[str, list[dict]], key: str = "test_acc", title: str = "",
                            mark_best: bool = False) -> Figure:
    """Accuracy per epoch, and its error 1 - accuracy on a log axis, where runs near 1 can be told apart.

    ``curves`` maps a label to a run's metrics rows; each label gets its last-epoch value, and the
    legend sits below the panels, off the data.  ``mark_best`` draws the run with the best
    last-epoch value thicker and names it "best" in the legend.
    """
    fig, (acc_ax, err_ax) = subplots(1, 2, width=5.6, height=4.4)
    drawn = {label: rows for label, rows in curves.items() if rows}
    best = max(drawn, key=lambda label: _column(drawn[label], key)[-1]) if mark_best and drawn else None
    for label, rows in drawn.items():
        epochs, acc = _column(rows, "epoch"), _column(rows, key)
        text = f"{label}: {acc[-1]:.4f} at epoch {int(epochs[-1])}" + (" (best)" if label == best else "")
        width = 3.0 if label == best else 1.5
        line, = acc_ax.plot(epochs, acc, "-o", ms=3, lw=width, label=text)
        err_ax.plot(epochs, [max(1 - a, 1e-6) for a in acc], "-o", ms=3, lw=width, color=line.get_color())
    acc_ax.set(xlabel="epoch", ylabel=metric_label(key), title=metric_label(key))
    err_ax.set(xlabel="epoch", ylabel=f"error, 1 - {metric_label(key)} (log scale)", yscale="log",
               title="error (log scale)")
    for ax in (acc_ax, err_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*acc_ax.get_legend_handles_labels(), loc="lower center", ncol=min(len(drawn), 3) or 1, fontsize=8,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title, fontsize=10)
    rows_of_legend = -(-len(drawn) // 3)
    fig.set_layout_engine("tight", rect=(0, 0.05 + 0.04 * rows_of_legend, 1, 1))
    return fig


def mean_curve(runs: list[list[dict]], key: str) -> list[dict]:
    """Average several runs' metrics rows epoch by epoch (over the epochs they all reached).

    Used to draw one line per hyperparameter value when a sweep repeats each value over seeds.
    """
    runs = [r for r in runs if r]
    if len(runs) <= 1:
        return runs[0] if runs else []
    n = min(len(r) for r in runs)
    return [{"epoch": runs[0][i]["epoch"], key: sum(float(r[i][key]) for r in runs) / len(runs)} for i in range(n)]
