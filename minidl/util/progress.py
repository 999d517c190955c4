"""Progress display that behaves in terminals and in logs alike.

On a terminal, ``Progress`` redraws one line in place (carriage return), at
most ~10 times a second.  When the stream is not a terminal (CI, a pipe, a
log file) there is no carriage-return spam: by default it prints nothing
(training prints one line per epoch itself), and with ``log_quarters=True``
it prints a plain line at 0, 25, 50, 75 and 100% (downloads use this).

    bar = Progress(n, "epoch 3/10");  bar.update(done, loss=0.31);  bar.close()
    bar = Progress(size, "train-images-idx3-ubyte.gz", unit="MB", log_quarters=True)
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress", "is_terminal"]


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """Report ``done`` out of ``total`` (None if unknown).

    Args:
        total:        the amount of work, or None when it is not known in advance.
        desc:         what is being done, e.g. ``'epoch 3/10'`` or a file name.
        unit:         ``'items'`` (shown with a rate per second) or ``'MB'`` (``done`` in bytes).
        log_quarters: when not on a terminal, print a line at every 25% (every 5 MB if total is unknown).
    """

    def __init__(self, total: int | None, desc: str = "", stream=None, unit: str = "items",
                 log_quarters: bool = False, min_interval: float = 0.1):
        self.total, self.desc, self.unit = total, desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.tty = is_terminal(self.stream)
        self.log_quarters = log_quarters
        self.min_interval = min_interval
        self.start = time.perf_counter()
        self._last_draw = float("-inf")
        self._next_mark = 0          # next quarter (percent) or next 5-MB step to log, off a terminal
        self._done = 0

    def update(self, done: int, **values: float) -> None:
        """Record progress; ``values`` (e.g. ``loss=0.3``) are shown on the terminal line."""
        self._done = done
        if self.tty:
            now = time.perf_counter()
            if now - self._last_draw >= self.min_interval or (self.total and done >= self.total):
                self._last_draw = now
                self.stream.write("\r" + self._text(done, values) + "\x1b[K")
                self.stream.flush()
        elif self.log_quarters:
            self._log_marks(done)

    def close(self, done: int | None = None) -> None:
        """Finish: a terminal line is cleared (items) or completed (MB); a log gets its last line."""
        done = self._done if done is None else done
        if self.tty:
            final = "\n" if self.unit == "MB" else ""
            self.stream.write(("\r" + self._text(done, {}) + final) if final else "\r\x1b[K")
            self.stream.flush()
        elif self.log_quarters:
            self._log_marks(done)

    def _log_marks(self, done: int) -> None:
        if self.total:
            while self._next_mark <= 100 and 100 * done >= self._next_mark * self.total:
                self._next_mark += 25
                print(self._text(done, {}), file=self.stream, flush=True)
        elif done >= self._next_mark * 5 * 2**20:
            self._next_mark += 1
            print(self._text(done, {}), file=self.stream, flush=True)

    def _text(self, done: int, values: dict) -> str:
        if self.unit == "MB":
            mb = done / 2**20
            if not self.total:
                return f"  {self.desc}: {mb:.1f} MB"
            return f"  {self.desc}: {100 * done / self.total:5.1f}% ({mb:.1f} / {self.total / 2**20:.1f} MB)"
        total = max(int(self.total or 1), 1)
        bar = "#" * int(24 * min(done / total, 1.0))
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        extra = "  ".join(f"{k} {v:.4g}" for k, v in values.items())
        return f"{self.desc} [{bar:<24}] {done}/{total} {rate:,.0f}/s {extra}".rstrip()
