"""What `virnucpro run` shows while it embeds: one line per device, overall progress and ETA, and a summary.

On a terminal the view is a live rich table redrawn a few times a second (log lines scroll above it);
otherwise it writes plain log lines every `plain_interval` seconds. Both read the same counters, which the
worker pool feeds with its events; the summary at the end gives per-device and per-model throughput and the
share of the wall time spent outside embedding (prepare, model loading, merge, predict, report, waiting).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from virnucpro.schedule import MODEL_NAMES, EmbedJob

log = logging.getLogger("virnucpro")

GIB = 2**30


@dataclass
class ModelTotals:
    """Work one device (or all of them) did with one model."""

    units: int = 0
    sequences: int = 0
    tokens: float = 0.0
    seconds: float = 0.0

    def add(self, sequences: int, tokens: float, seconds: float) -> None:
        self.units += 1
        self.sequences += sequences
        self.tokens += tokens
        self.seconds += seconds

    def rates(self) -> str:
        seconds = max(self.seconds, 1e-9)
        return f"{self.sequences / seconds:,.0f} seq/s, {self.tokens / seconds:,.0f} tokens/s"


@dataclass
class DeviceState:
    """One worker's current unit and its totals."""

    device: str
    number: int  # the worker's number, from 1
    name: str = ""
    memory_total: int | None = None
    status: str = "starting"
    unit: EmbedJob | None = None
    unit_started: float = 0.0
    done: int = 0
    total: int = 0
    tokens: float = 0.0
    memory: int | None = None
    models: dict[str, ModelTotals] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)  # models this worker holds
    load_seconds: float = 0.0

    def unit_text(self) -> str:
        """The unit, and whether its model is still loading."""
        if self.unit is None:
            return self.status
        loading = "" if self.unit.model in self.loaded else " (loading)"
        return self.unit.name + loading

    @property
    def label(self) -> str:
        """'worker 2 (cuda:1)', as log lines name a worker."""
        return f"worker {self.number} ({self.device})"

    def current_rates(self, now: float) -> tuple[float, float]:
        seconds = max(now - self.unit_started, 1e-9)
        return self.done / seconds, self.tokens / seconds

    def memory_text(self) -> str:
        if self.memory is None:
            return "-"
        total = f"/{self.memory_total / GIB:.1f}" if self.memory_total else ""
        return f"{self.memory / GIB:.1f}{total} GiB"


