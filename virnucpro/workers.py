"""One worker process per device for `virnucpro run`: embedding units and the final predict, out of process.

Workers are started with the spawn method, so CUDA is initialised inside each worker and never in the
parent. A worker loads each model the first time it needs it and keeps it for every later unit. Parent and
worker talk over one pipe: the parent sends tasks, the worker sends events (ready, model loaded, progress,
log, done, error). A worker ends when told to, when its pipe closes, or when its parent dies (Linux: the
kernel sends it SIGTERM), and SIGTERM or SIGINT inside a task unwinds it like Ctrl-C: the task's temporary
file is removed and nothing reaches a final path.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from virnucpro.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, VirnucproError
from virnucpro.schedule import EmbedJob, largest_first

log = logging.getLogger("virnucpro")

PROGRESS_INTERVAL = 0.25  # seconds between a worker's progress events
STOP_GRACE = 10.0  # seconds a worker has to finish after being told to stop, before it is killed


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to load models: picklable, sent once at start."""

    dnabert: Path
    esm: Path
    classifier: Path
    precision: str = "auto"
    verbose: bool = False


@dataclass(frozen=True)
class PredictTask:
    """Score the merged files of one sample into its predictions table."""

    merged: tuple[Path, ...]
    output: Path
    chunk_size: int


class WorkerFailed(VirnucproError):
    """A worker reported an error or died; the message names its device and the unit it was running."""


# ---------------------------------------------------------------------------------------------- worker side


class PipeProgress:
    """The engine's progress interface, forwarded to the parent a few times a second."""

    def __init__(self, conn: Connection, total: int) -> None:
        self.conn, self.total = conn, total
        self.count = 0
        self.tokens = 0.0
        self._last = time.monotonic()
        self._memory = _memory_probe()

    def update(self, n: int = 1, **extra: float) -> None:
        self.count += n
        self.tokens += extra.get("tokens", 0.0)
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL:
            self._last = now
            self.conn.send(("progress", self.count, self.total, self.tokens, self._memory()))

    def close(self) -> None:
        self.conn.send(("progress", self.count, self.total, self.tokens, self._memory()))


def _memory_probe() -> Callable[[], int | None]:
    """Bytes the CUDA caching allocator holds on the current device (None on the CPU)."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.memory_reserved
    return lambda: None


class PipeLogHandler(logging.Handler):
    """A worker's log records, sent to the parent to be printed there (above its live view)."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(("log", record.levelno, record.getMessage()))


