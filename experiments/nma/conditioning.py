"""Section 4, poor conditioning: momentum, on a 2-parameter slice of a real loss.

Every parameter of the tutorial's linear model (784 -> 10, at its initialisation)
is frozen except two:

    u = the first layer's weight from input pixel 378 to output unit 0
        (torch's ``weight[0, 378]`` in its (out, in) layout = minidl's ``W[378, 0]``,
        whose layout is (in, out));
    v = the output layer's bias of class 7 (``bias[7]``).

For the linear model both live in its one Linear layer.  The loss over the
working set is then a function f(u, v) of two numbers.  Its gradient is the
model's own analytic backward pass, read off at the two entries.  The study

1. draws f on a 30 x 30 grid over [-4, 4]^2;
2. finds the optimum with Newton's method (``minidl.toys.newton``), its 2 x 2 Hessian
   from central differences of the analytic gradient;
3. runs GD and momentum (``minidl.optim.SGD``, the same step contract as a network)
   from (2.5, 3.7) for 300 steps at lr 0.1, beta 0.9, and plots the log distance
   to the optimum per parameter, and both paths over the contours.

    python -m experiments.nma.conditioning configs/nma/conditioning.yaml

Writes config.yaml, surface.png, distance.png, summary.json.
"""
from __future__ import annotations

import numpy as np

from experiments.nma import BLAS_THREADS, DATA_SCHEMA  # noqa: F401  (BLAS_THREADS: see the package)
from minidl.optim import SGD
from minidl.parameter import Parameter
from minidl.runs.cli import main
from minidl.runs.config import ConfigError, Key, fraction, hidden_widths, positive, positive_int
from minidl.toys.descent import descend


def _pair(value) -> str | None:
    ok = isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)
    return None if ok else "a pair [a, b] of numbers"


STUDY_SCHEMA = {
    "hidden": Key(list, [], hidden_widths, doc="[] = the tutorial's linear model"),
    "weight_index": Key(list, [378, 0], _pair, doc="[input, output] of the free first-layer weight (minidl layout)"),
    "bias_index": Key(int, 7, doc="class of the free output bias"),
    "grid": Key(int, 30, positive_int, doc="grid points per axis of the loss surface"),
    "window": Key(list, [-4.0, 4.0], _pair, doc="range of both parameters in the surface plot"),
    "start": Key(list, [2.5, 3.7], _pair, doc="start of GD and momentum"),
    "steps": Key(int, 300, positive_int),
    "lr": Key(float, 0.1, positive),
    "momentum": Key(float, 0.9, fraction),
    "newton_start": Key(list, [0.0, 0.0], _pair),
    "newton_steps": Key(int, 20, positive_int),
    "tol": Key(float, 1e-6, positive, doc="report the first step with both distances below this"),
    "report_steps": Key(int, 1000, positive_int, doc="run this long (unplotted) to find the step reaching tol"),
}
SCHEMA = {"Data": DATA_SCHEMA, "Study": STUDY_SCHEMA}


def check(cfg: dict, where: str) -> None:
    """ConfigError unless Study.weight_index / bias_index name entries of the model's W and b."""
    st = cfg["Study"]
    first_out = st["hidden"][0] if st["hidden"] else 10
    i, j = st["weight_index"]
    if not (isinstance(i, int) and isinstance(j, int) and 0 <= i < 784 and 0 <= j < first_out):
        raise ConfigError(f"{where}: Study.weight_index must be [input in 0..783, unit in 0..{first_out - 1}] "
                          f"(minidl's (in, out) layout); got {st['weight_index']}")
    if not 0 <= st["bias_index"] < 10:
        raise ConfigError(f"{where}: Study.bias_index must be a class in 0..9; got {st['bias_index']}")


class TwoParameterLoss:
    """The loss as a function of two parameters of ``model``, all others frozen.

    ``f(p)`` and ``grad(p)`` take p = (u, v): u = first Linear's ``W[weight_index]``,
    v = last Linear's ``b[bias_index]``.  ``grad`` runs the model's full backward
    pass and keeps the two entries of the gradient that belong to u and v.
    ``f`` also accepts a grid of points ``(..., 2)`` and returns ``(...)``.
    """

    def __init__(self, model, loss, X, y, weight_index=(378, 0), bias_index: int = 7):
        self.model, self.loss, self.X, self.y = model, loss, X, y
        layers = model.linear_layers()
        self.W, self.b = layers[0].W, layers[-1].b
        self.wi, self.bi = tuple(weight_index), int(bias_index)
        try:
            self.W.data[self.wi], self.b.data[self.bi]
        except IndexError:
            raise ValueError(f"weight index {list(self.wi)} / bias index {self.bi} out of range for "
                             f"W {self.W.data.shape}, b {self.b.data.shape}") from None

    def _set(self, p) -> None:
        self.W.data[self.wi], self.b.data[self.bi] = p[0], p[1]

    def f(self, p):
        p = np.asarray(p, dtype=np.float64)
        if p.ndim > 1:
            flat = p.reshape(-1, 2)
            return np.array([self.f(q) for q in flat]).reshape(p.shape[:-1])
        self._set(p)
        return float(self.loss.forward(self.model.forward(self.X), self.y))

    def grad(self, p) -> np.ndarray:
        self.f(p)
        self.model.backward(self.loss.backward(), input_grad=False)
        return np.array([self.W.grad[self.wi], self.b.grad[self.bi]], dtype=np.float64)


