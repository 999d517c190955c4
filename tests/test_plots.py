"""The plotting contract: every plot_* function returns its Figure, with labelled axes, a legend
where there are several lines, a title that says what ran, and log axes where the data spans decades."""
from types import SimpleNamespace

import numpy as np
import pytest

from minidl import plots
from minidl.plots import analysis, generalization, gradients, images, nma, surfaces, training
from minidl.toys.surfaces import get_surface

RNG = np.random.default_rng(0)
ROWS = [{"epoch": e, "step": 10 * e, "train_loss": 1 / e, "train_acc": 0.5 + e / 20, "val_loss": 1.2 / e,
         "val_acc": 0.5 + e / 25, "test_loss": 1.1 / e, "test_acc": 0.5 + e / 22, "lr": 0.1, "grad_ratio": 10.0 ** -e,
         "alpha": e / 5 - 0.5, **{f"grad_norm_{2 * i}.W": 10.0 ** (i - e) for i in range(3)}} for e in range(1, 6)]
TRACK = SimpleNamespace(path=np.array([[-4.0, -2.0], [0.0, 0.0], [0.9, 0.8]]), values=np.array([1e4, 1.0, 1e-2]),
                        label="gd (sgd, lr 1e-4)", diverged_at=None)

# name -> (figure, {axis index: scales expected}); each drawn from small made-up data
CASES = {
    "history": lambda: training.plot_history(ROWS, "run: TwoLayerNet"),
    "course_curves": lambda: plots.plot_curves([1.0, 0.5], [0.6, 0.8], [0.9, 0.6], [0.7, 0.75]),
    "comparison": lambda: training.plot_comparison({"lr=0.1": ROWS, "lr=1": ROWS[:3]}, title="sweep"),
    "accuracy_and_error": lambda: training.plot_accuracy_and_error({"CNN": ROWS, "MLP": ROWS[:3]}, title="cnn",
                                                                   mark_best=True),
    "weight_images": lambda: nma.plot_weight_images(RNG.normal(size=(25, 4)), "filters", image_shape=(5, 5)),
    "image_grid": lambda: images.plot_image_grid(RNG.random((2, 3, 28, 28)), "augmentation",
                                                 row_labels=["digit 0", "digit 1"], col_labels=["a", "b", "c"]),
    "function_fit": lambda: analysis.plot_function_fit(np.linspace(0, 1, 5), np.ones(5),
                                                       {"deep": {"loss": [1, 0.1], "pred": np.ones(5)},
                                                        "shallow": {"loss": [1, 0.5], "pred": np.zeros(5)}}, "fit"),
    "grad_norm": lambda: analysis.plot_grad_norm({"a": {"grad_norm": [1, 0.1], "loss": [2, 1]},
                                                  "b": {"grad_norm": [2, 0.2], "loss": [3, 1]}}, "gradient norm"),
    "weight_pca": lambda: analysis.plot_weight_pca(RNG.normal(size=(6, 2)), np.array([0, 0, 0, 1, 1, 1]),
                                                   np.full(6, 0.5), np.array([0, 1, 2] * 2), np.array([0.6, 0.3]),
                                                   "pca", moves=(RNG.normal(size=(6, 2)), np.array([0.7, 0.2]))),
    "minimal_ratio": lambda: analysis.plot_minimal_ratio([0.6, 0.7, 0.8], [1e-3, 1e-4, 1e-2],
                                                         [True, False, True], "minimal ratio", 1e-3,
                                                         minima=[False, False, True], ratios_tol0=[0.7, 0.8, 0.9]),
    "ratio_tolerance": lambda: analysis.plot_ratio_tolerance(RNG.normal(size=(4, 9)) * 10.0 ** -RNG.integers(0, 12, (4, 9)),
                                                             np.full(4, 1e-14), "tolerance"),
    "random_labels": lambda: generalization.plot_random_labels(ROWS, "random labels", passed_epoch=3),
    "vs_params": lambda: generalization.plot_vs_params([100, 1000, 10000], ROWS[:3], "loss", "params"),
    "interpolation": lambda: generalization.plot_interpolation(ROWS, ("theta1", "theta2"), "interpolation"),
    "vs_batch_size": lambda: generalization.plot_vs_batch_size([16, 64, 256], ROWS[:3], [1.0, 2.0, 3.0],
                                                               "sensitivity", "batch size"),
    "vs_batch_size_two_measures": lambda: generalization.plot_vs_batch_size(
        [16, 64, 256], ROWS[:3], {"mean over test images": [0.2, 0.3, 0.4], "at a random input": [0.01, 0.5, 2.0]},
        "sensitivity", "batch size"),
    "vs_batch_size_even_grid": lambda: generalization.plot_vs_batch_size(
        [500, 1000, 1500, 2000], ROWS[:4], [1.0, 2.0, 3.0, 4.0], "sensitivity", "batch size"),
    "sharpness": lambda: generalization.plot_sharpness([16, 64], {1e-3: [1e-4, 2e-4], 1e-2: [1e-3, 2e-3]},
                                                       [0.1, 0.2], 100, "sharpness"),
    "gradient_profiles": lambda: gradients.plot_gradient_profiles({"sigmoid": ROWS, "relu": ROWS}, title="gradients"),
    "delta_histograms": lambda: nma.plot_delta_histograms(
        [{"label": "at init", "deltas": RNG.normal(size=50), "grad_delta": -0.1, "noise": 0.01, "lr": 0.01}], "deltas"),
    "surface_paths": lambda: nma.plot_surface_paths(*np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5)),
                                                    np.ones((5, 5)) + np.arange(25).reshape(5, 5),
                                                    {"GD": np.zeros((3, 2)), "momentum": np.ones((3, 2))},
                                                    np.zeros(2), "surface"),
    "param_distances": lambda: nma.plot_param_distances({"GD": np.abs(RNG.normal(size=(5, 2))) + 1e-3,
                                                         "momentum": np.abs(RNG.normal(size=(5, 2))) + 1e-3},
                                                        "distances", tol=1e-6),
    "loss_panels": lambda: nma.plot_loss_panels([("MLP [10]", [np.linspace(2, 1, 5)] * 2)], "loss panels"),
    "timing": lambda: nma.plot_timing([1, 10, 100], {"a": np.array([1e-4, 2e-4, 1e-3]),
                                                     "b": np.array([2e-4, 3e-4, 2e-3])}, "timing"),
    "loss_vs_time": lambda: nma.plot_loss_vs_time({"batch 20": (np.array([0, 1.0]), np.array([2.3, 1.0])),
                                                   "batch 250": (np.array([0, 1.0]), np.array([2.3, 1.5]))},
                                                  [0.5, 1.0], "loss vs time"),
    "step_losses": lambda: nma.plot_step_losses({"SGD": np.linspace(2, 1, 30), "Adam": np.linspace(2, 0.5, 30)},
                                                "steps", smooth=5),
    "iteration_curves": lambda: nma.plot_iteration_curves(ROWS, "putting it together"),
    "trajectories": lambda: surfaces.plot_trajectories(get_surface("rosenbrock"), [TRACK], ((-5, 3), (-3, 17)),
                                                       "race", resolution=40),
    "errors": lambda: surfaces.plot_errors(get_surface("rosenbrock"), [TRACK], "race errors"),
}