def _die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the parent dies, so no worker outlives a killed run (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ModelCache:
    """The models one worker has loaded, each loaded on first use."""

    def __init__(self, settings: WorkerSettings, device: str) -> None:
        from virnucpro.embed.engine import resolve_device, resolve_precision

        self.settings = settings
        self.target = resolve_device(device)
        self.dtype = resolve_precision(settings.precision, self.target)
        self.loaded: dict[str, Any] = {}

    def get(self, model: str, conn: Connection) -> Any:
        if model not in self.loaded:
            from virnucpro.embed.dnabert import load_dnabert_encoder
            from virnucpro.embed.esm import load_esm_encoder

            started = time.monotonic()
            if model == "dnabert":
                self.loaded[model] = load_dnabert_encoder(self.settings.dnabert, self.target, self.dtype)
            else:
                self.loaded[model] = load_esm_encoder(self.settings.esm, self.target, self.dtype)
            conn.send(("loaded", model, time.monotonic() - started))
        return self.loaded[model]


def embed_job(job: EmbedJob, models: ModelCache, conn: Connection) -> dict[str, float]:
    """Embed one job's shard and write its features file (atomically); return its counts and seconds."""
    from virnucpro.atomic import ensure_directory
    from virnucpro.embed.defaults import DNABERT_BATCH_TOKENS, ESM_BATCH_TOKENS
    from virnucpro.embed.esm import ESM_LETTERS
    from virnucpro.embed.step import embed_sequences, read_shard
    from virnucpro.fasta import NUCLEOTIDE_LETTERS
    from virnucpro.features import DNABERT, ESM

    letters, kind, budgets, features = {
        "dnabert": (NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code", DNABERT_BATCH_TOKENS, DNABERT),
        "esm": (ESM_LETTERS, "an amino-acid code", ESM_BATCH_TOKENS, ESM),
    }[job.model]
    ids, sequences = read_shard(job.source, letters, kind, refuse_dna=job.model == "esm")
    encoder = models.get(job.model, conn)
    budget = budgets[0 if models.target.type == "cuda" else 1]
    progress = PipeProgress(conn, len(ids))
    started = time.monotonic()
    ensure_directory(job.output.parent)
    embed_sequences(encoder, models.target, ids, sequences, job.output, budget, False, f"embed-{job.model}",
                    features, progress)  # fmt: skip
    return {"sequences": len(ids), "tokens": progress.tokens, "seconds": time.monotonic() - started}


def predict_task(task: PredictTask, models: ModelCache) -> dict[str, float]:
    from virnucpro.predict import predict

    started = time.monotonic()
    predict(list(task.merged), models.settings.classifier, task.output, str(models.target), task.chunk_size)
    return {"seconds": time.monotonic() - started}


def worker_main(index: int, device: str, threads: int, conn: Connection, settings: WorkerSettings) -> None:
    """A worker's life: load models on demand, run tasks until told to stop; report a failure in one line."""
    from virnucpro.cli import sigterm_raises

    _die_with_parent()
    logger = logging.getLogger("virnucpro")
    logger.handlers[:] = [PipeLogHandler(conn)]
    logger.setLevel(logging.DEBUG if settings.verbose else logging.INFO)
    logger.propagate = False
    loop = WorkerLoop(device, threads, conn, settings)
    failure, code = "", EXIT_ERROR
    try:
        with sigterm_raises():
            loop.serve()
        code = 0
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except Terminated:
        code = EXIT_TERMINATED
    except VirnucproError as exc:
        failure = str(exc)
    except MemoryError:
        failure = "out of host memory"
    except Exception as exc:  # a CUDA error, a bug: one line to the parent, the detail in its debug log
        import traceback

        logger.debug("worker %d (%s) failed:\n%s", index + 1, device, traceback.format_exc())
        text = str(exc).strip()
        failure = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    finally:  # from here on the worker only reports and exits: a late SIGTERM must not interrupt that
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if failure:
        _report(conn, loop.current, failure)
    sys.exit(code)


class WorkerLoop:
    """Receives tasks over the pipe and runs them with the models it has loaded."""

    def __init__(self, device: str, threads: int, conn: Connection, settings: WorkerSettings) -> None:
        self.device, self.threads, self.conn, self.settings = device, threads, conn, settings
        self.current = "starting"  # what the worker is doing, for its error report

    def serve(self) -> None:
        """Run tasks until the parent says stop (None) or goes away."""
        import torch

        torch.set_num_threads(self.threads)
        models = ModelCache(self.settings, self.device)
        if models.target.type == "cuda":
            torch.cuda.set_device(models.target)
        self.conn.send(("ready", _device_info(models.target, models.dtype)))
        while True:
            self.current = "idle"
            try:
                task = self.conn.recv()
            except EOFError:  # the parent is gone
                return
            if task is None:
                return
            self.current = task.name if isinstance(task, EmbedJob) else "predict"
            stats = embed_job(task, models, self.conn) if isinstance(task, EmbedJob) else predict_task(task, models)
            self.conn.send(("done", stats))


def _report(conn: Connection, unit: str, message: str) -> None:
    with contextlib.suppress(OSError):
        conn.send(("error", unit, message))


def dtype_name(dtype: Any) -> str:
    """'bfloat16' for torch.bfloat16: the precision as unit identities record it."""
    return str(dtype).removeprefix("torch.")


def _device_info(target: Any, dtype: Any) -> dict[str, Any]:
    import torch

    if target.type == "cuda":
        properties = torch.cuda.get_device_properties(target)
        return {"name": properties.name, "memory": properties.total_memory, "dtype": dtype_name(dtype)}
    threads = torch.get_num_threads()
    return {"name": f"{threads} thread{'s' if threads > 1 else ''}", "memory": None, "dtype": dtype_name(dtype)}


# ---------------------------------------------------------------------------------------------- parent side


@dataclass
class Worker:
    """The parent's handle on one worker process."""

    index: int
    device: str
    process: Any
    conn: Connection
    task: EmbedJob | PredictTask | None = None
    stopping: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"worker {self.index + 1} ({self.device})"

    def task_name(self) -> str:
        return self.task.name if isinstance(self.task, EmbedJob) else "predict" if self.task else "no unit"


class DevicePool:
    """Worker processes, one per device entry, fed units largest first as they become free.

    `view` receives every event (see virnucpro.live.RunView). Use as a context manager: leaving it stops
    every worker, and on an error or Ctrl-C terminates them, so no worker outlives the run.
    """

    def __init__(self, devices: list[str], threads: list[int], settings: WorkerSettings, view: Any) -> None:
        self.devices, self.threads, self.settings, self.view = devices, threads, settings, view
        self.workers: list[Worker] = []

    def __enter__(self) -> DevicePool:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self.close(graceful=exc_type is None)

    def start(self, count: int) -> None:
        """Start the first `count` workers (there is no point in more workers than units)."""
        context = multiprocessing.get_context("spawn")
        for index in range(len(self.workers), count):
            device = self.devices[index]
            parent_conn, child_conn = context.Pipe(duplex=True)
            process = context.Process(
                target=worker_main, args=(index, device, self.threads[index], child_conn, self.settings),
                name=f"virnucpro-worker-{index + 1}",
            )  # fmt: skip
            process.start()
            child_conn.close()
            self.workers.append(Worker(index, device, process, parent_conn))
            log.debug("worker %d (%s, pid %d): started", index + 1, device, process.pid)
            self.view.worker_started(index, device)

    def embed(self, units: Iterable[EmbedJob], on_done: Callable[[EmbedJob], None]) -> None:
        """Compute every unit; `on_done(unit)` runs in the parent as each one's output is complete."""
        queue = deque(largest_first(units))
        self.start(min(len(self.devices), len(queue)))
        while queue or any(w.task is not None for w in self.workers):
            for worker in self.workers:
                if worker.task is None and worker.info and queue:
                    self._send(worker, queue.popleft())
            for worker, event in self._events():
                if event[0] == "done" and isinstance(worker.task, EmbedJob):
                    unit = worker.task
                    self.view.unit_done(worker.index, unit, event[1])
                    worker.task = None
                    on_done(unit)

    def ready_dtype(self) -> str:
        """The precision the first worker computes in ('bfloat16'), starting it if need be."""
        return self._ready(0).info["dtype"]

    def _ready(self, index: int) -> Worker:
        """Worker `index`, started and ready."""
        self.start(index + 1)
        worker = self.workers[index]
        while not worker.info:
            for _ in self._events():
                pass
        return worker

    def predict(self, task: PredictTask) -> None:
        """Run the predict step on the first device."""
        worker = self._ready(0)
        self._send(worker, task)
        while worker.task is not None:
            for busy, event in self._events():
                if busy is worker and event[0] == "done":
                    self.view.predict_done(event[1])
                    worker.task = None

    def _send(self, worker: Worker, task: EmbedJob | PredictTask) -> None:
        worker.task = task
        log.debug("%s: %s started", worker.label, worker.task_name())
        if isinstance(task, EmbedJob):
            self.view.unit_started(worker.index, task)
        self._deliver(worker, task)

    def _deliver(self, worker: Worker, task: EmbedJob | PredictTask) -> None:
        worker.conn.send(task)

    def _events(self) -> Iterable[tuple[Worker, tuple]]:
        """Events that arrive within one display interval; a dead or failing worker raises `WorkerFailed`."""
        by_handle: dict[Any, Worker] = {}
        for worker in self.workers:
            by_handle[worker.conn] = worker
            by_handle[worker.process.sentinel] = worker
        ready = wait(list(by_handle), timeout=self.view.interval)
        events = []
        for handle in ready:
            worker = by_handle[handle]
            if handle is worker.conn:
                events += [(worker, event) for event in self._drain(worker)]
            elif not worker.stopping:
                events += [(worker, event) for event in self._drain(worker)]
                raise self._died(worker)
        self.view.tick()
        return events

    def _drain(self, worker: Worker) -> list[tuple]:
        """Every event waiting on a worker's pipe, handled; the events callers act on ('done') returned."""
        events = []
        try:
            while worker.conn.poll():
                event = self._handle(worker, worker.conn.recv())
                if event is not None:
                    events.append(event)
        except (EOFError, OSError):
            if not worker.stopping:
                raise self._died(worker) from None
        return events

    def _handle(self, worker: Worker, event: tuple) -> tuple | None:
        """One event of a worker: the view's are passed on, an error raised; 'done' is returned to the caller."""
        kind = event[0]
        if kind == "ready":
            self._check_dtype(worker, event[1]["dtype"])
            worker.info = event[1]
            self.view.worker_ready(worker.index, event[1])
        elif kind == "loaded":
            self.view.model_loaded(worker.index, event[1], event[2])
        elif kind == "progress":
            self.view.unit_progress(worker.index, *event[1:])
        elif kind == "log":
            log.log(event[1], "%s", event[2])
        elif kind == "error":
            raise WorkerFailed(f"{worker.label}: {event[1]}: {event[2]}")
        else:
            return event
        return None

    def _check_dtype(self, worker: Worker, dtype: str) -> None:
        """Every worker must compute in one precision: the outputs must not depend on which device ran a job."""
        others = [w for w in self.workers if w.info and w.info["dtype"] != dtype]
        if others:
            other = others[0]
            raise WorkerFailed(
                f"{worker.label} computes in {dtype} but {other.label} in {other.info['dtype']}: give --precision "
                "(fp32, bf16 or fp16) so that every device computes alike"
            )

    def _died(self, worker: Worker) -> WorkerFailed:
        worker.process.join(1)
        code = worker.process.exitcode
        how = (f"was killed by signal {-code}" if code is not None and code < 0
               else f"exited with status {code}" if code is not None else "stopped answering")  # fmt: skip
        worker.stopping = True
        return WorkerFailed(f"{worker.label}: the worker process {how} while running {worker.task_name()}; "
                            "completed units are kept: run the same command again to resume")  # fmt: skip

    def close(self, graceful: bool = True) -> None:
        """Stop every worker: ask politely when all went well, else terminate; kill what does not end."""
        for worker in self.workers:
            worker.stopping = True
            with contextlib.suppress(OSError):
                if graceful:
                    worker.conn.send(None)
                elif worker.process.is_alive():
                    worker.process.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self.workers = []


class InlineChannel:
    """What a worker sends over its pipe, handled at once: the in-process worker's pipe."""

    def __init__(self, pool: InlinePool, worker: Worker) -> None:
        self.pool, self.worker = pool, worker

    def send(self, event: tuple) -> None:
        self.pool._handle(self.worker, event)
        self.pool.view.tick()


class InlinePool(DevicePool):
    """The default CPU run (`--devices cpu`, or `auto` without a GPU): the one worker runs inside this process, with
    the same jobs, order, events and messages as a worker process, but nothing to spawn (a spawned interpreter
    costs seconds of imports, a large share of a small CPU run)."""

    def start(self, count: int) -> None:
        import torch

        if self.workers:
            return
        torch.set_num_threads(self.threads[0])
        worker = Worker(0, self.devices[0], None, None)  # type: ignore[arg-type]
        self.workers.append(worker)
        self.view.worker_started(0, worker.device)
        self.models = ModelCache(self.settings, worker.device)
        self.channel = InlineChannel(self, worker)
        self.channel.send(("ready", _device_info(self.models.target, self.models.dtype)))

    def embed(self, units: Iterable[EmbedJob], on_done: Callable[[EmbedJob], None]) -> None:
        jobs = largest_first(units)
        if not jobs:
            return
        worker = self._ready(0)
        for job in jobs:
            self._send(worker, job)
            stats = self._run(worker, lambda job=job: embed_job(job, self.models, self.channel))
            self.view.unit_done(worker.index, job, stats)
            worker.task = None
            on_done(job)

    def predict(self, task: PredictTask) -> None:
        worker = self._ready(0)
        self._send(worker, task)
        self.view.predict_done(self._run(worker, lambda: predict_task(task, self.models)))
        worker.task = None

    def _deliver(self, worker: Worker, task: EmbedJob | PredictTask) -> None:
        """Nothing to send: the caller runs the task here (`_run`)."""

    def _run(self, worker: Worker, work: Callable[[], dict[str, float]]) -> dict[str, float]:
        """A task's result; its error names the worker and the task, as a worker process's would."""
        try:
            return work()
        except VirnucproError as exc:
            raise WorkerFailed(f"{worker.label}: {worker.task_name()}: {exc}") from None

    def close(self, graceful: bool = True) -> None:
        self.workers = []


def device_pool(devices: list[str], threads: list[int], settings: WorkerSettings, view: Any) -> DevicePool:
    """Worker processes for `devices`; for one CPU alone, the in-process worker."""
    pool = InlinePool if devices == ["cpu"] else DevicePool
    return pool(devices, threads, settings, view)
