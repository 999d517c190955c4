"""Tests for experiments/race/optimizer_race.py: the optimizer race on 2-D surfaces.

The reference rows are a run of the course's reference functions (float64,
start (-4, -2), 1e5 steps), kept as a cross-check: the assignment itself
publishes no numbers for Problem 1.  They are checked through ``run_race``,
the experiment's own code path.
"""
import inspect
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments.race import optimizer_race
from experiments.race.optimizer_race import OPTIMIZER_SCHEMAS
from minidl.optim import OPTIMIZERS
from minidl.plots.surfaces import log_spaced_indices
from minidl.runs import cli
from minidl.runs.config import ConfigError, load_yaml


def validate_config(raw, where="config"):
    """A race config dict, validated and resolved as the command line does."""
    return cli.resolve_config(optimizer_race, raw, where)


def run_race(raw, where="config"):
    return optimizer_race.run_race(validate_config(raw, where))


def main(argv, out_dir):
    """The command line, in-process; returns the run folder it made in ``out_dir``."""
    assert cli.main(optimizer_race, argv) == 0
    (run_dir,) = out_dir.iterdir()
    return run_dir

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "race"
COURSE = {
    "gd": {"type": "sgd", "lr": 1e-4},
    "gd_with_mom": {"type": "sgd", "lr": 1e-4, "momentum": 0.9},
    "adams": {"type": "adam", "lr": 1e-4, "betas": [0.9, 0.99], "eps": 1e-8, "eps_inside_sqrt": True},
}


def race_cfg(optimizers, steps, surface="rosenbrock", start=(-4, -2), **race):
    return {"Race": {"surface": surface, "start": list(start), "steps": steps, **race},
            "Optimizers": optimizers}


def with_lr(spec, lr):
    return {**spec, "lr": lr}


# ---- the course's reference functions, written out as in the assignment -------------------------

def rosenbrock_grad(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])


def course_gd(eta, steps, p=(-4.0, -2.0)):
    p, path = np.array(p), []
    for _ in range(steps):
        p -= eta * rosenbrock_grad(p)
        path.append(p.copy())
    return np.array(path)


def course_gd_with_mom(eta, steps, gamma=0.9, p=(-4.0, -2.0)):
    p, v, path = np.array(p), np.zeros(2), []
    for _ in range(steps):
        v = gamma * v + rosenbrock_grad(p)
        p -= eta * v
        path.append(p.copy())
    return np.array(path)


def course_adams(eta, steps, gamma=0.9, beta=0.99, eps=1e-8, p=(-4.0, -2.0)):
    p, v, s, path = np.array(p), np.zeros(2), np.zeros(2), []
    for t in range(1, steps + 1):
        g = rosenbrock_grad(p)
        v = gamma * v + (1 - gamma) * g
        s = beta * s + (1 - beta) * g ** 2
        p -= eta * (v / (1 - gamma ** t)) / np.sqrt(s / (1 - beta ** t) + eps)
        path.append(p.copy())
    return np.array(path)


# ---- one step of every optimizer, by hand ----------------------------------------------------------
# At (-4, -2): g = (-2*5 - 400*(-4)*(-18), 200*(-18)) = (-28810, -3600); |g| >> every eps.

