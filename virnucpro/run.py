"""`virnucpro run`: the whole chain on one machine, from the same step functions as the Nextflow pipeline.

prepare -> DNABERT-S and ESM-2 embeddings of every shard on one worker process per device (virnucpro.workers:
each worker loads each model once; (shard, model) jobs go out largest first, virnucpro.schedule), each shard
merged as soon as both its embeddings exist -> predict (on the first device) -> report. Outputs are laid out
like the pipeline's --outdir (docs/output.md):
  prepare/NAME/        shards, manifest, chunks table, prepare.json
  embed_dnabert/NAME/  NAME.shard_00001.dnabert.pt ...       embed_esm/NAME/  NAME.shard_00001.esm.pt ...
  merge/NAME/          NAME.shard_00001.merged.pt ...
  predict/NAME/        prediction_results.tsv
  report/NAME/         prediction_results_highestscore.tsv, contig_summary.tsv, summary.json, report.html
  pipeline_info/       NAME.run.json (what the outputs were made from), units/NAME/ (one record per work unit),
                       digests.json (cached digests of inputs and models), virnucpro.lock
Before any step starts, the models and the classifier are checked (configurations against the weights, widths
against each other), the output directory is locked (a second run on it is refused), and digests of the
input and the models are computed in the background. Every step is a set of work units (`virnucpro.units`)
whose identity is the content of what they depend on: resuming recomputes exactly the units that a change
reaches (another input, a model replaced in place, a damaged intermediate), and an interrupted run, even
`kill -9`, ends with the same outputs as an uninterrupted one. `--restart` discards the sample's outputs first.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from virnucpro import __version__
from virnucpro.atomic import atomic_write_text, ensure_directory, is_temp_name
from virnucpro.digests import DigestCache, combined_digest, in_background
from virnucpro.errors import InputError, OutputError, os_reason
from virnucpro.prepare import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_SHARD_SIZE,
    MANIFEST_HEADER,
    PrepareOutputs,
    check_sizes,
    remove_abandoned_staging,
    sample_name,
)
from virnucpro.schedule import MODEL_NAMES, EmbedJob
from virnucpro.units import Digest, Unit, UnitStore

if TYPE_CHECKING:
    from virnucpro.workers import DevicePool

log = logging.getLogger("virnucpro")

STEPS = ("prepare", "embed_dnabert", "embed_esm", "merge", "predict", "report")
SHARD_SUFFIXES = {"embed_dnabert": "dnabert", "embed_esm": "esm", "merge": "merged"}  # step -> output suffix
REPORT_NAMES = ("prediction_results_highestscore.tsv", "contig_summary.tsv", "summary.json", "report.html")


@dataclass(frozen=True)
class Shard:
    """One row of the manifest, with the paths of everything made from it."""

    shard_id: str
    sequences: int  # kept frames
    residues: int  # their protein residues (the scheduler's cost estimate)
    fna: Path
    faa: Path
    dnabert: Path
    esm: Path
    merged: Path


@dataclass(frozen=True)
class RunLayout:
    """Every path `run` writes, defined once (the Nextflow pipeline publishes the same layout)."""

    outdir: Path
    name: str

    def step(self, step: str) -> Path:
        return self.outdir / step / self.name

    @property
    def prepared(self) -> PrepareOutputs:
        return PrepareOutputs(self.step("prepare"), self.name)

    @property
    def predictions(self) -> Path:
        return self.step("predict") / "prediction_results.tsv"

    @property
    def report_files(self) -> tuple[Path, ...]:
        return tuple(self.step("report") / name for name in REPORT_NAMES)

    @property
    def info(self) -> Path:
        return self.outdir / "pipeline_info"

    @property
    def state(self) -> Path:
        return self.info / f"{self.name}.run.json"

    @property
    def units(self) -> Path:
        return self.info / "units" / self.name

    def shard_output(self, step: str, shard_id: str) -> Path:
        return self.step(step) / f"{self.name}.{shard_id}.{SHARD_SUFFIXES[step]}.pt"

    def shard_output_id(self, step: str, file_name: str) -> str | None:
        """The shard ID of one of this sample's outputs of `step` by its file name (matched literally), else None."""
        rest = file_name.removeprefix(f"{self.name}.")
        pattern = r"(shard_\d{5}\d*)\." + SHARD_SUFFIXES[step] + r"\.pt"  # (no doubled braces: nf-core lint)
        found = re.fullmatch(pattern, rest) if rest != file_name else None
        return found.group(1) if found else None

    # the work units of a run and exactly what each depends on (docs/reliability.md); `digest(path)` gives the
    # content digest of an earlier unit's output, or a Future of it

    def prepare_unit(self, input_digest: Digest, chunk_size: int, shard_size: int) -> Unit:
        prepared = self.prepared
        return Unit("prepare", self.name, (prepared.manifest, prepared.chunks, prepared.summary),
                    {"input": input_digest}, {"chunk_size": chunk_size, "shard_size": shard_size})  # fmt: skip

    def embedding_unit(self, step: str, shard: Shard, digest: Callable[[Path], Digest], model_digest: Digest,
                       dtype_name: str) -> Unit:  # fmt: skip
        """`step` 'embed_dnabert' (depends on the shard's .fna) or 'embed_esm' (on its .faa)."""
        role, source, output = embedding_files(step, shard)
        return Unit(step, f"{self.name}.{shard.shard_id}", (output,), {role: digest(source), "model": model_digest},
                    {"precision": dtype_name})  # fmt: skip

    def merge_unit(self, shard: Shard, digest: Callable[[Path], Digest]) -> Unit:
        return Unit("merge", f"{self.name}.{shard.shard_id}", (shard.merged,),
                    {"dnabert": digest(shard.dnabert), "esm": digest(shard.esm)})  # fmt: skip

    def predict_unit(self, shards: list[Shard], digest: Callable[[Path], Digest], classifier_digest: Digest) -> Unit:
        depends = {f"merged {shard.shard_id}": digest(shard.merged) for shard in shards}
        return Unit("predict", self.name, (self.predictions,), {**depends, "classifier": classifier_digest})

    def report_unit(self, digest: Callable[[Path], Digest]) -> Unit:
        prepared = self.prepared
        return Unit("report", self.name, self.report_files, {"predictions": digest(self.predictions),
                    "chunks": digest(prepared.chunks), "prepare.json": digest(prepared.summary)})  # fmt: skip

    def shards(self) -> list[Shard]:
        """The shards of the manifest, in order; a manifest naming anything but this sample's shards is refused."""
        prepared = self.prepared
        try:
            lines = prepared.manifest.read_bytes().decode("utf-8").split("\n")
        except UnicodeDecodeError:
            lines = []
        if not lines or lines[0] + "\n" != MANIFEST_HEADER or lines[-1] != "":
            raise InputError(f"{prepared.manifest}: not a manifest written by prepare")
        shards = []
        for number, row in enumerate(lines[1:-1], start=1):
            shard_id = prepared.shard_id(number)
            expected = [shard_id, prepared.shard_name(number, "fna"), prepared.shard_name(number, "faa")]
            fields = row.split("\t")
            if len(fields) != 5 or [fields[0], fields[3], fields[4]] != expected:
                raise InputError(f"{prepared.manifest}: line {number + 1} does not name shard {number} of {self.name}")
            if not (fields[1].isdigit() and fields[2].isdigit()):
                raise InputError(f"{prepared.manifest}: line {number + 1}: the counts are not whole numbers")
            shards.append(Shard(
                shard_id, int(fields[1]), int(fields[2]), prepared.outdir / expected[1], prepared.outdir / expected[2],
                self.shard_output("embed_dnabert", shard_id), self.shard_output("embed_esm", shard_id),
                self.shard_output("merge", shard_id),
            ))  # fmt: skip
        return shards


