"""Sweep runner units: grid expansion, point identity, aggregation over seeds, pinned worker pools."""
import os

import pytest

from minidl.plots.training import mean_curve
from minidl.runs.config import ConfigError
from minidl.runs.executors import pinned_process_pool
from minidl.runs.sweep_runner import aggregate_over_seeds, expand_grid, point_id
from minidl.util.threads import BLAS_THREAD_VARS


def test_grid_is_the_product_in_file_order():
    points = expand_grid({"Train.reg": [1, 2], "Train.seed": [7, 8, 9]})
    assert len(points) == 6 and points[0] == {"Train.reg": 1, "Train.seed": 7}
    assert points[-1] == {"Train.reg": 2, "Train.seed": 9}
    with pytest.raises(ConfigError, match="Sweep.grid.Train.reg must be a non-empty list"):
        expand_grid({"Train.reg": 0.1})


def test_point_id_depends_on_the_config_but_not_on_the_output_folder():
    a = {"Train": {"seed": 1}, "Output": {"dir": "x"}}
    assert point_id(a) == point_id({"Train": {"seed": 1}, "Output": {"dir": "elsewhere"}})
    assert point_id(a) != point_id({"Train": {"seed": 2}, "Output": {"dir": "x"}})


def test_aggregate_over_seeds_averages_completed_points_only():
    rows = [{"Train.reg": "0.1", "Train.seed": "1", "status": "completed", "test_acc": 0.39, "best_val_acc": 0.40},
            {"Train.reg": "0.1", "Train.seed": "2", "status": "completed", "test_acc": 0.37, "best_val_acc": 0.38},
            {"Train.reg": "0.1", "Train.seed": "3", "status": "failed", "test_acc": "", "best_val_acc": ""},
            {"Train.reg": "1.0", "Train.seed": "1", "status": "completed", "test_acc": 0.10, "best_val_acc": 0.11}]
    by_value = aggregate_over_seeds(rows)
    assert [r["Train.reg"] for r in by_value] == ["0.1", "1.0"]
    assert by_value[0]["test_acc_mean"] == pytest.approx(0.38) and by_value[0]["n_seeds"] == 2
    assert by_value[0]["test_acc_std"] == pytest.approx(0.0141, abs=1e-4)
    assert by_value[1]["test_acc_std"] == "" and by_value[1]["n_seeds"] == 1


def test_mean_curve_averages_epoch_by_epoch_over_common_epochs():
    runs = [[{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.7}], [{"epoch": 1, "val_acc": 0.7}]]
    assert mean_curve(runs, "val_acc") == [{"epoch": 1, "val_acc": pytest.approx(0.6)}]
    assert mean_curve([runs[0]], "val_acc") == runs[0]


# ---- executors (no cluster needed) ----------------------------------------------

def test_make_executor_checks_its_arguments():
    from minidl.runs.executors import DaskExecutor, LocalExecutor, make_executor
    assert isinstance(make_executor("local", 3), LocalExecutor) and make_executor("local", 3).workers == 3
    assert isinstance(make_executor("dask", scheduler="tcp://host:8786"), DaskExecutor)    # connects on enter
    with pytest.raises(ValueError, match="needs the dask executor"):
        make_executor("local", scheduler="tcp://host:8786")
    with pytest.raises(ValueError, match="unknown executor 'spark'"):
        make_executor("spark")


def test_sweep_cli_rejects_contradictory_executor_options(capsys, tmp_path):
    from experiments import sweep as sweep_cli
    from minidl.runs.cli import main
    for argv in (["--executor", "local", "--scheduler", "tcp://h:8786"], ["--scheduler", "tcp://h:8786", "--workers", "2"],
                 ["--executor", "spark"]):
        assert main(sweep_cli, ["configs/sweeps/softmax.yaml", "--set", f"Output.dir={tmp_path}", *argv]) == 2
    err = capsys.readouterr().err
    assert "Sweep.scheduler needs Sweep.executor dask" in err and "Sweep.workers sizes a cluster started here" in err
    assert "Sweep.executor must be one of" in err
    assert not list(tmp_path.iterdir()), "a refused sweep leaves no folder behind"


