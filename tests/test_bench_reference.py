"""The benchmark's floor reference (benchmarks/flat_numpy.py) trains the same network as minidl.

A correctness check of the reference only: same start, same batch order, the
same epoch loss and accuracy, and the same weights afterwards.  No timing.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

from minidl.losses import SoftmaxCrossEntropy
from minidl.models import MLP
from minidl.optim import SGD
from minidl.training import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import flat_numpy  # noqa: E402


@pytest.mark.parametrize("activation, sizes, batch_size", [
    ("sigmoid", [20, 16, 5], 8),
    ("sigmoid", [20, 7, 7, 7, 5], 3),       # last batch is partial: 50 = 16 * 3 + 2
    ("relu", [20, 12, 9, 5], 16),
])
def test_flat_loop_matches_minidl(activation, sizes, batch_size):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, sizes[0]))
    y = rng.integers(0, sizes[-1], size=50)
    model = MLP(sizes, activation=activation, rng=4, dtype=np.float64)
    params = [(layer.W.data.copy(), layer.b.data.copy()) for layer in model.linear_layers()]
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.5),
                      batch_size=batch_size, rng=np.random.default_rng(5))

    expected = trainer.fit(X, y, epochs=2).history
    order_rng = np.random.default_rng(5)           # the Trainer's shuffle, replayed
    got = [flat_numpy.train_epoch(X, y, params, 0.5, batch_size, order=order_rng.permutation(50),
                                  activation=activation) for _ in range(2)]

    for e, g in zip(expected, got):
        assert g["loss"] == pytest.approx(e["train_loss"], rel=1e-12)
        assert g["acc"] == e["train_acc"]
    for layer, (W, b) in zip(model.linear_layers(), params):
        np.testing.assert_allclose(W, layer.W.data, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, layer.b.data, rtol=1e-10, atol=1e-12)
    assert expected[1]["train_loss"] < expected[0]["train_loss"]       # it did train


def test_flat_loop_keeps_float32_and_leaves_X_alone():
    rng = np.random.default_rng(0)
    X = rng.random((30, 10), dtype=np.float32)
    X_before = X.copy()
    params = flat_numpy.init_params([10, 8, 3], rng, np.float32)
    flat_numpy.train_epoch(X, rng.integers(0, 3, size=30), params, 0.1, 7)   # in order: batches are views
    assert all(W.dtype == np.float32 and b.dtype == np.float32 for W, b in params)
    np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize("activation, sizes, batch_size, loss", [
    ("sigmoid", [20, 16, 5], 8, "softmax"),
    ("tanh", [1, 5, 7, 1], 50, "mse"),             # the full-batch function fit
])
def test_flat_adam_matches_minidl(activation, sizes, batch_size, loss):
    from minidl.losses import MSELoss
    from minidl.optim import Adam
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, sizes[0]))
    y = rng.integers(0, sizes[-1], size=50) if loss == "softmax" else np.sinc(X)
    model = MLP(sizes, activation=activation, rng=4, dtype=np.float64)
    params = [(layer.W.data.copy(), layer.b.data.copy()) for layer in model.linear_layers()]
    criterion = SoftmaxCrossEntropy() if loss == "softmax" else MSELoss()
    trainer = Trainer(model, criterion, Adam(model.parameters(), lr=0.01), batch_size=batch_size,
                      rng=np.random.default_rng(5), classification=loss == "softmax")
    expected = trainer.fit(X, y, epochs=3).history
    order_rng, state = np.random.default_rng(5), flat_numpy.adam_state(params)
    got = [flat_numpy.train_epoch_adam(X, y, params, state, 0.01, batch_size, order=order_rng.permutation(50),
                                       activation=activation, loss=loss) for _ in range(3)]
    for e, g in zip(expected, got):
        assert g["loss"] == pytest.approx(e["train_loss"], rel=1e-10)
    for layer, (W, b) in zip(model.linear_layers(), params):
        np.testing.assert_allclose(W, layer.W.data, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b, layer.b.data, rtol=1e-9, atol=1e-12)
