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

import argparse
import math
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minidl.runs.config import (REQUIRED, ConfigError, Key, apply_overrides, betas_pair, fraction, is_number,
                           load_yaml, non_negative, positive, positive_int, validate)
from minidl.optim import OPTIMIZERS, Optimizer
from minidl.parameter import Parameter
from minidl.runs.folder import create_run_dir, write_config, write_summary
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

OUTPUT_SCHEMA = {
    "dir": Key(str, "runs", doc="parent folder of the run folder"),
    "name": Key(str, None, doc="run name; null: the config file's stem"),
    "plot_points": Key(int, 2000, check=positive_int, doc="points drawn per line"),
    "step_axis": Key(str, "log", choices=["log", "linear"], doc="x axis of error.png"),
}

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


def _optimizers_schema(optimizers, where: str) -> dict:
    """The schema of the Optimizers section: one sub-section per label, shaped by its type."""
    if not isinstance(optimizers, dict) or not optimizers:
        raise ConfigError(f"{where}: Optimizers must be a non-empty mapping of label -> "
                          f"{{type: ..., lr: ...}}; got {optimizers!r}")
    schema = {}
    for label, entry in optimizers.items():
        if not isinstance(label, str):
            raise ConfigError(f"{where}: optimizer label {label!r} must be a string")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: Optimizers.{label} must be a mapping like "
                              f"{{type: sgd, lr: 1.0e-3}}; got {entry!r}")
        # check the type on its own first, so a bad type is reported as Optimizers.<label>.type
        validate({"Optimizers": {label: {k: v for k, v in entry.items() if k == "type"}}},
                 {"Optimizers": {label: {"type": _TYPE}}}, where)
        schema[label] = {"type": _TYPE, **OPTIMIZER_SCHEMAS[entry["type"]]}
    return schema