def embedding_files(step: str, shard: Shard) -> tuple[str, Path, Path]:
    """The shard file an embedding step reads ('fna' or 'faa', its path) and the file it writes."""
    return ("faa", shard.faa, shard.esm) if step == "embed_esm" else ("fna", shard.fna, shard.dnabert)


# ---- before any step: models, lock ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Models:
    """The three model paths and the widths their files declare."""

    dnabert: Path
    esm: Path
    classifier: Path
    dnabert_dim: int
    esm_dim: int


def check_models(dnabert: Path, esm: Path, classifier: Path, chunk_size: int) -> Models:
    """Check every model before any step runs (cheap: configurations, headers and shapes; the classifier is
    small and loaded), and that the classifier takes exactly the DNABERT-S and ESM-2 widths side by side."""
    from virnucpro.embed.dnabert import load_tokenizer
    from virnucpro.models.classifier import load_classifier
    from virnucpro.models.dnabert_checkpoint import check_dnabert2
    from virnucpro.models.esm_checkpoint import check_esm2
    from virnucpro.predict import check_chunk_size

    dnabert_config = check_dnabert2(dnabert)
    tokens = load_tokenizer(dnabert).backend_tokenizer.get_vocab_size()
    if tokens > dnabert_config.vocab_size:
        raise InputError(
            f"{dnabert / 'tokenizer.json'}: {tokens:,} tokens, but config.json's vocab_size is "
            f"{dnabert_config.vocab_size:,}: the tokenizer does not belong to this model"
        )
    esm_dim = check_esm2(esm).embed_dim
    expected = load_classifier(classifier).input_dim
    widths = dnabert_config.hidden_size + esm_dim
    if expected != widths:
        raise InputError(
            f"{classifier}: expects {expected:,} features per row, but DNABERT-S ({dnabert_config.hidden_size:,}) "
            f"and ESM-2 ({esm_dim:,}) give {widths:,}: this classifier was not trained on these models"
        )
    check_chunk_size(classifier, chunk_size)
    return Models(dnabert, esm, classifier, dnabert_config.hidden_size, esm_dim)


