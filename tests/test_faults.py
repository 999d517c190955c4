"""Runs that survive what a laptop and a shared cluster do to them (issue 19).

A signal at any phase of a run (delivered at a chosen moment through the
test-only MINIDL_SIGNAL_AT hook, not by timing luck), SIGKILL then --resume,
a write that fails (disk full), two processes on one folder, a bad config or
missing data (nothing left behind), and data found from any working directory.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import signal_when_rows
from test_resume import metrics_without_time

from experiments import sweep as sweep_cli
from experiments import train as train_cli
from minidl.data import write_csv
from minidl.runs.cli import main
from minidl.training.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
SIGTERM_EXIT = 128 + signal.SIGTERM


@pytest.fixture(scope="module")
def csv_config(tmp_path_factory) -> Path:
    """A small main-job config on made-up course CSVs (600 training, 200 test images)."""
    folder = tmp_path_factory.mktemp("csv")
    rng = np.random.default_rng(0)
    centers = rng.integers(0, 256, (10, 784))
    for name, n in (("train.csv", 600), ("test.csv", 200)):
        y = rng.integers(0, 10, n)
        pixels = np.clip(centers[y] + rng.integers(-60, 60, (n, 784)), 0, 255)
        write_csv(folder / name, pixels, y)
    cfg = {"Train": {"epochs": 2, "batch_size": 20, "learning_rate": 0.1, "seed": 1},
           "Model": {"type": "MLP", "sizes": [784, 16, 10]},
           "Data": {"train_csv": str(folder / "train.csv"), "test_csv": str(folder / "test.csv")}}
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def command(module: str, *args, signal_at: str | None = None, cwd=REPO, env=None, **popen):
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env.pop("MINIDL_SIGNAL_AT", None)
    if signal_at:
        env["MINIDL_SIGNAL_AT"] = signal_at
    return subprocess.Popen([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def finished(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def only_run_folder(parent: Path) -> Path:
    (run_dir,) = [p for p in parent.iterdir() if p.is_dir()]
    return run_dir


def summary_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


# ---- 1. a signal at any moment -------------------------------------------------------------

@pytest.mark.parametrize("phase", ["evaluating the test set", "drawing figures"])
def test_sigterm_after_the_epochs_ends_with_an_interrupted_summary_and_resumes(tmp_path, csv_config, phase):
    code, out, err = finished(command("experiments.train", csv_config, "--set", f"Output.dir={tmp_path}",
                                      signal_at=phase))
    assert code == SIGTERM_EXIT, err
    run_dir = only_run_folder(tmp_path)
    summary = summary_of(run_dir)
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGTERM", summary
    assert summary["epochs_completed"] == 2 and phase in summary["message"]
    assert f"Resume with: python -m experiments.train --resume {run_dir}" in err and "Traceback" not in err
    assert main(train_cli, ["--resume", str(run_dir)]) == 0
    assert summary_of(run_dir)["status"] == "completed" and (run_dir / "curves.png").is_file()


def test_sigterm_while_loading_the_data_still_writes_the_summary(tmp_path, csv_config):
    code, _, err = finished(command("experiments.train", csv_config, "--set", f"Output.dir={tmp_path}",
                                    signal_at="loading the data"))
    assert code == SIGTERM_EXIT and "Traceback" not in err
    summary = summary_of(only_run_folder(tmp_path))
    assert summary["status"] == "interrupted" and "while loading the data" in summary["message"]


def test_sigterm_while_the_summary_is_written_keeps_it_whole(tmp_path, csv_config):
    code, _, err = finished(command("experiments.train", csv_config, "--set", f"Output.dir={tmp_path}",
                                    signal_at="writing the summary"))
    assert code == SIGTERM_EXIT, err
    summary = summary_of(only_run_folder(tmp_path))
    assert summary["status"] == "completed" and summary["signal"] == "SIGTERM" and "test_acc" in summary


def test_sigterm_before_the_run_folder_exists_leaves_nothing(tmp_path, csv_config):
    code, _, err = finished(command("experiments.train", csv_config, "--set", f"Output.dir={tmp_path}",
                                    signal_at="finding the data"))
    assert code == SIGTERM_EXIT and "nothing was written" in err and "Traceback" not in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def _sweep_file(tmp_path: Path, csv_config: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(f"""\
        Sweep:
          base: {csv_config}
          name: faults
          workers: 1
          grid: {{Train.learning_rate: [0.1, 0.05]}}
        Output: {{dir: {tmp_path / 'runs'}}}
        """))
    return path


@pytest.mark.parametrize("phase, done", [("recording a finished point", 1), ("drawing the comparison", 2)])
def test_sigterm_in_a_sweeps_bookkeeping_then_a_rerun_finishes_it(tmp_path, csv_config, phase, done):
    sweep = _sweep_file(tmp_path, csv_config)
    code, _, err = finished(command("experiments.sweep", sweep, signal_at=phase))
    assert code == SIGTERM_EXIT, err
    folder = tmp_path / "runs" / "sweep-faults"
    assert summary_of(folder)["status"] == "interrupted"
    points = [p for p in folder.iterdir() if (p / "summary.json").is_file()]
    assert len(points) == done and all(summary_of(p)["status"] == "completed" for p in points)
    assert main(sweep_cli, [str(sweep)]) == 0
    assert summary_of(folder)["status"] == "completed" and (folder / "comparison.png").is_file()


# ---- 2. SIGKILL ----------------------------------------------------------------------------

def test_sigkill_then_resume_gives_the_metrics_of_an_uninterrupted_run(tmp_path, csv_config):
    longer = ["--set", "Train.epochs=60", "--set", "Train.batch_size=10"]
    proc = command("experiments.train", csv_config, *longer, "--set", f"Output.dir={tmp_path / 'killed'}")
    metrics = signal_when_rows(proc, tmp_path / "killed", 2, signal.SIGKILL)
    finished(proc)
    assert metrics is not None and proc.returncode == -signal.SIGKILL, "the run ended before the kill"
    run_dir = metrics.parent
    assert not (run_dir / "summary.json").exists()                 # nothing could be written after a SIGKILL
    assert main(train_cli, ["--resume", str(run_dir)]) == 0
    assert main(train_cli, [str(csv_config), *longer, "--set", f"Output.dir={tmp_path / 'straight'}"]) == 0
    straight = only_run_folder(tmp_path / "straight") / "metrics.csv"
    assert metrics_without_time(run_dir / "metrics.csv") == metrics_without_time(straight)
    assert len(metrics_without_time(straight)) == 61


# ---- 3. writes that fail -------------------------------------------------------------------

def _fail_on(monkeypatch, name: str, after: int = 0):
    """Make the ``after + 1``-th atomic write of a file called ``name`` fail as a full disk does."""
    import minidl.util.fileio as fileio
    real, seen = fileio.os.replace, []

    def replace(src, dst):
        if Path(dst).name == name:
            seen.append(dst)
            if len(seen) > after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst)
    monkeypatch.setattr(fileio.os, "replace", replace)


def test_a_full_disk_at_the_checkpoint_stops_with_one_line_and_keeps_the_last_one(tmp_path, csv_config, capsys,
                                                                                   monkeypatch):
    _fail_on(monkeypatch, "last.npz", after=2)
    code = main(train_cli, [str(csv_config), "--set", "Train.epochs=5", "--set", f"Output.dir={tmp_path}"])
    err = capsys.readouterr().err
    run_dir = only_run_folder(tmp_path)
    assert code == 2 and "Traceback" not in err
    assert f"cannot write {run_dir / 'last.npz'}: No space left on device" in err
    assert load_checkpoint(run_dir / "last.npz")[2]["epoch"] == 2            # the previous one, intact
    assert not list(run_dir.glob(".*.tmp"))                                 # no half-written temp file left
    assert summary_of(run_dir)["status"] == "failed"
    monkeypatch.undo()
    assert main(train_cli, ["--resume", str(run_dir)]) == 0 and summary_of(run_dir)["status"] == "completed"


def test_a_full_disk_at_the_summary_names_it(tmp_path, csv_config, capsys, monkeypatch):
    _fail_on(monkeypatch, "summary.json")
    assert main(train_cli, [str(csv_config), "--set", f"Output.dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "summary.json: No space left on device" in err and "Traceback" not in err


def test_a_lost_permission_on_metrics_csv_names_it(tmp_path, csv_config, capsys, monkeypatch):
    import minidl.runs.folder as folder

    def refuse(path, mode="r", *args, **kwargs):
        if Path(path).name == "metrics.csv" and "a" in mode:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return open(path, mode, *args, **kwargs)
    monkeypatch.setattr(folder, "open", refuse, raising=False)
    assert main(train_cli, [str(csv_config), "--set", f"Output.dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "metrics.csv: Permission denied" in err and "Traceback" not in err


# ---- 4. a bad config or missing data leaves nothing behind ----------------------------------

def test_missing_data_is_found_missing_before_the_run_folder_exists(tmp_path, csv_config, capsys, monkeypatch):
    import minidl.data.download as download
    monkeypatch.setattr(download, "MIRRORS", [])                   # no network here, and no waiting for it
    out = tmp_path / "runs"
    assert main(train_cli, ["configs/config_twolayer.yaml", "--set", f"Data.dir={tmp_path / 'empty'}",
                            "--set", f"Output.dir={out}"]) == 2
    assert "MNIST files missing" in capsys.readouterr().err
    assert main(train_cli, [str(csv_config), "--set", f"Data.train_csv={tmp_path / 'nope.csv'}",
                            "--set", f"Output.dir={out}"]) == 2
    assert f"Data.train_csv: no such file {tmp_path / 'nope.csv'}" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


# ---- 6. two processes on one folder --------------------------------------------------------

def _hold_lock(folder: Path):
    """Another process that holds ``folder``'s lock until its stdin closes."""
    folder.mkdir(parents=True, exist_ok=True)
    code = (f"from filelock import FileLock; lock = FileLock({str(folder / '.lock')!r}); lock.acquire(); "
            "print('held', flush=True); import sys; sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_sweep_started_twice_refuses_the_second(tmp_path, csv_config, capsys):
    sweep = _sweep_file(tmp_path, csv_config)
    holder = _hold_lock(tmp_path / "runs" / "sweep-faults")
    try:
        assert main(sweep_cli, [str(sweep)]) == 2
    finally:
        holder.communicate("")
    err = capsys.readouterr().err
    assert "sweep-faults is in use: another process is writing into it" in err
    assert not list((tmp_path / "runs" / "sweep-faults").glob("*/metrics.csv"))     # it wrote nothing
    assert main(sweep_cli, [str(sweep)]) == 0                                    # free again: runs


def test_a_run_resumed_twice_at_once_refuses_the_second(tmp_path, csv_config, capsys):
    assert main(train_cli, [str(csv_config), "--set", f"Output.dir={tmp_path}"]) == 0
    run_dir = only_run_folder(tmp_path)
    before = (run_dir / "metrics.csv").read_bytes()
    holder = _hold_lock(run_dir)
    try:
        assert main(train_cli, ["--resume", str(run_dir), "--set", "Train.epochs=4"]) == 2
    finally:
        holder.communicate("")
    assert "is in use" in capsys.readouterr().err and (run_dir / "metrics.csv").read_bytes() == before


# ---- 5. data from any working directory ------------------------------------------------------

@pytest.mark.integration
def test_a_run_from_another_folder_finds_the_data_home(tmp_path, real_mnist_dir):
    home = tmp_path / "xdg" / "minidl"
    home.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (home / name).symlink_to(real_mnist_dir / name)
    env = {k: v for k, v in os.environ.items() if k != "MINIDL_DATA"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-m", "experiments.train", str(REPO / "configs/config_twolayer.yaml"),
                           "--set", "Data.subset=500", "--set", "Train.epochs=1"], cwd=elsewhere, text=True,
                          env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "download" not in proc.stdout + proc.stderr
    assert summary_of(only_run_folder(elsewhere / "runs"))["status"] == "completed"
