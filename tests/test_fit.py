"""Trainer.fit, the one training loop: rounds, evaluation schedule, scheduler, stops and callbacks."""
import math
import signal

import numpy as np
import pytest

from minidl.losses import MSELoss, SoftmaxCrossEntropy
from minidl.models import MLP
from minidl.optim import SGD, Adam, StepLR
from minidl.runs.folder import MetricsWriter, read_metrics
from minidl.training import Trainer
from minidl.training.callbacks import GradientStats, KeepBest, OnRound, StopAt


def blobs(n=64, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, d))
    y = rng.integers(0, classes, n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float64), y


def trainer(lr=0.1, batch_size=8, seed=0, scheduler=None, **kwargs):
    model = MLP([6, 8, 3], activation="tanh", rng=seed, dtype=np.float64)
    opt = SGD(model.parameters(), lr=lr)
    sched = scheduler(opt) if scheduler else None
    return Trainer(model, SoftmaxCrossEntropy(), opt, sched, batch_size=batch_size,
                   rng=np.random.default_rng(seed), **kwargs)


def manual_epochs(t, X, y, epochs):
    """The same training written out by hand: shuffle, forward, loss, backward, step."""
    losses = []
    for _ in range(epochs):
        order = t.rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), t.batch_size):
            idx = order[start:start + t.batch_size]
            value = t.loss.forward(t.model.forward(X[idx]), y[idx])
            t.model.backward(t.loss.backward(), input_grad=False)
            t.optimizer.step()
            total += value * len(idx)
        losses.append(total / len(X))
    return losses


def test_fit_is_the_textbook_loop_bit_for_bit():
    X, y = blobs()
    a, b = trainer(), trainer()
    result = a.fit(X, y, epochs=3)
    assert result.status == "completed" and [r["epoch"] for r in result.history] == [1, 2, 3]
    assert list(result.column("train_loss")) == manual_epochs(b, X, y, 3)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert a.epoch == 3 and a.steps == 3 * 8
    assert list(result.history[0]) == ["epoch", "train_loss", "train_acc", "lr", "seconds"]


def test_eval_sets_add_columns_and_a_train_set_replaces_the_running_means():
    X, y = blobs()
    t = trainer()
    rows = t.fit(X, y, epochs=2, eval_sets={"train": (X, y), "val": (X[:16], y[:16])}).history
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    assert rows[-1]["train_loss"] == pytest.approx(t.evaluate(X, y)["loss"], rel=1e-12)
    assert rows[-1]["val_acc"] == t.evaluate(X[:16], y[:16])["acc"]


def test_rounds_of_steps_cross_epochs_and_step_the_scheduler_once_per_epoch_that_ended():
    X, y = blobs(n=40)                  # batch 8, drop_last: 5 steps per epoch
    t = trainer(scheduler=lambda opt: StepLR(opt, step_size=1, gamma=0.5))
    rows = t.fit(X, y, steps=12, eval_every=4, drop_last=True).history
    assert [r["step"] for r in rows] == [4, 8, 12]
    assert [r["epoch"] for r in rows] == [0.8, 1.6, 2.4]
    # the lr column is the rate in effect during the round; it halves after each round an epoch ended in
    assert [r["lr"] for r in rows] == [0.1, 0.1, 0.05]
    assert t.optimizer.lr == 0.025 and t.epoch == 2


def test_steps_in_rounds_equal_the_same_steps_in_one_round():
    X, y = blobs(n=40)
    a, b = trainer(), trainer()
    a.fit(X, y, steps=10, eval_every=3, drop_last=True)
    b.fit(X, y, steps=10, eval_every=10, drop_last=True)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_given_batches_are_used_in_order_and_forbid_a_scheduler():
    X, y = blobs(n=20)
    batches = [np.array([0, 1, 2]), np.array([5, 6, 7]), np.array([3, 4])]
    t = trainer(batch_size=3)
    rows = t.fit(X, y, batches=batches, eval_every=1).history
    assert len(rows) == 3 and t.steps == 3
    other = trainer(batch_size=3)
    for idx in batches:
        value, _ = other.step(X[idx], y[idx])
    assert rows[-1]["train_loss"] == value
    with pytest.raises(ValueError, match="scheduler"):
        trainer(scheduler=lambda opt: StepLR(opt, 1)).fit(X, y, batches=batches)