def dnabert_files(model_dir: Path) -> list[Path]:
    """The files of a DNABERT-S directory that determine its embeddings (what the loader reads)."""
    from virnucpro.models.dnabert_checkpoint import weights_file

    files = [model_dir / "config.json", weights_file(model_dir), model_dir / "tokenizer.json"]
    return files + [p for p in [model_dir / "tokenizer_config.json"] if p.is_file()]


def directory_digest(cache: DigestCache, files: list[Path]) -> str:
    return combined_digest({path.name: cache.digest(path) for path in files})


@contextlib.contextmanager
def locked(outdir: Path) -> Iterator[None]:
    """Hold an advisory lock on the output directory (fcntl.flock on pipeline_info/virnucpro.lock) while a run
    writes to it; a second run is refused at once with one line naming the holder. The lock goes with the
    process, however it ends; the lock file itself is never removed (that would race with a newcomer)."""
    info = outdir / "pipeline_info"
    ensure_directory(info)
    path = info / "virnucpro.lock"
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot be written ({os_reason(exc)})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise InputError(
                f"{outdir}: another virnucpro run ({holder}) is using this output directory; wait for it to "
                "finish, or use another --outdir"
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP):
                raise
            log.warning("%s: file locks are not supported here: make sure no other run uses it", outdir)
        try:
            os.ftruncate(handle, 0)
            os.pwrite(handle, f"pid {os.getpid()} on {os.uname().nodename}\n".encode(), 0)
        except OSError as exc:
            raise OutputError(f"{path}: cannot be written ({os_reason(exc)})") from None
        yield
    finally:
        os.close(handle)


# ---- cleaning up: leftovers, stale outputs, --restart -----------------------------------------------------------


