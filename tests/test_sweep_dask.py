"""The sweep on a Dask cluster: same results as the local pool, survives dying workers, resumes.

One LocalCluster(n_workers=2, threads_per_worker=1, processes=True) serves the
whole module.  The sweep is tiny and real: 4 points (2 learning rates x 2 seeds),
1 epoch on 500 MNIST digits.  Worker deaths are made deterministic by wrapping
the task that runs on the workers: the wrapper kills its own worker process
with SIGKILL, exactly what the OOM killer or a lost machine does.
"""
import csv
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")   # the 'dist' extra; .ci/run installs it

from experiments import sweep as sweep_cli  # noqa: E402
from minidl.runs import executors  # noqa: E402
from minidl.runs.cli import load_config, main  # noqa: E402
from minidl.runs.executors import start_local_cluster  # noqa: E402
from minidl.runs.sweep_runner import run_sweep, sweep_of  # noqa: E402
from minidl.util.threads import BLAS_THREAD_VARS  # noqa: E402

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIABLE_COLUMNS = ("wall_time_s", "run_dir")     # wall-clock time and the folder's path differ between runs


def write_sweep(path, out_dir, data_dir, learning_rates=(0.5, 0.05), seeds=(1, 2)):
    """A sweep of 1 epoch on 500 digits per point, over ``learning_rates`` (and ``seeds``, unless None)."""
    seed_axis = f"\n    Train.seed: [{', '.join(map(str, seeds))}]" if seeds else ""
    path.write_text(f"""
Sweep:
  base: {REPO}/configs/config_twolayer.yaml
  name: tiny
  grid:
    Train.learning_rate: [{", ".join(map(str, learning_rates))}]{seed_axis}
  set:
    Model.type: MLP
    Model.sizes: [784, 32, 10]
    Train.batch_size: 32
    Train.epochs: 1
    Data.subset: 500
    Data.val_fraction: 0.05
    Data.dir: {data_dir}
Output:
  dir: {out_dir}
""")
    return path


def load_sweep(path, overrides=()):
    """The Sweep of a sweep file, and the folder it runs into."""
    cfg = load_config(sweep_cli, path, overrides)
    return sweep_of(cfg), Path(cfg["Output"]["dir"]) / f"sweep-{cfg['Sweep']['name']}"


def results(sweep_dir, name="results.csv"):
    """results.csv (or results_by_value.csv) rows without the columns that legitimately differ."""
    with open(sweep_dir / name, newline="") as f:
        return [{k: v for k, v in row.items() if k not in VARIABLE_COLUMNS} for row in csv.DictReader(f)]


def metrics_without_time(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def cluster():
    """The CI cluster of the issue: 2 single-threaded worker processes (started by minidl's helper,
    which adds the one-BLAS-thread environment and allows one worker death per point)."""
    local_cluster = start_local_cluster(2)
    yield local_cluster
    local_cluster.close()


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory, real_mnist_dir):
    """The tiny sweep run by the default executor, a local pool of 2 processes: the reference."""
    root = tmp_path_factory.mktemp("local")
    sweep_file = write_sweep(root / "tiny.yaml", root / "runs", real_mnist_dir)
    sweep, sweep_dir = load_sweep(sweep_file)
    rows = run_sweep(sweep, sweep_dir, workers=2, log=lambda line: None)
    assert [r["status"] for r in rows] == ["completed"] * 4
    return sweep_dir


def test_dask_cluster_gives_the_same_results_as_the_local_pool(cluster, local_sweep, tmp_path, real_mnist_dir,
                                                                 capsys):
    sweep_file = write_sweep(tmp_path / "tiny.yaml", tmp_path / "runs", real_mnist_dir)
    assert main(sweep_cli, [str(sweep_file), "--executor", "dask", "--scheduler", cluster.scheduler_address]) == 0
    out = capsys.readouterr().out
    assert "dashboard http" in out and "[4/4]" in out
    sweep_dir = tmp_path / "runs" / "sweep-tiny"
    reference = results(local_sweep)
    assert results(sweep_dir) == reference, "every column but wall time and folder must match, bit for bit"
    assert len({r["test_acc"] for r in reference}) == 4 and all(float(r["test_acc"]) > 0.3 for r in reference)
    assert results(sweep_dir, "results_by_value.csv") == results(local_sweep, "results_by_value.csv")
    for folder in local_sweep.iterdir():
        if folder.is_dir():
            assert metrics_without_time(sweep_dir / folder.name / "metrics.csv") == \
                metrics_without_time(folder / "metrics.csv")
            assert (sweep_dir / folder.name / "curves.png").is_file()     # drawn on the client
    assert (sweep_dir / "comparison.png").read_bytes() == (local_sweep / "comparison.png").read_bytes()


def test_workers_use_one_blas_thread_each(cluster):
    with distributed.Client(cluster) as client:
        environments = client.run(lambda: {k: os.environ.get(k) for k in BLAS_THREAD_VARS})
    assert len(environments) == 2
    for env in environments.values():
        assert env == {k: "1" for k in BLAS_THREAD_VARS}