G0 = np.array([-28810.0, -3600.0])
ONE_STEP = [
    # p1 = p0 - lr g
    ("sgd", {"type": "sgd", "lr": 1e-4}, [-4 + 2.881, -2 + 0.36]),
    # momentum: first step v = g, the same as plain SGD
    ("momentum", {"type": "sgd", "lr": 1e-4, "momentum": 0.9}, [-4 + 2.881, -2 + 0.36]),
    # Nesterov: p1 = p0 - lr (g + 0.9 v) with v = g, i.e. 1.9 lr g
    ("nesterov", {"type": "sgd", "lr": 1e-4, "momentum": 0.9, "nesterov": True},
     [-4 + 1.9 * 2.881, -2 + 1.9 * 0.36]),
    # Adam: m_hat = g, v_hat = g^2 after bias correction, so the step is lr * sign(g)
    ("adams", {**COURSE["adams"], "lr": 1e-3}, [-3.999, -1.999]),
    ("adam", {"type": "adam", "lr": 1e-3}, [-3.999, -1.999]),
    # RMSprop: s = 0.01 g^2, so the step is lr g / (0.1 |g|) = 10 lr sign(g)
    ("rmsprop", {"type": "rmsprop", "lr": 1e-3}, [-3.99, -1.99]),
    # Adagrad: G = g^2, so the step is lr sign(g)
    ("adagrad", {"type": "adagrad", "lr": 0.1}, [-3.9, -1.9]),
]


@pytest.mark.parametrize("name, spec, expected", ONE_STEP, ids=[c[0] for c in ONE_STEP])
def test_one_step_by_hand(name, spec, expected):
    result = run_race(race_cfg({name: spec}, steps=1))
    run = result.runs[name]
    assert run.path.shape == (2, 2) and run.values.shape == (2,)
    np.testing.assert_array_equal(run.path[0], [-4.0, -2.0])
    np.testing.assert_allclose(run.path[1], expected, rtol=1e-12, atol=1e-13)
    assert run.values[0] == 32425.0
    assert run.values[1] == pytest.approx(result.surface.f(run.path[1]), rel=1e-15)


def test_second_momentum_step_by_hand():
    run = run_race(race_cfg({"m": COURSE["gd_with_mom"]}, steps=2)).runs["m"]
    p1 = np.array([-4 + 2.881, -2 + 0.36])
    v2 = 0.9 * G0 + rosenbrock_grad(p1)
    np.testing.assert_allclose(run.path[2], p1 - 1e-4 * v2, rtol=1e-14)


# ---- the experiment against the course reference functions, step by step -------------------------

def test_first_steps_match_course_reference_functions():
    steps = 2000
    result = run_race(race_cfg(COURSE, steps=steps))
    # The updates are the course's arithmetic; only rounding may differ (the course writes x**2,
    # which NumPy evaluates with pow() and which can be 1 ulp off x*x).
    np.testing.assert_allclose(result.runs["gd"].path[1:], course_gd(1e-4, steps), rtol=1e-12)
    np.testing.assert_allclose(result.runs["gd_with_mom"].path[1:], course_gd_with_mom(1e-4, steps), rtol=1e-12)
    np.testing.assert_allclose(result.runs["adams"].path[1:], course_adams(1e-4, steps), rtol=1e-11)


# ---- the reference table -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def scenario_b():
    """(b): all three at lr 1e-4, the full 1e5 steps (~2-3 s)."""
    return run_race(load_yaml(CONFIGS / "b_lr1e-4.yaml"), where="b_lr1e-4.yaml")


def test_b_full_length_matches_reference_table(scenario_b):
    runs = scenario_b.runs
    assert scenario_b.cfg["Race"]["steps"] == 100_000
    assert all(len(r.values) == 100_001 and r.diverged_at is None for r in runs.values())
    # gd: (0.99433, 0.98868), f = 3.2e-5, to 2 significant digits
    gd = runs["gd"]
    np.testing.assert_allclose(gd.path[-1], [0.99433, 0.98868], atol=1e-5)
    assert f"{gd.values[-1]:.1e}" == "3.2e-05"
    # momentum: (1, 1), f = 2.1e-26; required f < 1e-20
    mom = runs["gd_with_mom"]
    assert mom.values[-1] < 1e-20
    np.testing.assert_allclose(mom.path[-1], [1.0, 1.0], atol=1e-10)
    # course ADAM: (0.999997, 1.000003), f = 9.3e-9, within a factor of 10
    adams = runs["adams"]
    assert 9.3e-10 < adams.values[-1] < 9.3e-8
    np.testing.assert_allclose(adams.path[-1], [1.0, 1.0], atol=1e-4)


