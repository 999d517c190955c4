"""Optimizer race on 2-D test surfaces (issue 4; the assignment's Problem 1).

Several optimizers start from the same point on a test surface (Rosenbrock by
default) and each takes the same number of steps.  Every optimizer is the
library's own (``minidl.optim``), moving a 2-D ``Parameter`` exactly as it
would move a network's weights::

    p.grad = surface.grad(p.data)      # the "backward pass" of a 2-D point
    optimizer.step()

Run::

    python -m experiments.race.optimizer_race configs/race/b_lr1e-4.yaml
    python -m experiments.race.optimizer_race configs/race/c_lr1e-3.yaml --steps 2000
    python -m experiments.race.optimizer_race configs/race/all_optimizers.yaml --set Optimizers.adams.lr=3.0e-3

Writes ``runs/<name>-<time>/``: config.yaml (resolved), trajectories.png,
error.png and summary.json, then prints a table.

Config (validated with ``minidl.runs.config`` before anything runs)::

    Race:
      surface: rosenbrock            # rosenbrock | beale | himmelblau | quadratic
      surface_options: {}            # e.g. {condition: 100, angle: 30} for quadratic
      start: [-4, -2]                # null: the surface's default start
      steps: 100000
      window: [[-5, 3], [-3, 17]]    # fixed plot range [[x_lo, x_hi], [y_lo, y_hi]]; null: the surface's
      thresholds: [1.0e-3, 1.0e-8]   # report the first step with f - f* below each
      diverge_above: 1.0e100         # a run has diverged when f - f* overflows, is not finite, or exceeds this
    Optimizers:                      # label -> {type, lr, options of that type}
      gd:          {type: sgd, lr: 1.0e-4}
      gd_with_mom: {type: sgd, lr: 1.0e-4, momentum: 0.9}
      adams:       {type: adam, lr: 1.0e-4, betas: [0.9, 0.99], eps: 1.0e-8, eps_inside_sqrt: true}
    Output:
      dir: runs
      name: null                     # null: the config file's stem
      plot_points: 2000              # points drawn per line (log-spaced subsample)
      step_axis: log                 # x axis of error.png: log | linear

Course conventions: ``gd`` is SGD; ``gd_with_mom`` (v = 0.9 v + g; p -= eta v)
is SGD with momentum 0.9 and no dampening; ``adams`` is Adam with betas
(0.9, 0.99) and eps 1e-8 *inside* the square root (``eps_inside_sqrt: true``).
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minidl.optim import Optimizer, build_optimizer
from minidl.parameter import Parameter
from minidl.runs.cli import OUTPUT_SCHEMA, main
from minidl.runs.config import (REQUIRED, ConfigError, Key, betas_pair, fraction, is_number, non_negative, positive,
                                positive_int, validate)
from minidl.toys.descent import descend
from minidl.toys.surfaces import SURFACES, Surface, get_surface

# ---------------------------------------------------------------------------
# config schema
# ---------------------------------------------------------------------------


def _point(value) -> str | None:
    ok = isinstance(value, list) and len(value) == 2 and all(map(is_number, value))
    return None if ok else "a point [x, y] of two finite numbers"


def _window(value) -> str | None:
    expected = "[[x_lo, x_hi], [y_lo, y_hi]] with lo < hi"
    if not (isinstance(value, list) and len(value) == 2):
        return expected
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(map(is_number, pair)) and pair[0] < pair[1]):
            return expected
    return None


def _thresholds(value) -> str | None:
    ok = all(is_number(v) and v > 0 for v in value)
    return None if ok else "a list of numbers > 0, e.g. [1.0e-3, 1.0e-8]"


def _dampening(value) -> str | None:
    return None if 0 <= value <= 1 else "a number in [0, 1]"


RACE_SCHEMA = {
    "surface": Key(str, REQUIRED, choices=list(SURFACES), doc="test function, see minidl.toys.surfaces"),
    "surface_options": Key(dict, {}, doc="keyword options of the surface"),
    "start": Key(list, None, check=_point, doc="[x0, y0]; null: the surface's default"),
    "steps": Key(int, REQUIRED, check=positive_int, doc="optimizer steps per racer"),
    "window": Key(list, None, check=_window, doc="fixed plot range; null: the surface's default"),
    "thresholds": Key(list, [1.0e-3, 1.0e-8], check=_thresholds, doc="f - f* levels to report"),
    "diverge_above": Key(float, 1.0e100, positive, doc="f - f* beyond which a run counts as diverged"),
}

SCHEMA = {
    "Race": RACE_SCHEMA,
    "Optimizers": Key(dict, REQUIRED, doc="label -> {type, lr, options of that type}"),
    "Output": {**OUTPUT_SCHEMA,
               "plot_points": Key(int, 2000, check=positive_int, doc="points drawn per line"),
               "step_axis": Key(str, "log", choices=["log", "linear"], doc="x axis of error.png")},
}

FLAGS = {"--steps": "Race.steps"}

# One schema per optimizer type: exactly the constructor's options that make sense for a
# point on a surface.  weight_decay is left out on purpose: it would add (wd/2)|p|^2 to f,
# so the optimizers would race on a different surface with a different minimum.
# The defaults are the constructors' (tests/test_optimizer_race.py checks they agree).
_LR = Key(float, REQUIRED, positive, doc="learning rate")
OPTIMIZER_SCHEMAS = {
    "sgd": {"lr": _LR,
            "momentum": Key(float, 0.0, non_negative, doc="0.9 = course gd_with_mom"),
            "dampening": Key(float, 0.0, _dampening),
            "nesterov": Key(bool, False)},
    "adam": {"lr": _LR,
             "betas": Key(list, [0.9, 0.999], betas_pair, doc="[0.9, 0.99] = course adams"),
             "eps": Key(float, 1e-8, non_negative),
             "amsgrad": Key(bool, False),
             "eps_inside_sqrt": Key(bool, False, doc="true = course adams: sqrt(v_hat + eps)")},
    "rmsprop": {"lr": _LR,
                "alpha": Key(float, 0.99, fraction),
                "eps": Key(float, 1e-8, non_negative),
                "momentum": Key(float, 0.0, non_negative),
                "centered": Key(bool, False),
                "eps_inside_sqrt": Key(bool, False)},
    "adagrad": {"lr": _LR,
                "eps": Key(float, 1e-10, non_negative)},
}
_TYPE = Key(str, REQUIRED, choices=list(OPTIMIZER_SCHEMAS), doc="optimizer type")


def _check_optimizer(label, entry, where: str) -> dict:
    """One entry of Optimizers, validated against the schema of its type (defaults filled in)."""
    if not isinstance(label, str):
        raise ConfigError(f"{where}: optimizer label {label!r} must be a string")
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: Optimizers.{label} must be a mapping like "
                          f"{{type: sgd, lr: 1.0e-3}}; got {entry!r}")
    # check the type on its own first, so a bad type is reported as Optimizers.<label>.type
    validate({"Optimizers": {label: {k: v for k, v in entry.items() if k == "type"}}},
             {"Optimizers": {label: {"type": _TYPE}}}, where)
    schema = {"Optimizers": {label: {"type": _TYPE, **OPTIMIZER_SCHEMAS[entry["type"]]}}}
    return validate({"Optimizers": {label: entry}}, schema, where)["Optimizers"][label]


def check(cfg: dict, where: str = "config") -> None:
    """Validate every optimizer by its type's schema, build each once (so options the
    optimizer itself rejects are named now), and fill in the surface's start and window."""
    if not cfg["Optimizers"]:
        raise ConfigError(f"{where}: Optimizers must be a non-empty mapping of label -> {{type: ..., lr: ...}}")
    cfg["Optimizers"] = {label: _check_optimizer(label, entry, where) for label, entry in cfg["Optimizers"].items()}
    race = cfg["Race"]
    surface = make_surface(cfg, where)
    if race["start"] is None:
        race["start"] = [float(v) for v in surface.start]
    if race["window"] is None:
        race["window"] = [[float(lo), float(hi)] for lo, hi in surface.window]
    probe = Parameter(np.zeros(2))
    for label in cfg["Optimizers"]:
        make_optimizer(cfg, label, probe, where)


