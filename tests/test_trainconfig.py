"""Training-config validation: every mistake fails before training, naming the key."""
import pytest

from experiments import train
from minidl.runs import cli
from minidl.runs.config import ConfigError, apply_overrides
from minidl.runs.job_config import resolve


def load_config(path, overrides=()):
    return cli.load_config(train, path, overrides)

BASE = {"Train": {"batch_size": 64, "learning_rate": 0.1, "reg": 0.001, "epochs": 10,
                  "momentum": 0.0, "debug": False},
        "Model": {"type": "TwoLayerNet", "hidden_size": 128}}


def with_(**changes):
    cfg = apply_overrides(BASE, [f"{k.replace('__', '.')}={v}" for k, v in changes.items()])
    return cfg


def test_course_keys_resolve_with_defaults():
    cfg = resolve(BASE, "c.yaml")
    assert cfg["Train"]["learning_rate"] == 0.1 and cfg["Train"]["optimizer"] == "sgd"
    assert cfg["Data"]["val_fraction"] == 0.2 and cfg["Output"]["dir"] == "runs"


@pytest.mark.parametrize("overrides, fragment", [
    (["Train.learnig_rate=0.1"], "unknown key Train.learnig_rate (did you mean learning_rate?)"),
    (["Trian.epochs=3"], "unknown section Trian (did you mean Train?)"),
    (["Train.batch_size=-4"], "Train.batch_size must be an integer > 0; got -4"),
    (["Train.batch_size=abc"], "Train.batch_size must be an integer; got 'abc'"),
    (["Train.epochs=0"], "Train.epochs must be an integer > 0"),
    (["Train.learning_rate=0"], "Train.learning_rate must be a number > 0; got 0"),
    (["Train.learning_rate=-0.1"], "Train.learning_rate must be a number > 0"),
    (["Train.optimizer=adamw"], "Train.optimizer must be one of"),
    (["Train.optimizer=adma"], "did you mean adam?"),
    (["Model.type=TwoLayerNets"], "did you mean TwoLayerNet?"),
    (["Model.hidden_size=0"], "Model.hidden_size must be an integer > 0"),
    (["Model.type=MLP"], "Model.sizes is required"),
    (["Model.type=MLP", "Model.sizes=[700, 10]"], "must start at 784 and end at 10"),
    (["Model.type=MLP", "Model.sizes=[784, 0, 10]"], "Model.sizes must be a list of at least two positive integers"),
    (["Model.type=MLP", "Model.sizes=[784, 10]", "Model.activation=relux"], "Model.activation must be one of"),
    (["Model.type=MLP", "Model.sizes=[784, 10]", "Model.init=he"], "Model.init must be a valid init"),
    (["Train.scheduler={type: stepp}"], "Train.scheduler: unknown scheduler type 'stepp'"),
    (["Train.scheduler={type: step, step_size: 0}"], "step_size must be a positive integer"),
    (["Train.scheduler={type: step, gama: 0.1, step_size: 2}"], "scheduler 'step' has no option 'gama'"),
    (["Train.nesterov=true"], "Train.nesterov needs optimizer sgd and momentum > 0"),
    (["Data.val_fraction=1.5"], "Data.val_fraction must be a number in [0, 1)"),
    (["Data.subset=-5"], "Data.subset must be null or an integer > 0"),
    (["Train.debug=maybe"], "Train.debug must be true/false"),
])
def test_bad_config_is_rejected_with_the_key_named(overrides, fragment):
    with pytest.raises(ConfigError) as err:
        resolve(apply_overrides(BASE, overrides), "configs/bad.yaml")
    assert fragment in str(err.value)
    assert str(err.value).startswith("configs/bad.yaml")


def test_missing_model_type_is_reported():
    with pytest.raises(ConfigError, match="missing required key Model.type"):
        resolve({"Train": {}}, "x.yaml")


def test_set_overrides_parse_yaml_values():
    cfg = apply_overrides(BASE, ["Train.learning_rate=0.05", "Model.type=MLP", "Model.sizes=[784, 30, 10]",
                                 "Train.nesterov=true"])
    assert cfg["Train"]["learning_rate"] == 0.05 and cfg["Model"]["sizes"] == [784, 30, 10]
    assert cfg["Train"]["nesterov"] is True
    assert BASE["Train"]["learning_rate"] == 0.1, "apply_overrides must not change its input"
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides(BASE, ["Train.learning_rate"])


def test_shipped_configs_reproduce_the_course_defaults():
    for name in ("config_exp", "config_twolayer", "config_softmax"):
        cfg = load_config(f"configs/{name}.yaml")
        t = cfg["Train"]
        assert (t["batch_size"], t["learning_rate"], t["reg"], t["epochs"], t["momentum"]) == (64, 0.1, 1e-3, 10, 0.0)
    assert load_config("configs/config_twolayer.yaml")["Model"]["hidden_size"] == 128


def test_decay_biases_defaults_to_false_and_reaches_the_optimizer():
    from minidl.parameter import Parameter
    from minidl.runs.job_config import build_optimizer, optimizer_spec
    plain = resolve(BASE, "c.yaml")
    assert plain["Train"]["decay_biases"] is False and "decay_biases" not in optimizer_spec(plain)
    for optimizer in ("sgd", "adam", "rmsprop", "adagrad"):
        cfg = resolve(with_(Train__decay_biases="true", Train__optimizer=optimizer), "c.yaml")
        assert optimizer_spec(cfg)["decay_biases"] is True
        assert build_optimizer(cfg, [Parameter([0.0])]).decay_biases is True


def test_hw7_configs_decay_the_biases_as_the_assignment_does():
    # the assignment's optim.SGD / optim.Adam(..., weight_decay=1e-5) act on every parameter
    from pathlib import Path
    # (the CNNs are not the assignment's: they keep the usual practice, no decay on biases and batch norm)
    configs = [p for p in sorted(Path("configs/hw7").glob("*.yaml"))
               if p.stem not in ("compare", "gradients", "convolutions") and not p.stem.startswith("cnn")]
    assert len(configs) == 6
    for path in configs:
        train_section = load_config(path)["Train"]
        assert train_section["reg"] > 0 and train_section["decay_biases"] is True, path


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("Train: [1, 2\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(bad)


def test_softmax_regression_relu_can_be_switched_off():
    import numpy as np
    from minidl.layers import ReLU
    from minidl.runs.job_config import build_model
    with_relu = build_model(resolve({"Model": {"type": "SoftmaxRegression"}}, "c"), np.random.default_rng(0))
    linear = build_model(resolve({"Model": {"type": "SoftmaxRegression", "relu": False}}, "c"), np.random.default_rng(0))
    assert isinstance(with_relu[1], ReLU) and len(linear) == 1
    np.testing.assert_array_equal(with_relu[0].W.data, linear[0].W.data)
