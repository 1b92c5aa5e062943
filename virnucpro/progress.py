"""Progress on stderr: a live rich progress line on a terminal, periodic log lines with --verbose, silence otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


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
        self._bar: Any = None
        self._task: Any = None

    def update(self, n: int = 1, **extra: float) -> None:
        """Add `n` items (and optional named counters, e.g. tokens=...) and report if it is time to."""
        self.count += n
        for key, value in extra.items():
            self.extra[key] = self.extra.get(key, 0.0) + value
        now = time.monotonic()
        if self.enabled and now - self._last >= self.interval:
            self._last = now
            self._show()

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

    def _show(self) -> None:
        if not self.live:
            self.stream.write(f"{self.label}: {self.rate_text()}\n")
            self.stream.flush()
            return
        if self._bar is None:
            self._start_bar()
        self._bar.update(self._task, completed=self.count, rates=self.rate_text())

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        columns: list[Any] = [TextColumn("{task.description}")]
        if self.total is not None:
            columns += [BarColumn(bar_width=30), TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn()]
        columns += [TextColumn("{task.fields[rates]}"), TimeElapsedColumn()]
        self._bar = RichProgress(*columns, console=Console(file=self.stream), transient=False)
        self._task = self._bar.add_task(self.label, total=self.total, rates="")
        self._bar.start()

    def close(self) -> None:
        """Finish the live line (a summary belongs in the log, written by the caller)."""
        if self.live and self.count:
            self._show()
            self._bar.stop()
            self._bar = None
