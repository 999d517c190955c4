"""Progress: a tqdm bar on a terminal or in a notebook, nothing at all in a log."""
import io

import pytest

from minidl.util import progress
from minidl.util.progress import progress_bar


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_no_bar_in_a_log():
    assert progress_bar(100, "epoch 1/3", stream=io.StringIO()) is None


def test_a_bar_on_a_terminal_is_cleared_when_it_closes():
    stream = FakeTerminal()
    bar = progress_bar(100, "epoch 1/3", stream=stream, unit="ex", mininterval=0)
    for _ in range(5):
        bar.set_postfix_str("loss 0.5", refresh=False)
        bar.update(20)
    bar.close()
    text = stream.getvalue()
    assert "epoch 1/3" in text and "100/100" in text and "loss 0.5" in text
    assert text.rstrip(" ").endswith("\r"), "leave=False clears the bar, so the epoch's log line replaces it"


def test_a_notebook_gets_a_bar_even_without_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    bar = progress_bar(10, "epoch 1/1", stream=io.StringIO())
    assert bar is not None
    bar.close()


def test_not_a_notebook_outside_jupyter():
    assert progress.in_notebook() is False


@pytest.mark.parametrize("tty", [False, True])
def test_training_logs_one_line_per_epoch_whatever_the_stream(tty, monkeypatch, capsys):
    import sys

    import numpy as np

    from minidl.losses import SoftmaxCrossEntropy
    from minidl.models import MLP
    from minidl.optim import SGD
    from minidl.training import Trainer
    stream = FakeTerminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 2, 40)
    model = MLP([5, 4, 2], rng=0, dtype=np.float64)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), batch_size=8)
    trainer.fit(X, y, epochs=2, progress=True)
    text = stream.getvalue()
    assert ("epoch 2/2" in text) == tty and ("\r" in text) == tty
