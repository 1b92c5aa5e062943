"""Progress on stderr: a live line on a terminal, periodic log lines with --verbose, silence otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts work items and reports the rate; call `update(n)` as work is done and `close()` at the end."""

    def __init__(
        self,
        label: str,
        unit: str = "records",
        total: int | None = None,
        verbose: bool = False,
        stream: TextIO | None = None,
        interval: float | None = None,
    ) -> None:
        self.label, self.unit, self.total = label, unit, total
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = self.live or verbose
        self.interval = interval if interval is not None else (0.2 if self.live else 10.0)
        self.count = 0
        self.extra: dict[str, float] = {}
        self.start = self._last = time.monotonic()

    def update(self, n: int = 1, **extra: float) -> None:
        """Add `n` items (and optional named counters, e.g. tokens=...) and report if it is time to."""
        self.count += n
        for key, value in extra.items():
            self.extra[key] = self.extra.get(key, 0.0) + value
        now = time.monotonic()
        if self.enabled and now - self._last >= self.interval:
            self._last = now
            self._emit(now, final=False)

    def elapsed(self) -> float:
        """Seconds since the progress started."""
        return time.monotonic() - self.start

    def rate_text(self) -> str:
        """'1,234 records (5,678 records/s, 9,000 tokens/s)' for the work so far."""
        seconds = max(self.elapsed(), 1e-9)
        parts = [f"{self.count / seconds:,.0f} {self.unit}/s"]
        parts += [f"{value / seconds:,.0f} {key}/s" for key, value in self.extra.items()]
        done = f"{self.count:,}" + (f"/{self.total:,}" if self.total is not None else "")
        return f"{done} {self.unit} ({', '.join(parts)})"

    def _emit(self, now: float, final: bool) -> None:
        text = f"{self.label}: {self.rate_text()}"
        if self.live:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Finish the live line (a summary belongs in the log, written by the caller)."""
        if self.live and self.count:
            self._emit(time.monotonic(), final=True)