def walk(problem: TwoParameterLoss, start, steps: int, lr: float, momentum: float = 0.0) -> np.ndarray:
    """``steps`` steps of ``SGD(lr, momentum)`` on a 2-D Parameter; returns the (steps+1, 2) path."""
    param = Parameter(np.array(start, dtype=np.float64))
    return descend(problem.f, problem.grad, SGD([param], lr=lr, momentum=momentum), param, steps).path


def first_below(distances: np.ndarray, tol: float):
    """First step t with every |distance| < tol from t onwards, or None.  distances (T+1, 2)."""
    ok = (np.abs(distances) < tol).all(axis=1)
    if not ok[-1]:
        return None
    bad = np.flatnonzero(~ok)
    return int(bad[-1] + 1) if bad.size else 0


def run(cfg: dict, run_dir, log=print) -> dict:
    """The surface, Newton's optimum, GD and momentum from the same start; returns the summary."""
    from minidl.data import load_normalized_mnist, sample_with_replacement
    from minidl.losses import NLLLoss
    from minidl.models import NeuromatchMLP
    from minidl.toys.newton import finite_difference_hessian, newton

    st, seed = cfg["Study"], cfg["Data"]["seed"]
    data = load_normalized_mnist(cfg["Data"]["dir"])
    rng = np.random.default_rng(seed)
    X, y, _ = sample_with_replacement(*data["train"], cfg["Data"]["working_set"], rng)
    X = X.astype(np.float64)                     # float64: we want distances of 1e-6 and below to mean something
    model = NeuromatchMLP(st["hidden"], rng, dtype=np.float64)
    problem = TwoParameterLoss(model, NLLLoss(), X, y, st["weight_index"], st["bias_index"])
    newton_path = newton(problem.grad, st["newton_start"], steps=st["newton_steps"], tol=1e-13)
    opt = newton_path[-1]
    H = finite_difference_hessian(problem.grad, opt)
    eig = np.linalg.eigvalsh(H)
    # run past the plotted steps (report_steps) to find when each method reaches tol
    long = max(st["steps"], st["report_steps"])
    long_paths = {f"GD (lr {st['lr']:g})": walk(problem, st["start"], long, st["lr"]),
                  f"momentum (lr {st['lr']:g}, β {st['momentum']:g})":
                      walk(problem, st["start"], long, st["lr"], st["momentum"])}
    paths = {label: path[:st["steps"] + 1] for label, path in long_paths.items()}
    _plot(st, problem, paths, opt, eig, len(X), run_dir)
    log(f"optimum {opt.tolist()} (Newton, {len(newton_path) - 1} steps), loss {problem.f(opt):.6f}, "
        f"Hessian eigenvalues {eig.tolist()}, condition number {eig[-1] / eig[0]:.1f}")
    runs = {}
    for label, path in paths.items():
        within = first_below(np.abs(long_paths[label] - opt), st["tol"])
        runs[label] = {"final_point": path[-1].tolist(), "final_distance": np.abs(path[-1] - opt).tolist(),
                       "final_loss": problem.f(path[-1]), f"first_step_within_{st['tol']:g}": within,
                       "searched_up_to_step": long}
        log(f"{label:28s} distance after {st['steps']} steps {runs[label]['final_distance']}; first step "
            f"within tol for good: {within} (searched up to step {long})")
    return {"study": "NMA W1D5 section 4: poor conditioning and momentum", "working_set": len(X), "seed": seed,
            "free_parameters": {"u": f"W{list(st['weight_index'])} (torch weight[{st['weight_index'][1]}, "
                                     f"{st['weight_index'][0]}])", "v": f"b[{st['bias_index']}]"},
            "optimum": opt.tolist(), "optimum_loss": problem.f(opt),
            "optimum_grad_norm": float(np.linalg.norm(problem.grad(opt))),
            "newton_steps_taken": len(newton_path) - 1, "hessian": H.tolist(), "hessian_eigenvalues": eig.tolist(),
            "condition_number": float(eig[-1] / eig[0]), "gd_stable_lr_below": float(2 / eig[-1]), "runs": runs}


def _plot(st: dict, problem: TwoParameterLoss, paths: dict, opt, eig, n: int, run_dir) -> None:
    """surface.png (contours with both paths) and distance.png (distance to the optimum per parameter)."""
    from minidl import plots
    from minidl.plots.nma import plot_param_distances, plot_surface_paths
    lo, hi = st["window"]
    axis = np.linspace(lo, hi, st["grid"])
    U, V = np.meshgrid(axis, axis)
    Z = problem.f(np.stack([U, V], axis=-1))
    names = (f"u = W[{st['weight_index'][0]}, {st['weight_index'][1]}]", f"v = b[{st['bias_index']}]")
    x0 = ", ".join(f"{v:g}" for v in st["start"])
    fig = plot_surface_paths(U, V, Z, paths, opt, f"NLL over 2 free parameters of the linear model "
                             f"({n} images)\n{st['steps']} steps from ({x0}); Hessian condition number "
                             f"{eig[-1] / eig[0]:.0f}", names=names)
    plots.save(fig, run_dir / "surface.png")
    distances = {label: np.abs(path - opt) for label, path in paths.items()}
    fig = plot_param_distances(distances, f"Distance to the Newton optimum per parameter, {st['steps']} steps "
                               f"from ({x0})", names=("u", "v"), tol=st["tol"])
    plots.save(fig, run_dir / "distance.png")


if __name__ == "__main__":
    raise SystemExit(main(__name__))
