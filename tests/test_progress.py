"""Progress: redraws in place on a terminal, never spams a log with carriage returns."""
import io

import pytest

from minidl.util.progress import Progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty", [False, True])
def test_download_progress_redraws_on_a_terminal_and_prints_quarters_in_logs(tty):
    stream = FakeTerminal() if tty else io.StringIO()
    progress = Progress(1000, "f.gz", stream=stream, unit="MB", log_quarters=True, min_interval=0)
    for done in range(0, 1001, 10):
        progress.update(done)
    progress.close(1000)
    text = stream.getvalue()
    if tty:
        assert text.count("\r") > 50 and text.endswith("100.0% (0.0 / 0.0 MB)\n")
    else:
        assert "\r" not in text and text.count("\n") == 5       # 0, 25, 50, 75, 100 %
        assert "50.0%" in text


def test_unknown_size_logs_every_5_mb():
    stream = io.StringIO()
    progress = Progress(None, "f.gz", stream=stream, unit="MB", log_quarters=True)
    for done in range(0, 12 * 2**20, 2**20):
        progress.update(done)
    assert stream.getvalue().count("\n") == 3 and "10.0 MB" in stream.getvalue()


@pytest.mark.parametrize("tty", [False, True])
def test_epoch_progress_is_silent_in_logs_and_cleared_on_a_terminal(tty):
    stream = FakeTerminal() if tty else io.StringIO()
    progress = Progress(100, "epoch 1/3", stream=stream, min_interval=0)
    for done in range(0, 101, 20):
        progress.update(done, loss=0.5)
    progress.close()
    text = stream.getvalue()
    if tty:
        assert "epoch 1/3" in text and "loss 0.5" in text and "100/100" in text
        assert text.endswith("\r\x1b[K"), "the bar is cleared so the epoch line replaces it"
    else:
        assert text == ""