def test_b_summary_and_timing(scenario_b):
    summary = scenario_b.summary()
    gd = summary["optimizers"]["gd"]
    assert gd["first_step_below"]["1e-03"] is not None and gd["first_step_below"]["1e-08"] is None
    mom = summary["optimizers"]["gd_with_mom"]
    assert 0 < mom["first_step_below"]["1e-03"] < mom["first_step_below"]["1e-08"] < 100_000
    assert not mom["diverged"] and mom["diverged_at_step"] is None
    assert mom["final_distance"] < 1e-10
    json.dumps(summary, allow_nan=False)                 # plain, valid JSON
    assert all(r.wall_time > 0 for r in scenario_b.runs.values())      # timed (speed is benchmarked, not tested)


def test_c_momentum_diverges_and_is_reported_not_crashed():
    cfg = load_yaml(CONFIGS / "c_lr1e-3.yaml")
    cfg["Race"]["steps"] = 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no RuntimeWarning from the overflow
        result = run_race(cfg)
    mom = result.runs["gd_with_mom"]
    assert mom.diverged_at is not None and mom.diverged_at <= 10
    assert len(mom.path) == mom.diverged_at and np.all(np.isfinite(mom.path)) and np.all(np.isfinite(mom.values))
    summary = result.summary()["optimizers"]["gd_with_mom"]
    assert summary["diverged"] is True and summary["diverged_at_step"] == mom.diverged_at
    assert "diverge_above" in summary["diverged_why"]      # f passed 1e100 before it overflowed
    # without that bar, the overflow itself is caught, one step later, still without a warning
    cfg["Race"]["diverge_above"] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        later = run_race(cfg).runs["gd_with_mom"]
    assert later.diverged_at == mom.diverged_at + 1 and "overflow" in later.diverged_why
    assert result.runs["adams"].diverged_at is None
    # and NumPy's error state is back to normal afterwards
    assert np.geterr()["over"] == "warn"


def test_c_adams_full_length_matches_reference_table():
    """(c) ADAM at 1e-3: (0.99998, 1.00002), f = 4.1e-7 (factor 10).  ~1 s."""
    cfg = race_cfg({"adams": with_lr(COURSE["adams"], 1e-3)}, steps=100_000)
    adams = run_race(cfg).runs["adams"]
    assert 4.1e-8 < adams.values[-1] < 4.1e-6
    np.testing.assert_allclose(adams.path[-1], [0.99998, 1.00002], atol=1e-4)


def test_d_adams_1e2_full_length_matches_reference_table():
    """(d) ADAM at 1e-2: (0.9996, 1.0002), f = 1.1e-4 (factor 10).  ~1 s."""
    cfg = load_yaml(CONFIGS / "d_adam1e-2_vs_mom1e-4.yaml")
    del cfg["Optimizers"]["gd_with_mom"]                 # the same run as in (b), checked there
    adams = run_race(cfg).runs["adams"]
    assert 1.1e-5 < adams.values[-1] < 1.1e-3
    np.testing.assert_allclose(adams.path[-1], [1.0, 1.0], atol=2e-3)


def test_slow_divergence_is_caught_by_diverge_above():
    # Nesterov at lr 0.015 is unstable on a kappa = 100 bowl (needs lr * 100 < 2(1+mu)/(1+2mu)),
    # but grows only ~5% a step: f passes 1e100 long before it overflows.
    nesterov = {"type": "sgd", "lr": 0.015, "momentum": 0.9, "nesterov": True}
    cfg = race_cfg({"n": nesterov}, steps=1000, surface="quadratic", start=(-4, 2),
                   surface_options={"condition": 100, "angle": 30})
    run = run_race(cfg).runs["n"]
    assert run.diverged_at is not None and 100 < run.diverged_at < 1000
    assert run.values[-1] <= 1e100
    # with a higher bar it runs on until f passes 1e300 (or overflows), later
    cfg["Race"].update(diverge_above=1e300, steps=3000)
    assert run_race(cfg).runs["n"].diverged_at > run.diverged_at


