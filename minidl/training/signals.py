"""Stop training cleanly on Ctrl-C (SIGINT) or SIGTERM.

Inside ``stop_on_signals(trainer)``, the first SIGINT or SIGTERM does not kill
the process: it sets ``trainer.stop_requested`` to the signal number, and the
trainer raises ``Interrupted`` at the next batch boundary, so the caller can
save what it has.  A second signal of the same kind acts as usual (aborts at
once), for when the clean stop is not wanted.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["stop_on_signals", "SIGNALS"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(trainer, log=print):
    """Route SIGINT/SIGTERM to ``trainer.stop_requested`` while the block runs.

    Does nothing outside the main thread (Python only delivers signals there).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def request_stop(signum, frame):
        trainer.stop_requested = signum
        signal.signal(signum, previous[signum])          # a second signal aborts immediately
        log(f"{signal.Signals(signum).name} received: stopping at the end of this batch "
            f"(send it again to abort at once)")

    for sig in SIGNALS:
        previous[sig] = signal.signal(sig, request_stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