LOG_AXES = {"comparison": [], "accuracy_and_error": [("y", 1)], "function_fit": [("y", 0)], "grad_norm": [("y", 0), ("y", 1)],
            "minimal_ratio": [("y", 0)], "ratio_tolerance": [("x", 0)], "vs_params": [("x", 0)], "sharpness": [("x", 0), ("y", 0)],
            "gradient_profiles": [("y", 0)], "timing": [("x", 0), ("y", 0)], "interpolation": [("y", 0)],
            "vs_batch_size_two_measures": [("x", 0), ("y", 2)]}
LINEAR_AXES = {"vs_batch_size_even_grid": [("x", 0), ("x", 1)]}       # evenly spaced batch sizes: a linear x axis


def _label(fig, ax, axis: str) -> str:
    """The axis label of ``ax``, or of an axes that shares that axis with it (or sits on top of it)."""
    shared = getattr(ax, f"get_shared_{axis}_axes")()
    for other in [ax, *fig.axes]:
        joined = other is ax or shared.joined(ax, other) or other.bbox.bounds == ax.bbox.bounds
        if joined and getattr(other, f"get_{axis}label")():
            return getattr(other, f"get_{axis}label")()
    return ""


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.patches or ax.images)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_plot_returns_a_labelled_figure(name):
    fig = CASES[name]()
    try:
        assert isinstance(fig, plots.Figure), f"plot {name} must return its Figure"
        titles = [fig._suptitle.get_text() if fig._suptitle else ""] + [ax.get_title() for ax in fig.axes]
        assert any(t.strip() for t in titles), f"{name}: no title says what ran"
        plotted = [ax for ax in fig.axes if _has_data(ax) and ax.get_label() != "<colorbar>"]
        assert plotted, f"{name}: nothing drawn"
        for ax in plotted:
            if (ax.images and not ax.lines) or hasattr(ax, "_colorbar"):   # a picture, or its colour bar
                continue
            # a panel may leave a label to the panel it shares that axis with, or to its twin
            assert _label(fig, ax, "x"), f"{name}: an axis without an x label"
            assert _label(fig, ax, "y"), f"{name}: an axis without a y label"
        labelled = [line for ax in plotted for line in ax.lines if not line.get_label().startswith("_")]
        if len(labelled) > 1:
            assert any(ax.get_legend() for ax in fig.axes) or fig.legends, f"{name}: several lines, no legend"
        for axis, index in LOG_AXES.get(name, []):
            scale = getattr(fig.axes[index], f"get_{axis}scale")()
            assert scale == "log", f"{name}: the {axis} axis of panel {index} should be logarithmic"
        for axis, index in LINEAR_AXES.get(name, []):
            scale = getattr(fig.axes[index], f"get_{axis}scale")()
            assert scale == "linear", f"{name}: the {axis} axis of panel {index} should be linear"
    finally:
        plots.plt.close(fig)