class RunView:
    """Counters of the embedding phase, shown live on a terminal or as periodic log lines."""

    def __init__(
        self, devices: list[str], live: bool | None = None, stream: TextIO | None = None, plain_interval: float = 30.0
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)()) if live is None else live
        self.interval = 0.25 if self.live else 1.0
        self.plain_interval = plain_interval
        self.devices = [DeviceState(device, number) for number, device in enumerate(devices, start=1)]
        self.total_cost = self.done_cost = 0.0
        self.total_units = self.done_units = 0
        self.spans: dict[str, list[tuple[float, float]]] = {}  # per model, (start, end) of each unit's embedding
        self.started: float | None = None
        self.last_plain = time.monotonic()
        self.predict_seconds = 0.0
        self._live: Any = None
        self._streams: list[tuple[logging.StreamHandler, TextIO]] = []

    # -- events from the pool ------------------------------------------------------------------------------

    def begin(self, units: list[EmbedJob]) -> None:
        """The units about to run (after those already done were skipped)."""
        self.total_units = len(units)
        self.total_cost = sum(u.cost for u in units)
        self.started = time.monotonic()
        if self.live and units:
            self._start_live()

    def worker_started(self, index: int, device: str) -> None:
        self.devices[index].status = "starting"

    def worker_ready(self, index: int, info: dict[str, Any]) -> None:
        state = self.devices[index]
        state.name, state.memory_total, state.status = info.get("name", ""), info.get("memory"), "idle"

    def unit_started(self, index: int, unit: EmbedJob) -> None:
        state = self.devices[index]
        state.unit, state.status = unit, "running"
        state.unit_started, state.done, state.total, state.tokens = time.monotonic(), 0, unit.sequences, 0.0

    def model_loaded(self, index: int, model: str, seconds: float) -> None:
        state = self.devices[index]
        state.load_seconds += seconds
        state.loaded.add(model)
        state.unit_started = time.monotonic()  # rates of the unit count from when its model was ready
        log.debug("%s: %s ready in %.1f s", state.label, MODEL_NAMES[model], seconds)

    def unit_progress(self, index: int, done: int, total: int, tokens: float, memory: int | None) -> None:
        state = self.devices[index]
        state.done, state.total, state.tokens = done, total, tokens
        if memory is not None:
            state.memory = memory

    def unit_done(self, index: int, unit: EmbedJob, stats: dict[str, float]) -> None:
        state = self.devices[index]
        end = time.monotonic()
        self.spans.setdefault(unit.model, []).append((end - stats["seconds"], end))
        state.models.setdefault(unit.model, ModelTotals()).add(int(stats["sequences"]), stats["tokens"],
                                                               stats["seconds"])  # fmt: skip
        state.unit, state.status = None, "idle"
        self.done_units += 1
        self.done_cost += unit.cost
        seconds = max(stats["seconds"], 1e-9)
        log.info("%s: %s done: %s sequences in %.1f s (%s seq/s, %s tokens/s) [%d/%d units]", state.label,
                 unit.name, f"{int(stats['sequences']):,}", stats["seconds"], f"{stats['sequences'] / seconds:,.0f}",
                 f"{stats['tokens'] / seconds:,.0f}", self.done_units, self.total_units)  # fmt: skip

    def predict_done(self, stats: dict[str, float]) -> None:
        self.predict_seconds = stats["seconds"]

    def tick(self) -> None:
        """Redraw (live) or, every `plain_interval` seconds, log the state (plain)."""
        if self._live is not None:
            self._live.refresh()
        elif not self.live and self.total_units and time.monotonic() - self.last_plain >= self.plain_interval:
            self.last_plain = time.monotonic()
            for line in self.plain_lines():
                log.info("%s", line)

    def close(self) -> None:
        """End the live display (the last frame stays on the terminal)."""
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None
            for handler, stream in self._streams:
                handler.setStream(stream)
            self._streams = []

    # -- what is shown -------------------------------------------------------------------------------------

    def fraction_done(self) -> float:
        """Share of the embedding work done, units in flight counted by their sequences done."""
        if not self.total_cost:
            return 1.0
        running = sum(s.unit.cost * s.done / max(s.total, 1) for s in self.devices if s.unit is not None)
        return min(1.0, (self.done_cost + running) / self.total_cost)

    def eta_seconds(self) -> float | None:
        fraction = self.fraction_done()
        if self.started is None or fraction <= 0:
            return None
        return self.elapsed_seconds() * (1 - fraction) / fraction

    def device_line(self, state: DeviceState, now: float) -> str:
        if state.unit is None:
            return f"{state.label}: {state.status}"
        sequences, tokens = state.current_rates(now)
        return (f"{state.label}: {state.unit_text()} {state.done:,}/{state.total:,} sequences, {sequences:,.0f} seq/s, "
                f"{tokens:,.0f} tokens/s, memory {state.memory_text()}")  # fmt: skip

    def elapsed_seconds(self) -> float:
        """Seconds since the embedding began (0 before)."""
        return 0.0 if self.started is None else time.monotonic() - self.started

    def overall_line(self) -> str:
        eta = self.eta_seconds()
        left = f", about {format_duration(eta)} left" if eta is not None else ""
        return (f"run: embedding {self.fraction_done():.0%} done ({self.done_units}/{self.total_units} units), "
                f"{format_duration(self.elapsed_seconds())} elapsed{left}")  # fmt: skip

    def plain_lines(self) -> list[str]:
        now = time.monotonic()
        return [self.overall_line(), *(self.device_line(s, now) for s in self.devices if s.unit is not None)]

    def render(self) -> Any:
        """The live table: a row per device, then the overall bar."""
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        now = time.monotonic()
        table = Table(box=None, pad_edge=False, header_style="bold")
        columns = (("worker", "left"), ("device", "left"), ("unit", "left"), ("sequences", "right"),
                   ("seq/s", "right"), ("tokens/s", "right"), ("memory", "right"))  # fmt: skip
        for column, justify in columns:
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for state in self.devices:
            name = f"{state.device} {state.name}".strip()
            if state.unit is None:
                table.add_row(str(state.number), name, state.status, "", "", "", state.memory_text())
                continue
            sequences, tokens = state.current_rates(now)
            table.add_row(str(state.number), name, state.unit_text(), f"{state.done:,}/{state.total:,}",
                          f"{sequences:,.0f}", f"{tokens:,.0f}", state.memory_text())  # fmt: skip
        fraction = self.fraction_done()
        eta = self.eta_seconds()
        status = (f"{fraction:.0%}  {self.done_units}/{self.total_units} units  "
                  f"{format_duration(self.elapsed_seconds())} elapsed"
                  + (f"  ETA {format_duration(eta)}" if eta is not None else ""))  # fmt: skip
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=1.0, completed=fraction, width=30), status)
        return Group(table, bar)

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self.stream)
        self._live = Live(get_renderable=self.render, console=console, auto_refresh=False, transient=False,
                          redirect_stderr=False, redirect_stdout=False)  # fmt: skip
        self._live.start()
        # log lines go through the live console, so they scroll above the table instead of tearing it
        for handler in log.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self.stream:
                self._streams.append((handler, handler.setStream(_ConsoleWriter(console))))

    # -- the summary ---------------------------------------------------------------------------------------

    def embedding_seconds(self, model: str | None = None) -> float:
        """Wall time during which at least one device was embedding (with one model, or with any): the union of
        the units' spans."""
        spans = self.spans.get(model, []) if model else [span for spans in self.spans.values() for span in spans]
        total, end = 0.0, float("-inf")
        for start, stop in sorted(spans):
            if stop <= end:
                continue
            total += stop - max(start, end)
            end = stop
        return total

    def summary_lines(self, wall_seconds: float) -> list[str]:
        """Per-device and per-model throughput, and the share of the wall time outside embedding."""
        lines = []
        overall: dict[str, ModelTotals] = {}
        for state in self.devices:
            if not state.models:
                continue
            parts = []
            for model, totals in sorted(state.models.items()):
                parts.append(f"{MODEL_NAMES[model]} {totals.units} unit(s) {totals.rates()}")
                into = overall.setdefault(model, ModelTotals())
                into.units += totals.units
                into.sequences += totals.sequences
                into.tokens += totals.tokens
                into.seconds += totals.seconds
            name = f" {state.name}" if state.name else ""
            lines.append(f"{state.label}{name}: {'; '.join(parts)}; model loading {state.load_seconds:.1f} s")
        span = self.embedding_seconds()
        for model, totals in sorted(overall.items()):
            combined = totals.sequences / max(self.embedding_seconds(model), 1e-9)
            lines.append(f"{MODEL_NAMES[model]}: {totals.sequences:,} sequences, {totals.rates()} per device, "
                         f"{combined:,.0f} seq/s on all devices together")  # fmt: skip
        outside = max(0.0, wall_seconds - span)
        share = outside / wall_seconds if wall_seconds > 0 else 0.0
        lines.append(f"wall time {wall_seconds:.1f} s, embedding {span:.1f} s, outside embedding {outside:.1f} s "
                     f"({share:.1%})")  # fmt: skip
        return lines


class _ConsoleWriter:
    """A text stream that prints through a rich console (above its live display)."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def write(self, text: str) -> int:
        if text.strip():
            self.console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        pass


def format_duration(seconds: float) -> str:
    """'1h02m', '12m05s', '42s'."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