def make_surface(cfg: dict, where: str = "config") -> Surface:
    race = cfg["Race"]
    try:
        return get_surface(race["surface"], **race["surface_options"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: Race.surface_options: {exc}") from None


def make_optimizer(cfg: dict, label: str, param: Parameter, where: str = "config") -> Optimizer:
    """The optimizer ``Optimizers.<label>`` of a checked config, moving ``param``."""
    try:
        return build_optimizer(cfg["Optimizers"][label], [param])
    except ValueError as exc:            # e.g. nesterov without momentum
        raise ConfigError(f"{where}: Optimizers.{label}: {exc}") from None


# ---------------------------------------------------------------------------
# the race
# ---------------------------------------------------------------------------


@dataclass
class RaceRun:
    """One optimizer's run.

    path:        (T+1, 2) float64, the points p_0 .. p_T; T = steps, or the last
                 finite step if the run diverged.
    values:      (T+1,) float64, f(p_0) .. f(p_T).
    diverged_at: the step at which the run diverged (see ``minidl.toys.descent.descend``), or None.
    diverged_why: what happened at that step, in words, or None.
    wall_time:   seconds spent in the step loop.
    label:       legend text for the figures.
    """
    name: str
    optimizer: Optimizer
    path: np.ndarray
    values: np.ndarray
    diverged_at: int | None
    diverged_why: str | None
    wall_time: float
    label: str


@dataclass
class RaceResult:
    cfg: dict                      # the resolved config
    surface: Surface
    runs: dict[str, RaceRun]       # in config order

    def summary(self) -> dict:
        """Everything summary.json holds (plain Python types)."""
        race, s = self.cfg["Race"], self.surface
        out = {"surface": {"name": s.name, "repr": repr(s), "minima": s.minima.tolist(), "f_min": s.f_min},
               "start": race["start"], "steps": race["steps"], "window": race["window"], "optimizers": {}}
        for name, run in self.runs.items():
            gap = run.values - s.f_min
            below = {}
            for level in race["thresholds"]:
                hits = np.flatnonzero(gap < level)
                below[f"{level:.0e}"] = int(hits[0]) if hits.size else None
            end = run.path[-1]
            out["optimizers"][name] = {
                "optimizer": repr(run.optimizer),
                "steps_run": len(run.values) - 1,
                "final_point": end.tolist(),
                "final_f": float(run.values[-1]),
                "final_f_minus_f_min": float(gap[-1]),
                "final_distance": float(s.distance(end)),
                "first_step_below": below,
                "diverged": run.diverged_at is not None,
                "diverged_at_step": run.diverged_at,
                "diverged_why": run.diverged_why,
                "wall_time_s": round(run.wall_time, 4),
            }
        return out


def _label(name: str, options: dict) -> str:
    text = f"{name} ({options['type']}, lr {options['lr']:g}"
    if options.get("momentum"):
        text += f", momentum {options['momentum']:g}"
    if options.get("nesterov"):
        text += ", Nesterov"
    if options["type"] == "adam":
        text += f", betas ({options['betas'][0]:g}, {options['betas'][1]:g})"
        if options.get("eps_inside_sqrt"):
            text += ", eps in sqrt"
    return text + ")"


def run_race(cfg: dict) -> RaceResult:
    """Race every optimizer of a checked config (``minidl.runs.cli.load_config``); writes nothing.

        result = run_race(load_config(optimizer_race, "configs/race/b_lr1e-4.yaml"))
        result.runs["gd"].path[-1]
    """
    surface = make_surface(cfg)
    race = cfg["Race"]
    runs = {}
    for name, options in cfg["Optimizers"].items():
        param = Parameter(np.array(race["start"], dtype=np.float64))
        optimizer = make_optimizer(cfg, name, param)
        walk = descend(surface.f, surface.grad, optimizer, param, race["steps"], surface.f_min, race["diverge_above"])
        runs[name] = RaceRun(name, optimizer, walk.path, walk.values, walk.diverged_at, walk.why, walk.seconds,
                             _label(name, options))
    return RaceResult(cfg, surface, runs)


# ---------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------


def _titles(result: RaceResult) -> tuple[str, str]:
    race = result.cfg["Race"]
    x0, y0 = race["start"]
    steps = f"{race['steps']:,}".replace(",", " ")
    head = f"{result.surface.title}: {steps} steps from ({x0:g}, {y0:g})"
    lrs = {name: opts["lr"] for name, opts in result.cfg["Optimizers"].items()}
    if len(set(lrs.values())) == 1:
        lr_text = f"learning rate {next(iter(lrs.values())):g} for all"
    else:
        # a no-break space keeps each "name lr" pair on one line when the title wraps
        lr_text = "learning rates: " + ", ".join(f"{n}\u00a0{lr:g}" for n, lr in lrs.items())
    narrow = "\n".join([head] + textwrap.wrap(lr_text, 75))     # for the one-panel figure
    wide = "\n".join(textwrap.wrap(f"{head}; {lr_text}", 140))   # for the two-panel figure
    return narrow, wide


def write_figures(result: RaceResult, run_dir: Path) -> None:
    """trajectories.png and error.png in ``run_dir``."""
    from minidl import plots
    from minidl.plots.surfaces import plot_errors, plot_trajectories

    out = result.cfg["Output"]
    narrow_title, wide_title = _titles(result)
    tracks = list(result.runs.values())
    fig = plot_trajectories(result.surface, tracks, result.cfg["Race"]["window"], narrow_title,
                            max_points=out["plot_points"])
    plots.save(fig, run_dir / "trajectories.png")
    fig = plot_errors(result.surface, tracks, wide_title, step_axis=out["step_axis"],
                      thresholds=result.cfg["Race"]["thresholds"], max_points=out["plot_points"])
    plots.save(fig, run_dir / "error.png")


def format_table(summary: dict) -> str:
    """A short fixed-width table of summary.json's per-optimizer results."""
    levels = list(next(iter(summary["optimizers"].values()))["first_step_below"])
    w = max(len("optimizer"), *map(len, summary["optimizers"]))
    head = (f"{'optimizer':<{w}} {'final point':>28} {'f - f*':>10} {'distance':>10} "
            + " ".join(f"{'<' + lv:>8}" for lv in levels) + f" {'diverged':>9} {'time':>7}")
    lines = [head, "-" * len(head)]
    for name, r in summary["optimizers"].items():
        x, y = r["final_point"]
        hits = " ".join(f"{'-' if v is None else v:>8}" for v in r["first_step_below"].values())
        div = "-" if r["diverged_at_step"] is None else f"step {r['diverged_at_step']}"
        lines.append(f"{name:<{w}} {f'({x:.6g}, {y:.6g})':>28} {r['final_f_minus_f_min']:>10.2e} "
                     f"{r['final_distance']:>10.2e} {hits} {div:>9} {r['wall_time_s']:>6.2f}s")
    return "\n".join(lines)


def run(cfg: dict, run_dir: Path, log=print) -> dict:
    """Race, draw both figures, log the table; returns the summary."""
    result = run_race(cfg)
    write_figures(result, run_dir)
    summary = result.summary()
    log(f"{result.surface!r}, {cfg['Race']['steps']} steps from {tuple(cfg['Race']['start'])}")
    log(format_table(summary))
    return summary


if __name__ == "__main__":
    raise SystemExit(main(__name__))
