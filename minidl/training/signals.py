"""Stop training cleanly on Ctrl-C (SIGINT) or SIGTERM.

While ``Trainer.fit`` runs with a ``StopOnSignals`` callback, the first SIGINT
or SIGTERM does not kill the process: it sets ``trainer.stop_requested`` to the
signal number, and the trainer stops at the next batch boundary with the
status ``interrupted``, so the caller can save what it has.  A second signal
of the same kind acts as usual (aborts at once), for when the clean stop is
not wanted.
"""
from __future__ import annotations

import signal
import threading

__all__ = ["StopOnSignals", "SIGNALS"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignals:
    """A ``fit`` callback that routes SIGINT/SIGTERM to ``trainer.stop_requested`` while training runs.

    Does nothing outside the main thread (Python only delivers signals there).
    """

    def __init__(self, log=print):
        self.log = log
        self.previous: dict = {}

    def begin(self, trainer) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def request_stop(signum, frame):
            trainer.stop_requested = signum
            signal.signal(signum, self.previous[signum])          # a second signal aborts immediately
            self.log(f"{signal.Signals(signum).name} received: stopping at the end of this batch "
                     f"(send it again to abort at once)")

        for sig in SIGNALS:
            self.previous[sig] = signal.signal(sig, request_stop)

    def end(self, trainer, result) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