def test_sweep_set_overrides_the_base_config_and_output_dir_moves_the_sweep(tmp_path):
    from experiments import sweep as sweep_cli
    from minidl.runs.cli import load_config
    from minidl.runs.sweep_runner import run_folder, sweep_of
    cfg = load_config(sweep_cli, "configs/sweeps/twolayer_lr.yaml",
                      ["Sweep.set.Train.epochs=2", "Sweep.set.Data.subset=100", f"Output.dir={tmp_path}"])
    assert cfg["Sweep"]["set"] == {"Train.epochs": 2, "Data.subset": 100}
    assert cfg["Sweep"]["base"] == "configs/config_twolayer.yaml" and cfg["Sweep"]["name"] == "twolayer_lr"
    sweep = sweep_of(cfg)
    assert sweep.base_cfg["Train"]["epochs"] == 2 and len(sweep.points) == 20
    assert run_folder(cfg, "twolayer_lr") == tmp_path / "sweep-twolayer_lr"
    with pytest.raises(ConfigError, match="Train.learnig_rate"):
        load_config(sweep_cli, "configs/sweeps/twolayer_lr.yaml", ["Sweep.set.Train.learnig_rate=0.1"])


@pytest.mark.integration
def test_output_dir_on_the_command_line_moves_the_whole_sweep(tmp_path, real_mnist_dir, monkeypatch, capsys):
    # python -m experiments.sweep configs/sweeps/softmax.yaml --set Output.dir=X, started from another folder:
    # the sweep folder, its points and its files go under X, and nothing under the current folder's runs/
    from pathlib import Path

    from experiments import sweep as sweep_cli
    from minidl.runs.cli import main
    sweep_file = Path(sweep_cli.__file__).resolve().parents[1] / "configs/sweeps/softmax.yaml"
    elsewhere, out = tmp_path / "cwd", tmp_path / "out"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    argv = [str(sweep_file), "--set", f"Output.dir={out}", "--set", "Sweep.grid={Train.seed: [1, 2]}",
            "--set", "Sweep.set.Train.epochs=1", "--set", "Sweep.set.Data.subset=100",
            "--set", f"Sweep.set.Data.dir={real_mnist_dir}", "--workers", "2"]
    assert main(sweep_cli, argv) == 0
    sweep_dir = out / "sweep-softmax"
    assert f"run folder: {sweep_dir}" in capsys.readouterr().out
    for name in ("config.yaml", "results.csv", "comparison.png", "summary.json"):
        assert (sweep_dir / name).is_file(), f"{name} missing from {sweep_dir}"
    points = [p for p in sweep_dir.iterdir() if p.is_dir()]
    assert len(points) == 2 and all((p / "summary.json").is_file() for p in points)
    assert list(elsewhere.iterdir()) == [], "nothing may be written under the current folder"
    assert main(sweep_cli, argv) == 0                  # the same --set finds the same folder again
    assert "2 already done" in capsys.readouterr().out


def test_a_failed_point_travels_back_from_a_worker_with_its_files(tmp_path):
    import json
    import pickle

    from minidl.runs.executors import PointFailed, write_point_files
    result = {"summary": {"status": "failed", "error": "OSError: no MNIST here"},
              "files": {"train.log": b"Traceback ...\n", "summary.json": b"{}", "../escape.txt": b"x"}}
    exc = pickle.loads(pickle.dumps(PointFailed(result)))        # as Dask ships it to the client
    assert str(exc) == "OSError: no MNIST here" and exc.result == result
    write_point_files(tmp_path / "point", {"Train": {"seed": 1}}, exc.result)
    assert sorted(p.name for p in (tmp_path / "point").iterdir()) == \
        ["config.yaml", "escape.txt", "summary.json", "train.log"]          # no file outside the point's folder
    assert json.loads((tmp_path / "point" / "summary.json").read_text())["error"] == "OSError: no MNIST here"


def _worker_environment(delay):
    import os
    import time
    time.sleep(delay)                  # keep this worker busy, so the pool has to start the other one
    return os.getpid(), {k: os.environ.get(k) for k in BLAS_THREAD_VARS}


def test_every_worker_of_a_pinned_pool_gets_one_blas_thread(monkeypatch):
    # the pool starts its workers one by one, on demand: the second must be pinned as well as the first
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with pinned_process_pool(2) as pool:
        results = list(pool.map(_worker_environment, [0.5, 0.5, 0.5, 0.5]))
    assert len({pid for pid, _ in results}) == 2
    assert all(env == {k: "1" for k in BLAS_THREAD_VARS} for _, env in results)
    assert "OPENBLAS_NUM_THREADS" not in os.environ          # this process's environment is restored
