"""Smoke runs of the optimization studies (NTU MLDS 2018 HW1-1, HW1-2.1/2.2/2.3) with tiny settings.

Each runs the experiment's own code path end to end and checks its outputs; the MNIST studies get
small synthetic data (and one integration test reads the real files).
"""
import csv
import json

import numpy as np
import pytest

from conftest import run_args

from experiments.mlds import fit_function, grad_norm_mnist, minimal_ratio, weight_pca
from minidl.runs.cli import load_config
from minidl.runs.config import ConfigError
from minidl.models import MLP

CONFIGS = "configs/mlds"


def synthetic_mnist(n=60, n_test=30, d=20, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, d))
    y, y_test = rng.integers(0, classes, n), rng.integers(0, classes, n_test)
    X = (centres[y] + 0.5 * rng.normal(size=(n, d))).astype(np.float32)
    X_test = (centres[y_test] + 0.5 * rng.normal(size=(n_test, d))).astype(np.float32)
    return X, y, X_test, y_test


def test_course_networks_have_about_571_parameters():
    cfg = load_config(fit_function, f"{CONFIGS}/fit_function.yaml")
    counts = {name: MLP(sizes).num_parameters() for name, sizes in cfg["Models"].items()}
    assert counts == {"deep": 571, "medium": 572, "shallow": 571}


def test_fit_function_smoke(tmp_path):
    run_dir = run_args(fit_function, [f"{CONFIGS}/fit_function.yaml", "--set", "Data.points=50",
                                 "--set", "Train.epochs=20", "--set", "Train.workers=1",
                                 "--set", f"Output.dir={tmp_path}"])
    for name in ("fit_sinc.png", "fit_sign.png", "grad_norm_function.png", "summary.json", "config.yaml"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["results"]) == {"sinc", "sign"}
    deep = summary["results"]["sinc"]["deep"]
    assert deep["params"] == 571 and deep["final_loss"] > 0 and deep["final_grad_norm"] > 0
    assert summary["wall_time_s"] > 0


def test_fit_one_trains_and_records_every_iteration():
    train = {"epochs": 30, "learning_rate": 1e-2, "batch_size": 10, "activation": "tanh", "seed": 0}
    res = fit_function.fit_one("sinc", [1, 8, 1], train, 40)
    assert res["loss"].shape == (30,)
    assert res["grad_norm"].shape == res["iter_loss"].shape == (30 * 4,)   # 4 mini-batches per epoch
    assert res["final_loss"] < res["loss"][0]
    x, y = fit_function.function_data("sinc", 40)
    assert x.shape == (40, 1) and x.min() > 0 and x.max() == 1.0
    assert res["pred"].shape == (40,)


def test_configs_reject_unknown_keys():
    with pytest.raises(ConfigError, match="Train.epoch"):
        load_config(fit_function, f"{CONFIGS}/fit_function.yaml", ["Train.epoch=3"])
    with pytest.raises(ConfigError, match="GradNorm.method"):
        load_config(minimal_ratio, f"{CONFIGS}/minimal_ratio.yaml", ["GradNorm.method=newton"])
    with pytest.raises(ConfigError, match="Study.run"):
        load_config(weight_pca, f"{CONFIGS}/weight_pca.yaml", ["Study.run=3"])
    with pytest.raises(ConfigError, match="Train.batch_size"):
        load_config(grad_norm_mnist, f"{CONFIGS}/grad_norm_mnist.yaml", ["Train.batch_size=0"])


TINY_RATIO = ["Data.points=40", "Model.sizes=[1, 4, 1]", "Train.epochs=100", "GradNorm.steps=30"]


def test_minimal_ratio_smoke_in_worker_processes_and_replot(tmp_path):
    run_dir = run_args(minimal_ratio, [f"{CONFIGS}/minimal_ratio.yaml", *sum((["--set", s] for s in TINY_RATIO), []),
                                  "--set", "Study.runs=3", "--set", "Study.workers=2",
                                  "--set", f"Output.dir={tmp_path}"])
    assert (run_dir / "minimal_ratio.png").is_file() and (run_dir / "minimal_ratio_tolerance.png").is_file()
    with open(run_dir / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["seed"]) for r in rows] == [0, 1, 2]
    with np.load(run_dir / "eigenvalues.npz") as saved:
        assert saved["seeds"].tolist() == [0, 1, 2] and saved["eigenvalues"].shape == (3, 13)
        lam = saved["eigenvalues"]
    for r, spectrum in zip(rows, lam):
        assert float(r["minimal_ratio_rank_tol"]) <= float(r["minimal_ratio_tol0"])   # tol > 0 counts fewer
        assert int(r["negative_rank_tol"]) <= int(r["negative_tol0"]) == int((spectrum < 0).sum())
        assert r["end_point"] == ("saddle" if int(r["negative_rank_tol"]) else "minimum")
        assert float(r["final_loss"]) < float(r["loss_phase1"])            # saddle-free Newton goes downhill
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["runs"] == 3 and summary["params"] == 13 and summary["wall_time_s"] > 0
    assert summary["saddles"] + summary["minima"] == 3
    for name in ("minimal_ratio.png", "minimal_ratio_tolerance.png"):        # --replot draws both again
        (run_dir / name).unlink()
    assert minimal_ratio.replot(run_dir) == run_dir / "minimal_ratio.png"
    assert (run_dir / "minimal_ratio.png").is_file() and (run_dir / "minimal_ratio_tolerance.png").is_file()


