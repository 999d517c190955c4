"""The Python API for notebooks: minidl.train / sweep / run_study / load_run and Run."""
import numpy as np
import pytest

import minidl
from minidl.data import write_csv
from minidl.runs.config import ConfigError


@pytest.fixture
def tiny_mnist(tmp_path):
    """Course-format CSVs of 300 / 100 made-up 'digits' that a network can learn: returns their paths."""
    rng = np.random.default_rng(0)
    centres = rng.integers(0, 256, (10, 784))
    paths = []
    for name, n in (("train.csv", 300), ("test.csv", 100)):
        y = rng.integers(0, 10, n)
        pixels = np.clip(centres[y] + rng.integers(-40, 40, (n, 784)), 0, 255).astype(np.uint8)
        write_csv(tmp_path / name, pixels, y.astype(np.uint8))
        paths.append(str(tmp_path / name))
    return paths


def config(tiny_mnist, tmp_path, **train):
    return {"Train": {"epochs": 3, "batch_size": 16, "learning_rate": 0.1, **train},
            "Model": {"type": "MLP", "sizes": [784, 16, 10], "activation": "relu"},
            "Data": {"train_csv": tiny_mnist[0], "test_csv": tiny_mnist[1], "val_fraction": 0.2, "normalize": True},
            "Output": {"dir": str(tmp_path / "runs")}}


def test_train_from_a_dict_with_dotted_overrides_returns_a_run(tiny_mnist, tmp_path):
    run = minidl.train(config(tiny_mnist, tmp_path), log=lambda line: None, **{"Train.epochs": 2})
    assert isinstance(run, minidl.Run) and run.run_dir.parent == tmp_path / "runs"
    assert run.summary["status"] == "completed" and run.summary["epochs_completed"] == 2
    assert [row["epoch"] for row in run.history] == [1, 2]
    assert run.config["Train"]["epochs"] == 2
    assert run.summary["test_acc"] > 0.5, "the made-up digits are easy"
    figure = run.plot()
    assert isinstance(figure, minidl.plots.Figure) and figure.axes[0].get_xlabel() == "epoch"
    minidl.plots.plt.close(figure)


def test_set_and_keyword_overrides_agree_and_keywords_win(tiny_mnist, tmp_path):
    cfg = config(tiny_mnist, tmp_path)
    a = minidl.train(cfg, set={"Train.epochs": 1, "Train.seed": 5}, log=lambda line: None)
    b = minidl.train(cfg, set={"Train.epochs": 3}, log=lambda line: None, **{"Train.epochs": 1, "Train.seed": 5})
    assert a.history == [{**row, "seconds": a.history[0]["seconds"]} for row in b.history]
    assert b.config["Train"]["epochs"] == 1


def test_the_model_is_the_best_epochs_and_the_curves_are_the_courses(tiny_mnist, tmp_path):
    run = minidl.train(config(tiny_mnist, tmp_path), log=lambda line: None)
    from minidl.runs.job import load_data
    from minidl.runs.job_config import resolve
    from minidl.training import accuracy
    data = load_data(resolve(run.config))                  # the splits exactly as the run saw them
    assert accuracy(run.model.forward(data["val"][0]), data["val"][1]) == max(r["val_acc"] for r in run.history)
    assert accuracy(run.model.forward(data["test"][0]), data["test"][1]) == run.summary["test_acc"]
    train_loss, train_acc, valid_loss, valid_acc = run.curves()
    assert valid_acc == [r["val_acc"] for r in run.history] and len(train_loss) == 3
    figure = minidl.plots.plot_curves(train_loss, train_acc, valid_loss, valid_acc)
    minidl.plots.plt.close(figure)


def test_errors_are_the_command_lines_config_errors(tiny_mnist, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key Train.learnig_rate \(did you mean learning_rate\?\)"):
        minidl.train(config(tiny_mnist, tmp_path), **{"Train.learnig_rate": 0.1})
    with pytest.raises(ConfigError, match="config file not found"):
        minidl.train(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="no study 'mlds/random_lables'"):
        minidl.run_study("mlds/random_lables", "configs/mlds/random_labels.yaml")
    assert not (tmp_path / "runs").exists(), "a refused config leaves no run folder"


def test_load_run_reopens_a_folder(tiny_mnist, tmp_path):
    run = minidl.train(config(tiny_mnist, tmp_path), log=lambda line: None, **{"Train.epochs": 1})
    again = minidl.load_run(run.run_dir)
    assert again.summary == run.summary and again.history == run.history
    assert [p.name for p in again.figures] == ["curves.png"]
    with pytest.raises(ConfigError, match="not a finished run folder"):
        minidl.load_run(tmp_path)


def test_a_study_by_name_and_its_figures(tmp_path):
    run = minidl.run_study("race/optimizer_race", "configs/race/b_lr1e-4.yaml", log=lambda line: None,
                           **{"Race.steps": 100, "Output.dir": str(tmp_path)})
    assert run.summary["steps"] == 100 and [p.name for p in run.figures] == ["error.png", "trajectories.png"]
    assert run.history == []
    with pytest.raises(ValueError, match="no per-epoch metrics to plot"):
        run.plot()
    with pytest.raises(ConfigError, match="no model to load"):
        run.model
    pytest.importorskip("IPython")
    assert [p.name for p in run.show("error.png")] == ["error.png"]


def test_sweep_from_python(tiny_mnist, tmp_path):
    base = tmp_path / "base.yaml"
    import yaml
    base.write_text(yaml.safe_dump(config(tiny_mnist, tmp_path)))
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(f"Sweep: {{base: {base}, grid: {{Train.learning_rate: [0.1, 0.01]}}, workers: 1}}\n"
                          f"Output: {{dir: {tmp_path / 'sweeps'}}}\n")
    run = minidl.sweep(sweep_file, log=lambda line: None, **{"Sweep.set.Train.epochs": 1})
    assert run.run_dir == tmp_path / "sweeps" / "sweep-sweep"
    assert run.summary["completed"] == 2 and (run.run_dir / "results.csv").is_file()