def test_fit_needs_a_length():
    X, y = blobs()
    with pytest.raises(ValueError, match="exactly one of epochs= or steps="):
        trainer().fit(X, y)
    with pytest.raises(ValueError, match="eval_every"):
        trainer().fit(X, y, steps=3, eval_every=0)


def test_a_callback_stops_training_and_names_the_status():
    X, y = blobs()
    result = trainer(lr=0.5).fit(X, y, epochs=200, eval_sets={"train": (X, y)},
                                 callbacks=[StopAt("train_acc", 0.9, reason="reached")])
    assert result.status == "reached" and result.history[-1]["train_acc"] >= 0.9
    assert len(result.history) < 200


def test_divergence_ends_training_with_the_rows_before_it():
    X, y = blobs()
    model = MLP([6, 8, 1], activation="relu", rng=0, dtype=np.float64)
    t = Trainer(model, MSELoss(), SGD(model.parameters(), lr=10.0), batch_size=64, classification=False)
    with np.errstate(all="ignore"):
        result = t.fit(X * 100, y[:, None].astype(float), epochs=50)
    assert result.status == "diverged" and "lower learning rate" in result.message
    assert 0 < len(result.history) < 50 and all(math.isfinite(r["train_loss"]) for r in result.history)


def test_a_stop_request_interrupts_at_a_batch_boundary():
    X, y = blobs()

    class Stopper:
        def begin(self, trainer):
            self.trainer = trainer

        def after_backward(self, model):
            if self.trainer.steps == 11:
                self.trainer.stop_requested = signal.SIGINT

    t = trainer()
    result = t.fit(X, y, epochs=5, callbacks=[Stopper()])
    assert result.status == "interrupted" and result.signal == "SIGINT"
    assert len(result.history) == 1 and t.steps == 12 and "during epoch 2" in result.message


def test_callback_methods_are_called_in_their_places(tmp_path):
    X, y = blobs()
    calls = []

    class Recorder:
        def begin(self, trainer):
            calls.append("begin")

        def columns(self):
            return {"extra": 1.0}

        def end_round(self, trainer, row):
            calls.append(("row", row["epoch"], row["extra"]))

        def end(self, trainer, result):
            calls.append(("end", result.status))

    stats = GradientStats()
    writer = MetricsWriter(tmp_path / "metrics.csv")
    log = []
    trainer().fit(X, y, epochs=2, callbacks=[Recorder(), stats, writer, OnRound(lambda t, r: log.append(r["epoch"]))])
    assert calls == ["begin", ("row", 1, 1.0), ("row", 2, 1.0), ("end", "completed")]
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and "grad_ratio" in rows[0] and "grad_norm_0.W" in rows[0]
    assert log == [1, 2]


def test_keep_best_keeps_the_best_rounds_parameters():
    X, y = blobs()
    t = trainer(lr=0.3)
    best = KeepBest("val_acc")
    rows = t.fit(X, y, epochs=6, eval_sets={"val": (X[:20], y[:20])}, callbacks=[best]).history
    scores = [r["val_acc"] for r in rows]
    assert best.value == max(scores) and best.epoch == rows[scores.index(max(scores))]["epoch"]
    t.model.load_state_dict(best.state)
    assert t.evaluate(X[:20], y[:20])["acc"] == best.value


def test_adam_and_sgd_both_train_through_fit():
    X, y = blobs()
    for make in (lambda p: SGD(p, lr=0.2, momentum=0.9), lambda p: Adam(p, lr=0.05)):
        model = MLP([6, 8, 3], rng=1, dtype=np.float64)
        t = Trainer(model, SoftmaxCrossEntropy(), make(model.parameters()), batch_size=16, rng=np.random.default_rng(1))
        losses = t.fit(X, y, epochs=10).column("train_loss")
        assert losses[-1] < losses[0] / 2


def test_regression_targets_with_classification_on_are_refused():
    # argmax(outputs) == y with (N, 1) targets would compare (N,) with (N, 1): an (N, N) array, silently
    model = MLP([3, 4, 1], rng=0)
    t = Trainer(model, MSELoss(), SGD(model.parameters(), lr=0.1), batch_size=8)
    X = np.zeros((16, 3), np.float32)
    with pytest.raises(ValueError, match=r"got shape \(16, 1\).*classification=False"):
        t.fit(X, np.zeros((16, 1), np.float32), epochs=1)
    assert Trainer(model, MSELoss(), SGD(model.parameters(), lr=0.1), batch_size=8,
                   classification=False).fit(X, np.zeros((16, 1), np.float32), epochs=1).status == "completed"
