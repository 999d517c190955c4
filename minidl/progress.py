"""Progress display that behaves in terminals and in CI logs alike.

On a terminal, ``Progress`` redraws one line in place (carriage return), at
most ~10 times a second.  When the stream is not a terminal (CI, a pipe, a
log file) it draws nothing: the caller prints one line per epoch instead, so
logs carry no carriage-return spam.
"""
from __future__ import annotations

import sys
import time


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


class Progress:
    """``p = Progress(total, 'epoch 3/10'); p.update(done, loss=0.31); p.close()``."""

    def __init__(self, total: int, desc: str = "", stream=None, min_interval: float = 0.1):
        self.total, self.desc = max(int(total), 1), desc
        self.stream = stream or sys.stderr
        self.enabled = is_terminal(self.stream)
        self.min_interval = min_interval
        self.start = self._last = time.perf_counter()

    def update(self, done: int, **values: float) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < self.min_interval and done < self.total:
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        bar = "#" * int(24 * frac)
        rate = done / max(now - self.start, 1e-9)
        extra = "  ".join(f"{k} {v:.4g}" for k, v in values.items())
        self.stream.write(f"\r{self.desc} [{bar:<24}] {done}/{self.total} {rate:,.0f}/s {extra}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