def test_quadratic_config_shows_momentum_beating_gd():
    result = run_race(load_yaml(CONFIGS / "quadratic_momentum.yaml"))
    below = {n: s["first_step_below"]["1e-08"] for n, s in result.summary()["optimizers"].items()}
    assert below["gd_with_mom"] * 3 < below["gd"]
    assert below["gd_with_mom"] * 3 < below["gd_best_lr"]


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_config_validates(path):
    cfg = validate_config(load_yaml(path), where=path.name)
    assert cfg["Race"]["window"] is not None and cfg["Race"]["start"] is not None
    types = {o["type"] for o in cfg["Optimizers"].values()}
    if path.name == "all_optimizers.yaml":
        assert types == set(OPTIMIZERS)
        assert any(o.get("nesterov") for o in cfg["Optimizers"].values())


# ---- the command line ------------------------------------------------------------------------------

def test_main_smoke_run_writes_sane_outputs(tmp_path):
    import matplotlib.image as mpimg

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_dir = main([str(CONFIGS / "c_lr1e-3.yaml"), "--steps", "200", "--set", f"Output.dir={tmp_path}"], tmp_path)
    assert run_dir.parent == tmp_path and run_dir.name.startswith("c_lr1e-3-")
    for name in ("trajectories.png", "error.png"):
        image = mpimg.imread(run_dir / name)
        assert image.shape[0] > 400 and image.shape[1] > 400
        assert image[..., :3].std() > 0.05, f"{name} looks blank"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 200 and summary["start"] == [-4, -2]
    mom, adams = summary["optimizers"]["gd_with_mom"], summary["optimizers"]["adams"]
    assert mom["diverged"] and mom["diverged_at_step"] <= 10 and mom["steps_run"] == mom["diverged_at_step"] - 1
    assert not adams["diverged"] and adams["steps_run"] == 200
    assert set(adams) >= {"final_point", "final_f", "final_distance", "first_step_below", "wall_time_s"}
    config = load_yaml(run_dir / "config.yaml")
    assert config["Race"]["steps"] == 200 and config["Output"]["dir"] == str(tmp_path)
    assert config["Optimizers"]["adams"]["eps_inside_sqrt"] is True


def test_main_set_overrides_and_output_name(tmp_path):
    run_dir = main([str(CONFIGS / "b_lr1e-4.yaml"), "--steps", "50", "--set", f"Output.dir={tmp_path}",
                    "--set", "Output.name=quick", "--set", "Optimizers.gd.lr=2.0e-4",
                    "--set", "Output.step_axis=linear"], tmp_path)
    assert run_dir.name.startswith("quick-")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert "lr=0.0002" in summary["optimizers"]["gd"]["optimizer"]