@pytest.mark.parametrize("method, hvp", [("saddle_free_newton", "exact"), ("levenberg_marquardt", "exact"),
                                         ("adam", "fd")])
def test_minimal_ratio_one_run_lowers_the_gradient_norm(method, hvp):
    cfg = load_config(minimal_ratio, f"{CONFIGS}/minimal_ratio.yaml",
                                    TINY_RATIO + [f"GradNorm.method={method}", f"GradNorm.hvp={hvp}",
                                                  "GradNorm.threshold=1.0e-9", "GradNorm.learning_rate=1.0e-4"])
    row = minimal_ratio.one_run(0, cfg)
    assert row["steps"] > 0 and not row["converged"]          # threshold unreachable: the budget ends it
    assert row["final_grad_norm"] < row["grad_norm_phase1"]
    assert row["params"] == 13 and row["eigenvalues"].shape == (13,)
    assert row["negative_tol0"] == int((row["eigenvalues"] < 0).sum()) and row["max_eigenvalue"] > 0


def test_minimal_ratio_replot_names_an_old_runs_csv(tmp_path):
    (tmp_path / "config.yaml").write_text(open(f"{CONFIGS}/minimal_ratio.yaml").read())
    (tmp_path / "runs.csv").write_text("seed,params,final_loss,converged,minimal_ratio\n0,13,0.01,True,0.5\n")
    with pytest.raises(ConfigError, match="no column minimal_ratio_tol0.*no eigenvalues.npz.*older minimal_ratio"):
        minimal_ratio.replot(tmp_path)       # a run folder from before: one minimal_ratio column, no spectra


def test_weight_pca_smoke(tmp_path):
    cfg = load_config(weight_pca, f"{CONFIGS}/weight_pca.yaml",
                                 ["Model.sizes=[20, 8, 3]", "Train.epochs=4", "Train.every=2", "Train.batch_size=20",
                                  "Study.runs=3", "Study.workers=1"])
    summary = weight_pca.run(cfg, tmp_path, data=synthetic_mnist(), log=lambda line: None)
    assert (tmp_path / "pca_whole_model.png").is_file() and (tmp_path / "pca_layer1.png").is_file()
    assert summary["parameters"] == {"whole": 20 * 8 + 8 + 8 * 3 + 3, "layer1": 20 * 8 + 8}
    assert summary["snapshots_per_run"] == 3                 # epochs 0, 2, 4
    for key in ("whole", "layer1"):
        assert 0 < sum(summary["explained_variance_ratio"][key]) <= 1 + 1e-12
    assert len(summary["runs"]) == 3 and all(0 <= r["test_acc"] <= 1 for r in summary["runs"])


def test_grad_norm_mnist_smoke(tmp_path):
    cfg = load_config(grad_norm_mnist, f"{CONFIGS}/grad_norm_mnist.yaml",
                                      ["Model.sizes=[20, 8, 3]", "Train.epochs=2", "Train.batch_size=16"])
    summary = grad_norm_mnist.run(cfg, tmp_path, data=synthetic_mnist(), log=lambda line: None)
    assert (tmp_path / "grad_norm_mnist.png").is_file()
    with open(tmp_path / "trace.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == summary["iterations"] == 2 * 4                 # 60 examples in batches of 16
    assert all(float(r["grad_norm"]) > 0 and float(r["loss"]) > 0 for r in rows)


@pytest.mark.integration
def test_weight_pca_on_real_mnist(tmp_path, real_mnist_dir):
    cfg = load_config(weight_pca, f"{CONFIGS}/weight_pca.yaml",
                                 [f"Data.dir={real_mnist_dir}", "Data.subset=200", "Model.sizes=[784, 16, 10]",
                                  "Train.epochs=2", "Train.every=1", "Train.batch_size=20", "Study.runs=2",
                                  "Study.workers=1"])
    summary = weight_pca.run(cfg, tmp_path, log=lambda line: None)
    assert summary["parameters"]["whole"] == 784 * 16 + 16 + 16 * 10 + 10
    assert all(r["test_acc"] > 0.3 for r in summary["runs"])       # it learned something from 200 images