def validate_config(raw: dict, where: str = "config") -> dict:
    """Check a race config and return it resolved: defaults, start and window filled in.

    Raises ConfigError naming the key for unknown sections/keys/optimizer types/options,
    bad values, and options the optimizer or surface itself rejects.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of sections; got {type(raw).__name__}")
    schema = {"Race": RACE_SCHEMA, "Optimizers": _optimizers_schema(raw.get("Optimizers"), where),
              "Output": OUTPUT_SCHEMA}
    cfg = validate(raw, schema, where)

    race = cfg["Race"]
    surface = make_surface(cfg, where)
    if race["start"] is None:
        race["start"] = [float(v) for v in surface.start]
    if race["window"] is None:
        race["window"] = [[float(lo), float(hi)] for lo, hi in surface.window]
    probe = Parameter(np.zeros(2))                      # build each optimizer once, to check its options now
    for label in cfg["Optimizers"]:
        make_optimizer(cfg, label, probe, where)
    return cfg


def make_surface(cfg: dict, where: str = "config") -> Surface:
    race = cfg["Race"]
    try:
        return get_surface(race["surface"], **race["surface_options"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: Race.surface_options: {exc}") from None


def make_optimizer(cfg: dict, label: str, param: Parameter, where: str = "config") -> Optimizer:
    """The optimizer ``Optimizers.<label>`` of a validated config, moving ``param``."""
    options = dict(cfg["Optimizers"][label])
    kind = options.pop("type")
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    try:
        return OPTIMIZERS[kind]([param], **options)
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
    diverged_at: the step at which the run diverged (see ``race_one``), or None.
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


def race_one(surface: Surface, optimizer: Optimizer, param: Parameter, steps: int,
             diverge_above: float = 1e100):
    """Take ``steps`` steps of ``optimizer`` on ``surface``, recording p_t and f(p_t).

    Returns ``(path (T+1, 2), values (T+1,), diverged_at, why, wall seconds)``;
    ``diverged_at`` and ``why`` (what happened, in words) are None for a run that
    did not diverge.

    Divergence ends the run at step t, and the arrays keep the part before it, if
    step t overflows (or does an invalid operation) anywhere in the gradient, the
    update or f; or f(p_t) is not finite; or f(p_t) - f* > ``diverge_above``.  The
    last rule catches runs that diverge slowly: a point at 1e113 is lost even
    though its f, ~1e228, has not overflowed yet.
    """
    path = np.empty((steps + 1, 2))              # preallocated: recording costs ~0.2 us a step
    values = np.empty(steps + 1)
    path[0] = param.data
    values[0] = surface.f(param.data)
    f, grad, step, f_min = surface.f, surface.grad, optimizer.step, surface.f_min   # locals: a tighter loop
    diverged_at = why = None
    start = time.perf_counter()
    # Overflow is an *expected outcome* here (a too-large learning rate), so instead of
    # letting NumPy print a RuntimeWarning and carry on with inf/nan, make it raise and
    # record the step.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for t in range(1, steps + 1):
            try:
                param.grad = grad(param.data)
                step()
                value = f(param.data)
            except FloatingPointError as exc:        # e.g. "overflow encountered in scalar multiply"
                diverged_at, why = t, str(exc)
                break
            if not math.isfinite(value) or value - f_min > diverge_above:
                diverged_at, why = t, f"f - f* = {value - f_min:.3g} > diverge_above = {diverge_above:g}"
                break
            path[t] = param.data
            values[t] = value
    wall = time.perf_counter() - start
    last = steps if diverged_at is None else diverged_at - 1
    return path[:last + 1].copy(), values[:last + 1].copy(), diverged_at, why, wall


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


def run_race(cfg: dict, where: str = "config") -> RaceResult:
    """Validate ``cfg`` (a raw or resolved config dict) and race every optimizer in it.

    No files are written; ``main`` does that.  Usable from tests::

        result = run_race(load_yaml("configs/race/b_lr1e-4.yaml"))
        result.runs["gd"].path[-1]
    """
    cfg = validate_config(cfg, where)
    surface = make_surface(cfg, where)
    race = cfg["Race"]
    runs = {}
    for name, options in cfg["Optimizers"].items():
        param = Parameter(np.array(race["start"], dtype=np.float64))
        optimizer = make_optimizer(cfg, name, param, where)
        path, values, diverged_at, why, wall = race_one(surface, optimizer, param, race["steps"],
                                                        race["diverge_above"])
        runs[name] = RaceRun(name, optimizer, path, values, diverged_at, why, wall, _label(name, options))
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


def write_outputs(result: RaceResult, run_dir: Path) -> None:
    """trajectories.png, error.png and summary.json in ``run_dir``."""
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
    write_summary(run_dir, result.summary())


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


def main(argv=None) -> Path:
    """Command line entry point; returns the run folder."""
    parser = argparse.ArgumentParser(prog="python -m experiments.race.optimizer_race",
                                     description="Race minidl optimizers on a 2-D test surface.")
    parser.add_argument("config", help="YAML config, e.g. configs/race/b_lr1e-4.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set Optimizers.gd.lr=1.0e-3 (repeatable)")
    parser.add_argument("--steps", type=int, default=None,
                        help="override Race.steps, e.g. for a quick run")
    args = parser.parse_args(argv)

    raw = apply_overrides(load_yaml(args.config), args.set)
    if args.steps is not None:
        raw = apply_overrides(raw, [f"Race.steps={args.steps}"], source="--steps")
    cfg = validate_config(raw, where=args.config)
    run_dir = create_run_dir(cfg["Output"]["dir"], cfg["Output"]["name"] or Path(args.config).stem)
    write_config(run_dir, cfg)

    result = run_race(cfg, where=args.config)
    write_outputs(result, run_dir)
    print(f"{result.surface!r}, {cfg['Race']['steps']} steps from {tuple(cfg['Race']['start'])}")
    print(format_table(result.summary()))
    print(f"wrote {run_dir}")
    return run_dir


if __name__ == "__main__":
    try:
        main()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