def _kill_own_worker():
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_point_is_replaced_and_the_sweep_completes(cluster, local_sweep, tmp_path,
                                                                      real_mnist_dir, monkeypatch):
    marker = tmp_path / "killed-once"

    def dies_on_first_attempt(cfg, folder_name):
        from minidl.runs import executors as on_worker
        if folder_name.startswith("learning_rate0.5_seed1-") and not marker.exists():
            marker.touch()
            _kill_own_worker()
        return on_worker.run_point_remotely(cfg, folder_name)

    monkeypatch.setattr(executors, "run_point_remotely", dies_on_first_attempt)
    sweep, sweep_dir = load_sweep(write_sweep(tmp_path / "tiny.yaml", tmp_path / "runs", real_mnist_dir))
    sweep.points = sweep.points[:2]          # learning rate 0.5, seeds 1 and 2
    rows = run_sweep(sweep, sweep_dir, executor="dask", scheduler=cluster.scheduler_address, log=lambda line: None)
    assert marker.exists(), "the worker running the first point should have been killed"
    assert [r["status"] for r in rows] == ["completed"] * 2
    assert results(sweep_dir) == results(local_sweep)[:2], "the re-run point gives the same numbers"


def test_a_point_whose_worker_dies_twice_is_recorded_as_failed(cluster, tmp_path, real_mnist_dir, monkeypatch):
    def always_dies(cfg, folder_name):
        from minidl.runs import executors as on_worker
        if folder_name.startswith("learning_rate0.5_seed1-"):
            _kill_own_worker()
        return on_worker.run_point_remotely(cfg, folder_name)

    monkeypatch.setattr(executors, "run_point_remotely", always_dies)
    sweep, sweep_dir = load_sweep(write_sweep(tmp_path / "tiny.yaml", tmp_path / "runs", real_mnist_dir))
    sweep.points = sweep.points[:2]          # the dying point and one other
    rows = run_sweep(sweep, sweep_dir, executor="dask", scheduler=cluster.scheduler_address, log=lambda line: None)
    assert [r["status"] for r in rows] == ["failed", "completed"]
    assert rows[0]["error"].startswith("KilledWorker")
    assert json.loads((Path(rows[0]["run_dir"]) / "summary.json").read_text())["status"] == "failed"


def test_rerunning_a_half_finished_sweep_runs_only_the_missing_points(cluster, local_sweep, tmp_path,
                                                                        real_mnist_dir, monkeypatch):
    sweep_dir = tmp_path / "runs" / "sweep-tiny"
    shutil.copytree(local_sweep, sweep_dir)
    folders = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    shutil.rmtree(folders[0])                          # never started
    (folders[1] / "summary.json").unlink()             # killed mid-training: no summary
    untouched = folders[2] / "metrics.csv"
    before = untouched.stat().st_mtime_ns
    calls = tmp_path / "calls"
    calls.mkdir()

    def counted(cfg, folder_name):
        from minidl.runs import executors as on_worker
        (calls / folder_name).touch()
        return on_worker.run_point_remotely(cfg, folder_name)

    monkeypatch.setattr(executors, "run_point_remotely", counted)
    lines = []
    sweep, sweep_dir = load_sweep(write_sweep(tmp_path / "tiny.yaml", tmp_path / "runs", real_mnist_dir))
    run_sweep(sweep, sweep_dir, executor="dask", scheduler=cluster.scheduler_address, log=lines.append)
    assert sorted(p.name for p in calls.iterdir()) == [folders[0].name, folders[1].name]
    assert "4 points, 2 already done" in lines[0]
    assert untouched.stat().st_mtime_ns == before
    assert results(sweep_dir) == results(local_sweep)



def test_a_point_whose_training_raises_is_retried_once_then_recorded_with_its_traceback(cluster, tmp_path,
                                                                                        real_mnist_dir, monkeypatch):
    attempts = tmp_path / "attempts"
    attempts.mkdir()

    def counted(cfg, folder_name):
        import uuid

        from minidl.runs import executors as on_worker
        (attempts / uuid.uuid4().hex).touch()
        return on_worker.run_point_remotely(cfg, folder_name)

    monkeypatch.setattr(executors, "run_point_remotely", counted)
    sweep, sweep_dir = load_sweep(write_sweep(tmp_path / "tiny.yaml", tmp_path / "runs", real_mnist_dir),
                                  overrides=[f"Sweep.set.Data.train_csv={tmp_path}/missing.csv"])
    sweep.points = sweep.points[:1]
    rows = run_sweep(sweep, sweep_dir, executor="dask", scheduler=cluster.scheduler_address, log=lambda line: None)
    assert len(list(attempts.iterdir())) == 2, "one attempt and one retry"
    assert rows[0]["status"] == "failed" and rows[0]["error"].startswith("FileNotFoundError")
    summary = json.loads((Path(rows[0]["run_dir"]) / "summary.json").read_text())
    assert "missing.csv" in summary["error"] and "Traceback" in summary["traceback"]      # from the worker


def test_a_local_cluster_leaves_this_process_blas_threads_alone(monkeypatch):
    # its nannies run in this process and set the one-thread variables here for their workers; a
    # later subprocess (or this process's next run) must not inherit them
    from minidl.runs.executors import start_local_cluster
    from minidl.util.threads import BLAS_THREAD_VARS
    for var in BLAS_THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    cluster = start_local_cluster(1)
    cluster.close()
    assert not [var for var in BLAS_THREAD_VARS if var in os.environ]
