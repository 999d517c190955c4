"""``import minidl`` in a fresh interpreter: no matplotlib, no random seeding, the public names."""
import json
import subprocess
import sys
import textwrap

import pytest

import minidl

PUBLIC = {
    "layers": ["Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Sequential", "Conv2d", "MaxPool2d", "AvgPool2d",
               "Flatten", "Dropout", "BatchNorm1d", "BatchNorm2d"],
    "losses": ["SoftmaxCrossEntropy", "MSELoss", "softmax", "log_softmax"],
    "init": ["zeros", "normal", "xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform"],
    "models": ["MLP", "SoftmaxRegression", "TwoLayerNet"],
    "optim": ["SGD", "Adam", "RMSprop", "Adagrad", "StepLR", "ExponentialLR", "CosineAnnealingLR"],
    "gradcheck": ["numerical_gradient", "relative_error", "check_layer", "check_model_loss"],
}

# Runs in a fresh interpreter: numpy first (so its global RandomState exists), then minidl.
_PROBE = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    before = np.random.get_state()
    start = time.perf_counter()
    import minidl
    seconds = time.perf_counter() - start
    after = np.random.get_state()
    same_state = (before[0] == after[0] and bool((before[1] == after[1]).all()) and before[2:] == after[2:])
    print(json.dumps({
        "seconds": seconds,
        "same_state": same_state,
        "heavy": sorted(m for m in ("matplotlib", "yaml", "pandas", "scipy") if m in sys.modules),
    }))
""")


@pytest.fixture(scope="module")
def fresh_import():
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_does_not_load_matplotlib(fresh_import):
    assert "matplotlib" not in fresh_import["heavy"], fresh_import


def test_import_does_not_touch_the_global_random_state(fresh_import):
    assert fresh_import["same_state"] is True


def test_import_time_is_reported(fresh_import, capsys):
    # reported, not asserted: timing depends on the machine
    with capsys.disabled():
        print(f"\n[import minidl took {fresh_import['seconds'] * 1000:.0f} ms in a fresh interpreter; "
              f"heavy modules loaded: {fresh_import['heavy'] or 'none'}]")
    assert fresh_import["seconds"] >= 0


def test_the_subprocess_probe_detects_seeding():
    # the probe must be able to fail: run it on a 'package' that seeds numpy at import
    probe = _PROBE.replace("import minidl", "np.random.seed(0)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1])["same_state"] is False


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    sub = getattr(minidl, module)
    missing = [name for name in PUBLIC[module] if not hasattr(sub, name)]
    assert not missing, f"minidl.{module} lacks {missing}"
    for name in PUBLIC[module]:
        assert callable(getattr(sub, name)), f"minidl.{module}.{name}"


def test_top_level_exports():
    from minidl.parameter import Parameter
    assert minidl.Parameter is Parameter
    assert set(minidl.__all__) >= {"Parameter", "layers", "losses", "init", "models", "optim", "gradcheck"}
    assert minidl.__version__


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'no_such_module'"):
        minidl.no_such_module  # noqa: B018
