"""Stop a run cleanly on Ctrl-C (SIGINT) or SIGTERM, whenever it comes.

``SignalGuard`` covers a whole run (the entry point puts one around every
command).  The first SIGINT or SIGTERM does not kill the process:

- while ``Trainer.fit`` runs with a ``StopOnSignals`` callback, it sets
  ``trainer.stop_requested``, and training stops at the next batch boundary
  with the status ``interrupted``, so the run saves what it has;
- while a file that must not be cut short is written (``guard.hold()``), it
  is noted, and acted on when the write is done;
- anywhere else (loading data, the final evaluation, drawing figures, a
  sweep's bookkeeping) it raises ``Interrupted`` at once, and the entry point
  writes ``summary.json`` with the status ``interrupted``.

A second signal of the same kind acts as usual, and aborts at once, for when
the clean stop is not wanted.  ``phase("drawing figures")`` names what the run
is doing, for the message.  The variable ``MINIDL_SIGNAL_AT=<phase>`` makes the
process send itself SIGTERM when it enters that phase, so that tests stop a
run at a chosen moment instead of by timing luck.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading

__all__ = ["SignalGuard", "StopOnSignals", "Interrupted", "phase", "raise_if_interrupted", "SIGNALS"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A run stopped because a stop was requested (Ctrl-C / SIGTERM); ``signum`` is the signal.

    A BaseException, as KeyboardInterrupt is, so that ``except Exception`` (a sweep
    point that reports its failure and goes on) does not swallow the stop.
    """

    def __init__(self, message: str, signum: int | None = None):
        super().__init__(message)
        self.signum = signum


class SignalGuard:
    """While the block runs, SIGINT and SIGTERM stop the run cleanly (see the module docstring).

    ``signum`` is the signal that arrived (None if none did).  Does nothing outside the
    main thread (Python only delivers signals there).
    """

    active: "SignalGuard | None" = None      # the guard of the run in progress, if any

    def __init__(self, log=print):
        self.log = log
        self.signum: int | None = None
        self.trainer = None                   # set by StopOnSignals while Trainer.fit runs
        self.consumed = False                 # the signal has been acted on (training stopped, or raised)
        self.holding = False                  # inside hold(): note the signal, raise nothing
        self.phase = "starting"
        self.previous: dict = {}

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread() and SignalGuard.active is None:
            for sig in SIGNALS:
                self.previous[sig] = signal.signal(sig, self._request_stop)
            SignalGuard.active = self
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
        if SignalGuard.active is self:
            SignalGuard.active = None

    @contextlib.contextmanager
    def hold(self):
        """A block that a signal must not cut short (writing summary.json): the signal is only noted."""
        holding, self.holding = self.holding, True
        try:
            yield
        finally:
            self.holding = holding

    def _request_stop(self, signum, frame) -> None:
        self.signum = signum
        signal.signal(signum, self.previous.get(signum, signal.SIG_DFL))    # a second signal aborts at once
        name = signal.Signals(signum).name
        if self.trainer is not None:
            self.trainer.stop_requested = signum
            self.log(f"{name} received: stopping at the end of this batch (send it again to abort at once)")
        elif self.holding:
            self.log(f"{name} received while {self.phase}: stopping when it is done")
        else:
            self.log(f"{name} received while {self.phase}: stopping now (send it again to abort at once)")
            self.consumed = True
            raise Interrupted(f"interrupted by {name} while {self.phase}", signum)


def phase(name: str) -> None:
    """The run now does ``name`` (e.g. "drawing figures"): named in an interruption's message.

    Raises ``Interrupted`` if a signal came that nothing has acted on yet (one that
    arrived while training's last round was being evaluated, say).
    """
    guard = SignalGuard.active
    if guard is not None:
        guard.phase = name
        if guard.signum is not None and not guard.consumed and not guard.holding:
            signame = signal.Signals(guard.signum).name
            guard.consumed = True
            raise Interrupted(f"interrupted by {signame} before {name}", guard.signum)
    if os.environ.get("MINIDL_SIGNAL_AT") == name:            # a test's chosen moment
        os.kill(os.getpid(), signal.SIGTERM)


def raise_if_interrupted(summary: dict, what: str) -> None:
    """Pass on the stop of a run inside this one (a sweep's point, a study's network):
    raise ``Interrupted`` if ``summary`` says it was interrupted.  ``what`` says where we are."""
    if summary.get("status") == "interrupted":
        signum = signal.Signals[summary["signal"]] if summary.get("signal") else None
        raise Interrupted(f"{what}: {summary.get('message', 'interrupted')}", signum)


class StopOnSignals:
    """A ``fit`` callback: SIGINT/SIGTERM stop training at the next batch boundary.

    Under a ``SignalGuard`` (every command has one) it hands the trainer to the guard;
    without one (a script calling ``fit`` itself) it puts up its own guard while training runs.
    """

    def __init__(self, log=print):
        self.log = log
        self.guard: SignalGuard | None = None
        self.own: SignalGuard | None = None

    def begin(self, trainer) -> None:
        if SignalGuard.active is None:
            self.own = SignalGuard(self.log).__enter__()
        self.guard = SignalGuard.active or self.own
        self.guard.trainer = trainer
        self.guard.phase = "training"
        if self.guard.signum is not None and not self.guard.consumed:     # a signal came before training
            trainer.stop_requested = self.guard.signum

    def end(self, trainer, result) -> None:
        self.guard.trainer = None
        self.guard.phase = "finishing training"
        if result.status == "interrupted":
            self.guard.consumed = True
        if self.own is not None:
            self.own.__exit__()
            self.own = None