def test_save_writes_the_png_atomically_and_pyplot_holds_no_figure(tmp_path):
    before = plots.plt.get_fignums()
    fig = CASES["history"]()
    assert plots.plt.get_fignums() == before, "plots are not pyplot's: nothing global keeps them alive"
    path = plots.save(fig, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_plot_curves_has_the_course_signature_and_checks_its_lists():
    fig = plots.plot_curves(train_loss_history=[1.0, 0.5, 0.4], train_acc_history=[0.6, 0.8, 0.85],
                            valid_loss_history=[0.9, 0.6, 0.5], valid_acc_history=[0.7, 0.75, 0.8])
    loss, acc = fig.axes
    assert [list(line.get_ydata()) for line in loss.lines] == [[1.0, 0.5, 0.4], [0.9, 0.6, 0.5]]
    assert [line.get_label() for line in acc.lines] == ["train", "validation"]
    assert list(acc.lines[0].get_xdata()) == [1, 2, 3]
    plots.plt.close(fig)
    with pytest.raises(ValueError, match="four histories of one length"):
        plots.plot_curves([1.0], [0.5], [0.9, 0.8], [0.7])


def test_the_accuracy_figure_marks_the_best_last_value_and_keeps_the_legend_off_the_data():
    late = [dict(row, test_acc=row["test_acc"] + 0.01) for row in ROWS]
    fig = training.plot_accuracy_and_error({"lr=0.1": ROWS, "lr=1": late}, title="sweep", mark_best=True)
    try:
        labels = [text.get_text() for text in fig.legends[0].get_texts()]
        assert labels[1].startswith("lr=1:") and labels[1].endswith("(best)") and "(best)" not in labels[0]
        assert not any(ax.get_legend() for ax in fig.axes)           # one legend, below the panels
    finally:
        plots.plt.close(fig)