def test_cli_reports_config_errors_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("Race: {surface: rosenbrock, steps: 10}\nOptimizers: {gd: {type: sgd, lr: 1e-4, momentun: 0.9}}\n")
    proc = subprocess.run([sys.executable, "-m", "experiments.race.optimizer_race", str(bad)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "unknown key Optimizers.gd.momentun (did you mean momentum?)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_yaml_1e_minus_4_is_read_as_a_number():
    # PyYAML reads 1e-4 (no dot) as the string '1e-4'; the config layer accepts it as a number
    cfg = validate_config(yaml.safe_load("Race: {surface: rosenbrock, steps: 10}\n"
                                         "Optimizers: {gd: {type: sgd, lr: 1e-4}}\n"))
    assert cfg["Optimizers"]["gd"]["lr"] == 1e-4


# ---- config errors name the key ------------------------------------------------------------------

@pytest.mark.parametrize("optimizers, message", [
    ({"gd": {"type": "adamw", "lr": 1e-3}},
     r"Optimizers\.gd\.type must be one of .*; got 'adamw' \(did you mean adam\?\)"),
    ({"gd": {"lr": 1e-3}}, r"missing required key Optimizers\.gd\.type"),
    ({"gd": {"type": "sgd", "lr": 1e-3, "momentun": 0.9}},
     r"unknown key Optimizers\.gd\.momentun \(did you mean momentum\?\)"),
    ({"a": {"type": "adam", "lr": 1e-3, "eps_in_sqrt": True}}, r"unknown key Optimizers\.a\.eps_in_sqrt"),
    ({"a": {"type": "adagrad", "lr": 1e-3, "momentum": 0.9}}, r"unknown key Optimizers\.a\.momentum"),
    ({"gd": {"type": "sgd"}}, r"missing required key Optimizers\.gd\.lr"),
    ({"gd": {"type": "sgd", "lr": -1.0}}, r"Optimizers\.gd\.lr must be a number > 0; got -1\.0"),
    ({"a": {"type": "adam", "lr": 1e-3, "betas": [0.9, 1.5]}}, r"Optimizers\.a\.betas must be a pair"),
    ({"n": {"type": "sgd", "lr": 1e-3, "nesterov": True}}, r"Optimizers\.n: nesterov=True needs momentum > 0"),
    ({"gd": "sgd"}, r"Optimizers\.gd must be a mapping"),
    ({}, r"Optimizers must be a non-empty mapping"),
])
def test_config_errors_name_the_key(optimizers, message):
    with pytest.raises(ConfigError, match=message):
        run_race(race_cfg(optimizers, steps=10))


@pytest.mark.parametrize("race, message", [
    ({"surface": "rosenbrok"}, r"Race\.surface must be one of .* \(did you mean rosenbrock\?\)"),
    ({"stpes": 10}, r"unknown key Race\.stpes \(did you mean steps\?\)"),
    ({"steps": 0}, r"Race\.steps must be an integer > 0"),
    ({"start": [1, 2, 3]}, r"Race\.start must be a point \[x, y\]"),
    ({"window": [[3, -5], [-3, 17]]}, r"Race\.window must be \[\[x_lo, x_hi\], \[y_lo, y_hi\]\]"),
    ({"surface": "quadratic", "surface_options": {"kappa": 3}}, r"Race\.surface_options: .*no option 'kappa'"),
])
def test_race_config_errors_name_the_key(race, message):
    cfg = race_cfg({"gd": COURSE["gd"]}, steps=10)
    cfg["Race"].update(race)
    with pytest.raises(ConfigError, match=message):
        run_race(cfg, where="test.yaml")


def test_unknown_section_is_named():
    cfg = race_cfg({"gd": COURSE["gd"]}, steps=10)
    cfg["Ouptut"] = {"dir": "x"}
    with pytest.raises(ConfigError, match=r"unknown section Ouptut \(did you mean Output\?\)"):
        validate_config(cfg)


def test_every_minidl_optimizer_can_race():
    assert set(OPTIMIZER_SCHEMAS) == set(OPTIMIZERS)


def test_schema_defaults_match_the_optimizer_constructors():
    for kind, schema in OPTIMIZER_SCHEMAS.items():
        params = inspect.signature(OPTIMIZERS[kind].__init__).parameters
        for key, spec in schema.items():
            assert key in params, f"{kind}: {key} is not an option of {OPTIMIZERS[kind].__name__}"
            if key == "lr":
                continue
            default = params[key].default
            expected = list(default) if isinstance(default, tuple) else default
            assert spec.default == expected, f"{kind}.{key}: schema {spec.default} vs constructor {default}"


def test_log_spaced_indices():
    assert list(log_spaced_indices(5, 10)) == [0, 1, 2, 3, 4]
    idx = log_spaced_indices(100_001, 2000)
    assert idx[0] == 0 and idx[-1] == 100_000 and len(idx) <= 2002
    assert np.all(np.diff(idx) > 0)
    assert np.all(idx[:100] == np.arange(100))            # dense at the start