def _unlink_matching(directory: Path, matches: Callable[[str], bool]) -> list[str]:
    """Remove the files (never directories or what links point to) in `directory` whose name `matches`."""
    removed = []
    if not directory.is_dir():
        return removed
    for entry in os.scandir(directory):
        if matches(entry.name) and not entry.is_dir(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def remove_leftovers(layout: RunLayout) -> None:
    """Temporary files and staging directories an interrupted run left (atomic writes never left them at final
    names), in this sample's directories and in pipeline_info (the outdir lock is held)."""
    for directory in (*(layout.step(step) for step in STEPS), layout.units, layout.info):
        _unlink_matching(directory, is_temp_name)
    if layout.prepared.outdir.is_dir():
        remove_abandoned_staging(layout.prepared)


def remove_stale_shard_outputs(layout: RunLayout, store: UnitStore, shards: list[Shard]) -> None:
    """Outputs (and records) of shards the current manifest does not have: left by a run of a larger input."""
    current = {shard.shard_id for shard in shards}
    for step in SHARD_SUFFIXES:
        stale = _unlink_matching(
            layout.step(step), lambda name, step=step: layout.shard_output_id(step, name) not in (None, *current)
        )
        for name in stale:
            store.discard(Unit(step, f"{layout.name}.{layout.shard_output_id(step, name)}", (), {}))


def discard_sample(layout: RunLayout, store: UnitStore) -> None:
    """--restart: forget every unit of the sample and remove its outputs (only the names a run writes)."""
    store.discard_all()
    prepared = layout.prepared
    named = {prepared.manifest.name, prepared.chunks.name, prepared.summary.name}
    _unlink_matching(prepared.outdir, lambda name: name in named or prepared.is_shard_name(name))
    for step in SHARD_SUFFIXES:
        _unlink_matching(layout.step(step), lambda name, step=step: layout.shard_output_id(step, name) is not None)
    _unlink_matching(layout.step("predict"), lambda name: name == layout.predictions.name)
    _unlink_matching(layout.step("report"), lambda name: name in REPORT_NAMES)
    log.info("run: --restart: the earlier outputs of %s are removed", layout.name)


# ---- the units of a run -----------------------------------------------------------------------------------------


class Runner:
    """Runs each unit unless it is done; keeps the output digests that later units depend on."""

    def __init__(self, store: UnitStore) -> None:
        self.store = store
        self.digests: dict[str, str] = {}

    def digest(self, path: Path) -> str:
        return self.digests[self.store.relative(path)]

    def ensure(self, unit: Unit, compute: Callable[[], Iterable[Path] | None], done_message: str) -> None:
        """Compute `unit` unless it is done. `compute` writes the unit's outputs and returns any extra ones."""
        digests = self.store.done(unit)
        if digests is None:
            self.store.discard(unit)
            digests = self.store.commit(unit, compute() or ())
        else:
            log.info("%s", done_message)
        self.digests.update(digests)


def model_work(models: Models) -> dict[str, float]:
    """Per-token work of each model (layers x width^2, from the checked configurations): the scheduler's weights."""
    from virnucpro.models.dnabert_checkpoint import check_dnabert2
    from virnucpro.models.esm_checkpoint import check_esm2
    from virnucpro.schedule import per_token_work

    bert, esm2 = check_dnabert2(models.dnabert), check_esm2(models.esm)
    return {"dnabert": per_token_work(bert.num_hidden_layers, bert.hidden_size),
            "esm": per_token_work(esm2.num_layers, esm2.embed_dim)}  # fmt: skip


EMBEDDING_STEPS = {"dnabert": "embed_dnabert", "esm": "embed_esm"}  # job model -> unit step


def run_precision(pool: DevicePool, devices: list[str], precision: str) -> str:
    """The precision every embedding of this run computes in, as unit identities record it ('bfloat16').

    'auto' on a GPU depends on the GPU, which only a worker may ask (the parent never initialises CUDA): then the
    first worker is started and says; later workers must agree (DevicePool checks).
    """
    from virnucpro.embed.engine import PRECISIONS
    from virnucpro.workers import dtype_name

    if precision != "auto":
        if precision not in PRECISIONS:
            raise InputError(f"--precision {precision!r}: expected auto, fp32, bf16 or fp16")
        return dtype_name(PRECISIONS[precision])
    if all(device == "cpu" for device in devices):
        return dtype_name(PRECISIONS["fp32"])
    return pool.ready_dtype()


class Embedding:
    """The embedding stage: jobs for the units not done, their records once workers finish them, and each shard's
    merge as soon as both its embeddings are recorded. Records and merges run in one background thread (in
    order), so that hashing outputs and merging never hold up the workers."""

    def __init__(self, layout: RunLayout, runner: Runner, shards: list[Shard], digests: dict[str, Future]) -> None:
        self.layout, self.runner, self.shards, self.digests = layout, runner, shards, digests
        self.units: dict[tuple[str, str], Unit] = {}  # (shard_id, model) -> the unit of a pending job
        self.remaining = {shard.shard_id: 0 for shard in shards}  # embeddings still to record, per shard
        self.by_id = {shard.shard_id: shard for shard in shards}
        self.background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record-and-merge")
        self.futures: list[Future] = []

    def pending(self, dtype: str, work: dict[str, float]) -> list[EmbedJob]:
        """Jobs for every embedding unit that is not done (a done one is logged and its digests kept)."""
        from virnucpro.schedule import make_job

        jobs = []
        for number, shard in enumerate(self.shards, start=1):
            for model, step in EMBEDDING_STEPS.items():
                _, source, output = embedding_files(step, shard)
                unit = self.layout.embedding_unit(step, shard, self.runner.digest, self.digests[model], dtype)
                done = self.runner.store.done(unit)
                if done is not None:
                    self.runner.digests.update(done)
                    log.info("embed-%s: shard %d/%d already done (%s)", model, number, len(self.shards), output.name)
                    continue
                self.runner.store.discard(unit)
                self.units[(shard.shard_id, model)] = unit
                self.remaining[shard.shard_id] += 1
                jobs.append(make_job(shard.shard_id, model, source, output, shard.sequences, shard.residues,
                                     work[model]))  # fmt: skip
        if jobs:
            counts = ", ".join(f"{sum(j.model == m for j in jobs)} {MODEL_NAMES[m]}" for m in EMBEDDING_STEPS)
            log.info("run: %d embedding job(s) (%s)", len(jobs), counts)
        return jobs

    def start_merges(self) -> None:
        """Merge the shards whose embeddings were all done already."""
        for shard in self.shards:
            if not self.remaining[shard.shard_id]:
                self.futures.append(self.background.submit(self.merge, shard))

    def finished(self, job: EmbedJob) -> None:
        """A worker wrote `job`'s output: record its unit, then merge its shard if that was the last embedding."""
        self.check()
        self.futures.append(self.background.submit(self.record, job))

    def record(self, job: EmbedJob) -> None:
        self.runner.digests.update(self.runner.store.commit(self.units[(job.shard_id, job.model)]))
        self.remaining[job.shard_id] -= 1
        if not self.remaining[job.shard_id]:
            self.merge(self.by_id[job.shard_id])

    def merge(self, shard: Shard) -> None:
        from virnucpro.merge import merge_features

        def run_merge() -> None:
            ensure_directory(shard.merged.parent)
            merge_features(shard.dnabert, shard.esm, shard.merged)

        number = self.shards.index(shard) + 1
        unit = self.layout.merge_unit(shard, self.runner.digest)
        self.runner.ensure(unit, run_merge, f"merge: shard {number}/{len(self.shards)} already done")

    def check(self) -> None:
        """Raise the error of a record or merge that failed (the run stops at once, not after every job)."""
        for future in self.futures:
            if future.done():
                future.result()

    def wait(self) -> None:
        """Every record and merge done; the first error raised."""
        self.background.shutdown(wait=True)
        for future in self.futures:
            future.result()


class StageClock:
    """Seconds of each stage of a run, lap by lap."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.seconds[stage] = now - self._last
        self._last = now

    def text(self) -> str:
        return ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in self.seconds.items())


def run(
    input_path: str | Path,
    outdir: str | Path,
    dnabert: str | Path,
    esm: str | Path,
    classifier: str | Path,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    shard_size: int = DEFAULT_SHARD_SIZE,
    prefix: str | None = None,
    devices: str = "auto",
    precision: str = "auto",
    restart: bool = False,
    verbose: bool = False,
) -> dict[str, object]:
    """Run every step for one input, embedding on one worker per entry of `devices`; return the report's summary,
    the seconds of each stage, the embedding summary lines and the devices."""
    from virnucpro.devices import parse_devices

    started = time.monotonic()
    input_path, outdir, dnabert, esm, classifier = map(Path, (input_path, outdir, dnabert, esm, classifier))
    if not input_path.is_file():
        raise InputError(f"{input_path}: no such file" if not input_path.exists() else f"{input_path}: not a file")
    check_sizes(chunk_size, shard_size)
    layout = RunLayout(outdir, sample_name(input_path, prefix))
    device_list = parse_devices(devices)
    models = check_models(dnabert, esm, classifier, chunk_size)
    ensure_directory(outdir)
    with locked(outdir):
        cache = DigestCache(layout.info / "digests.json")
        digests = {
            "input": in_background(cache.digest, input_path),
            "dnabert": in_background(directory_digest, cache, dnabert_files(dnabert)),
            "esm": in_background(cache.digest, esm),
            "classifier": in_background(cache.digest, classifier),
        }
        store = UnitStore(outdir, layout.units)
        if restart:
            discard_sample(layout, store)
        remove_leftovers(layout)
        try:
            summary, timing = run_units(layout, store, input_path, models, digests, chunk_size, shard_size,
                                        device_list, precision, verbose)  # fmt: skip
            record_state(layout, input_path, models, digests, chunk_size, shard_size, timing["precision"])
        except BaseException:
            cache.save(quiet=True)  # the digests already taken still save time next time; the error is what counts
            raise
        cache.save()
    calls = summary["calls"]
    wall = time.monotonic() - started
    log.info(
        "run: %d sequences: %d virus, %d others, %d without a kept frame, in %.1f s (%s); report: %s",
        summary["sequences"], calls["virus"], calls["others"], calls["no_prediction"], wall,
        ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in timing["seconds"].items()),
        layout.step("report") / "report.html",
    )  # fmt: skip
    return {"sequences": summary["sequences"], "calls": calls, "report": str(layout.step("report") / "report.html"),
            "seconds": {**timing["seconds"], "total": wall}, "embedding_seconds": timing["embedding_seconds"],
            "embedding_summary": timing["embedding_summary"], "devices": device_list}  # fmt: skip


def run_units(
    layout: RunLayout,
    store: UnitStore,
    input_path: Path,
    models: Models,
    digests: dict[str, Future],
    chunk_size: int,
    shard_size: int,
    devices: list[str],
    precision: str,
    verbose: bool,
) -> tuple[dict, dict]:
    """prepare, both embeddings (on the devices' workers), merge, predict and report, each unit unless it is done.
    Returns the report's summary and the run's timing (seconds per stage, embedding summary, precision)."""
    from virnucpro.devices import thread_shares
    from virnucpro.live import RunView
    from virnucpro.predict import HEADER
    from virnucpro.prepare import prepare
    from virnucpro.report import report
    from virnucpro.workers import PredictTask, WorkerSettings, device_pool

    runner = Runner(store)
    prepared = layout.prepared
    clock = StageClock()

    log.info("run [1/4] prepare: %s", input_path)
    unit = layout.prepare_unit(digests["input"], chunk_size, shard_size)

    def run_prepare() -> list[Path]:
        prepare(input_path, prepared.outdir, layout.name, chunk_size, shard_size, verbose)
        return [path for shard in layout.shards() for path in (shard.fna, shard.faa)]

    runner.ensure(unit, run_prepare, f"prepare: already done ({prepared.manifest})")
    shards = layout.shards()
    remove_stale_shard_outputs(layout, store, shards)
    clock.lap("prepare")

    log.info("run [2/4] DNABERT-S and ESM-2 embeddings of %d shard(s) on %s", len(shards), ", ".join(devices))
    view = RunView(devices)
    settings = WorkerSettings(models.dnabert, models.esm, models.classifier, precision, verbose)
    with device_pool(devices, thread_shares(devices), settings, view) as pool:
        dtype = run_precision(pool, devices, precision)
        embedding = Embedding(layout, runner, shards, {"dnabert": digests["dnabert"], "esm": digests["esm"]})
        try:
            jobs = embedding.pending(dtype, model_work(models))
            embedding.start_merges()
            view.begin(jobs)
            try:
                pool.embed(jobs, embedding.finished)
            finally:
                view.close()
        finally:
            embedding.wait()
        clock.lap("embed and merge")
        summary_lines = view.summary_lines(clock.seconds["embed and merge"]) if jobs else []
        for line in summary_lines:
            log.info("run: %s", line)

        log.info("run [3/4] predict")
        unit = layout.predict_unit(shards, runner.digest, digests["classifier"])

        def run_predict() -> None:
            ensure_directory(layout.predictions.parent)
            if shards:  # on the first device
                pool.predict(PredictTask(tuple(s.merged for s in shards), layout.predictions, chunk_size))
            else:  # no kept frame anywhere: nothing to score, an empty table
                atomic_write_text(layout.predictions, HEADER)

        runner.ensure(unit, run_predict, "predict: already done")
    clock.lap("predict")

    log.info("run [4/4] report")
    unit = layout.report_unit(runner.digest)

    def run_report() -> None:
        report(layout.predictions, prepared.chunks, layout.step("report"))

    runner.ensure(unit, run_report, "report: already done")
    clock.lap("report")
    summary = json.loads((layout.step("report") / "summary.json").read_text(encoding="utf-8"))
    timing = {"seconds": clock.seconds, "embedding_seconds": view.embedding_seconds(),
              "embedding_summary": summary_lines, "precision": dtype}  # fmt: skip
    return summary, timing


def record_state(
    layout: RunLayout,
    input_path: Path,
    models: Models,
    digests: dict[str, Future],
    chunk_size: int,
    shard_size: int,
    dtype_name: str,
) -> None:
    """pipeline_info/NAME.run.json: what the outputs were made from (for people; resuming reads the units)."""
    state = {
        "input": {"name": input_path.name, "sha256": digests["input"].result()},
        "models": {
            role: {"path": str(getattr(models, role).resolve()), "sha256": digests[role].result()}
            for role in ("dnabert", "esm", "classifier")
        },
        "settings": {"chunk_size": chunk_size, "shard_size": shard_size, "precision": dtype_name},
        "virnucpro_version": __version__,
    }
    atomic_write_text(layout.state, json.dumps(state, indent=2) + "\n")
