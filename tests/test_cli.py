"""The one entry point (minidl.runs.cli), on a study module made up for the test."""
import json
import signal
import types

import pytest

from minidl.runs import cli
from minidl.runs.config import ConfigError, Key, positive_int


def make_study(status="completed", check=None, **extra):
    """A module with the study contract: SCHEMA and run(cfg, run_dir), and whatever ``extra`` adds."""
    study = types.ModuleType("made_up_study")
    study.__doc__ = "A study made up for the test."
    study.SCHEMA = {"Study": {"n": Key(int, 3, positive_int), "label": Key(str, "x")}}
    study.calls = []

    def run(cfg, run_dir, log=print):
        study.calls.append((cfg, run_dir))
        (run_dir / "figure.png").write_bytes(b"png")
        summary = {"status": status, "n": cfg["Study"]["n"]}
        if status == "interrupted":
            summary["signal"] = "SIGTERM"
        return summary

    study.run = run
    if check:
        study.check = check
    for name, value in extra.items():
        setattr(study, name, value)
    return study


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(f"Study: {{n: 5}}\nOutput: {{dir: {tmp_path / 'runs'}}}\n")
    return path


def test_a_run_gets_a_folder_with_its_config_and_summary(config, tmp_path, capsys):
    study = make_study()
    assert cli.main(study, [str(config), "--set", "Study.label=y"]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("study-")
    assert "run folder:" in capsys.readouterr().out
    cfg = study.calls[0][0]
    assert cfg == {"Study": {"n": 5, "label": "y"}, "Output": {"dir": str(tmp_path / "runs"), "name": None}}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n"] == 5 and summary["wall_time_s"] >= 0
    assert "label: y" in (run_dir / "config.yaml").read_text()


def test_a_bad_config_is_one_line_exit_2_and_leaves_no_folder(config, tmp_path, capsys):
    assert cli.main(make_study(), [str(config), "--set", "Study.nn=4"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown key Study.nn (did you mean n?)" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
    assert cli.main(make_study(), [str(tmp_path / "missing.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_the_study_check_runs_before_the_folder_exists(config, tmp_path, capsys):
    def check(cfg, where):
        if cfg["Study"]["n"] > 4:
            raise ConfigError(f"{where}: Study.n must be at most 4 here")
    study = make_study(check=check)
    assert cli.main(study, [str(config)]) == 2
    assert "Study.n must be at most 4" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() and not study.calls


@pytest.mark.parametrize("status, code", [("completed", 0), ("reached", 0), ("diverged", 1), ("failed", 1),
                                          ("interrupted", 128 + signal.SIGTERM)])
def test_exit_status_follows_the_summary(config, status, code, capsys):
    assert cli.main(make_study(status), [str(config)]) == code
    if status == "interrupted":
        assert "the run folder keeps what was finished" in capsys.readouterr().err


def test_flags_are_shortcuts_for_config_keys(config):
    study = make_study(FLAGS={"--count": "Study.n"})
    assert cli.main(study, [str(config), "--count", "7"]) == 0
    assert study.calls[-1][0]["Study"]["n"] == 7
    assert cli.main(study, [str(config), "--count", "7", "--set", "Study.n=8"]) == 0
    assert study.calls[-1][0]["Study"]["n"] == 8, "--set comes after the flags, so it wins"


def test_resume_and_replot_only_where_the_study_has_them(config, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(make_study(), ["--resume", str(tmp_path)])
    assert "unrecognized arguments: --resume" in capsys.readouterr().err
    resumed = []

    def resume(run_dir, cfg, log=print):
        resumed.append((run_dir, cfg["Study"]["n"]))
        return {"status": "completed"}

    study = make_study(resume=resume)
    assert cli.main(study, [str(config)]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert cli.main(study, ["--resume", str(run_dir), "--set", "Study.n=9"]) == 0
    assert resumed == [(run_dir, 9)]
    assert cli.main(study, ["--resume", str(tmp_path / "nope")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    study = make_study(replot=lambda folder: folder / "figure.png")
    assert cli.main(study, ["--replot", str(run_dir)]) == 0
    assert "figure.png" in capsys.readouterr().out


def test_run_study_is_the_same_path_from_python(config, tmp_path):
    run_dir, summary = cli.run_study(make_study(), config, ["Study.n=2"])
    assert summary["n"] == 2 and (run_dir / "summary.json").is_file() and (run_dir / "figure.png").is_file()


def test_every_shipped_config_validates_against_its_study():
    """Each configs/<course>/<study>.yaml is the config of experiments.<course>.<study>."""
    import importlib
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    checked = 0
    for path in sorted((root / "configs").rglob("*.yaml")):
        folder = path.parent.name
        if folder == "configs":
            module = "experiments.train"
        elif folder == "sweeps":
            module = "experiments.sweep"
        elif folder == "hw7" and path.stem not in ("gradients", "compare", "convolutions"):
            module = "experiments.train"
        elif folder == "mlds" and path.stem in ("interpolation_lr", "interpolation_init"):
            module = "experiments.mlds.interpolation"
        elif folder == "mlds" and path.stem.endswith("_assignment"):       # a study at the assignment's setting
            module = f"experiments.mlds.{path.stem.removesuffix('_assignment')}"
        elif folder == "race":
            module = "experiments.race.optimizer_race"
        else:
            module = f"experiments.{folder}.{path.stem}"
        if module == "experiments.hw7.compare":
            continue                       # needs the sweeps it compares to have run
        cli.load_config(importlib.import_module(module), path)
        checked += 1
    assert checked == len(list((root / "configs").rglob("*.yaml"))) - 1
