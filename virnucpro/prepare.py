"""The prepare step: validate a DNA FASTA, chunk it, translate six frames, keep stop-free frames, write shards.

Outputs (DESIGN.md §3), all under `outdir` with the name prefix NAME:
  NAME.shard_00001.fna / .faa  paired one-line FASTA with the same IDs in the same order
  NAME.manifest.tsv            one row per shard: shard_id n_sequences n_residues fna faa
  NAME.chunks.tsv              one row per chunk: chunk_id contig_id start end length frames
  NAME.prepare.json            counts and warnings
Everything is written into a private staging directory first and renamed into place only when the whole
input has been read without error, so a failed run leaves no shard or manifest behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, TextIO

from virnucpro import __version__
from virnucpro.atomic import failpoint, replace
from virnucpro.chunking import chunk_bounds
from virnucpro.errors import InputError, OutputError, os_reason, record_error
from virnucpro.fasta import COMPRESSED_SUFFIXES, FastaRecord, check_nucleotides, read_fasta
from virnucpro.progress import Progress
from virnucpro.translate import KeptFrame, kept_frames

log = logging.getLogger("virnucpro")

DEFAULT_CHUNK_SIZE = 500
# 200,000 kept frames per shard: about 5 minutes of ESM-2 3B on one H100 at the measured ~650 proteins/s
# (500 bp chunks), so the ~10-30 s model load and compile stay under 10% of a GPU task (README, "prepare").
DEFAULT_SHARD_SIZE = 200_000
MAX_CHUNK_SIZE = 100_000  # far beyond the published 300/500 bp; bounds the memory of one translated batch
MAX_PREFIX_BYTES = 200  # NAME plus the longest suffix and a temporary-name tag stay within NAME_MAX (255)
STAGING_LOCK = ".owner.lock"  # held by the prepare that owns a staging directory, for as long as it runs
TRANSLATE_BATCH = 4096  # chunks translated together
MAX_LISTED_WARNINGS = 100
FASTA_SUFFIXES = (".fasta", ".fas", ".fa", ".fna", ".ffn", ".fsa", ".seq", ".txt")
MANIFEST_HEADER = "shard_id\tn_sequences\tn_residues\tfna\tfaa\n"
CHUNKS_HEADER = "chunk_id\tcontig_id\tstart\tend\tlength\tframes\n"


def default_prefix(path: str | Path) -> str:
    """The input's base name without compression and FASTA extensions: 'x.fasta.gz' -> 'x'."""
    name = Path(path).name
    for suffix in COMPRESSED_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    for suffix in FASTA_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def check_prefix(prefix: str, option: str = "--prefix") -> str:
    """`prefix` if it is a plain file name every output can start with; else `InputError` saying why.

    Refused: empty, '.' or '..' or any name starting with '.', a path separator, control characters (a tab or
    newline would break the TSV tables), text that is not UTF-8, and names too long for the output names.
    Glob characters are allowed: no file name is ever used as a pattern.
    """
    problem = None
    if not prefix:
        problem = "is empty"
    elif prefix.startswith("."):
        problem = "starts with '.' (hidden names, '.' and '..' are refused)"
    elif "/" in prefix or "\\" in prefix:
        problem = "holds a path separator: a sample name is a plain file name"
    elif any(ord(c) < 32 or ord(c) == 127 for c in prefix):
        problem = "holds a control character (tab, newline, ...)"
    else:
        try:
            size = len(prefix.encode("utf-8"))
        except UnicodeEncodeError:
            problem = "is not UTF-8 text"
        else:
            if size > MAX_PREFIX_BYTES:
                problem = f"is {size} bytes long; at most {MAX_PREFIX_BYTES}"
    if problem:
        raise InputError(f"{option} {prefix!r}: {problem}")
    return prefix


def sample_name(input_path: str | Path, prefix: str | None) -> str:
    """The validated NAME of every output: `prefix`, or the input's base name without extensions."""
    if prefix is not None:
        return check_prefix(prefix)
    return check_prefix(default_prefix(input_path), f"the name of {Path(input_path).name!r} (use --prefix NAME):")


@dataclass(frozen=True)
class PrepareOutputs:
    """Every file name prepare writes, defined once."""

    outdir: Path
    prefix: str

    @property
    def manifest(self) -> Path:
        return self.outdir / f"{self.prefix}.manifest.tsv"

    @property
    def chunks(self) -> Path:
        return self.outdir / f"{self.prefix}.chunks.tsv"

    @property
    def summary(self) -> Path:
        return self.outdir / f"{self.prefix}.prepare.json"

    @staticmethod
    def shard_id(index: int) -> str:
        return f"shard_{index:05d}"

    def shard_name(self, index: int, suffix: str) -> str:
        return f"{self.prefix}.{self.shard_id(index)}.{suffix}"

    def is_shard_name(self, name: str) -> bool:
        """True for a shard file name of this prefix (matched literally: the prefix is never a pattern)."""
        rest = name.removeprefix(f"{self.prefix}.")
        return rest != name and re.fullmatch(r"shard_\d{5,}\.f[na]a", rest) is not None

    def is_staging_name(self, name: str) -> bool:
        """True for the name of a staging directory a prepare of this prefix creates (`make_staging_dir`)."""
        rest = name.removeprefix(f".{self.prefix}.prepare-")
        return rest != name and re.fullmatch(r"[a-z0-9_]+", rest) is not None


@dataclass
class PrepareSummary:
    """Counts written to NAME.prepare.json (no timestamps or absolute paths: outputs stay reproducible)."""

    input: str
    prefix: str
    chunk_size: int
    shard_size: int
    records: int = 0
    empty_records_skipped: int = 0
    bases: int = 0
    chunks: int = 0
    chunks_with_frames: int = 0
    frames: int = 0
    residues: int = 0
    shards: int = 0
    warnings: list[str] = field(default_factory=list)
    warnings_not_listed: int = 0
    virnucpro_version: str = __version__

    def warn(self, message: str) -> None:
        log.warning(message)
        if len(self.warnings) < MAX_LISTED_WARNINGS:
            self.warnings.append(message)
        else:
            self.warnings_not_listed += 1


@dataclass
class ChunkBatch:
    """Consecutive chunks (upper-cased), column by column."""

    ids: list[str] = field(default_factory=list)
    contigs: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    sequences: list[bytes] = field(default_factory=list)

    def extend(self, contig: str, sequence: bytes, starts: list[int], ends: list[int], first_number: int) -> None:
        self.ids += [f"{contig}_chunk_{k}" for k in range(first_number, first_number + len(starts))]
        self.contigs += [contig] * len(starts)
        self.starts += starts
        self.ends += ends
        self.sequences += [sequence[a:b] for a, b in zip(starts, ends, strict=True)]


def validated_records(path: Path, summary: PrepareSummary) -> Iterator[FastaRecord]:
    """Records with valid letters and unique IDs; empty records are skipped and reported.

    A file whose records are all empty is an error; warnings about empty records are held back until the first
    record with a sequence, so that such a file gives that one error line.
    """
    first_seen: dict[str, int] = {}
    held: list[str] = []  # warnings before the first record with a sequence
    for record in read_fasta(path):
        summary.records += 1
        if record.id in first_seen:
            raise record_error(
                path, record.number, record.id, f"duplicate ID (first used by record {first_seen[record.id]})"
            )
        first_seen[record.id] = record.number
        if record.id.startswith('"') and record.id.count('"') == 1:
            raise record_error(
                path, record.number, record.id,
                "the ID opens a '\"' it never closes: the original's consensus (pandas) would read on across lines; "
                "rename the sequence",
            )  # fmt: skip
        if not record.sequence:
            summary.empty_records_skipped += 1
            message = f"{path.name}: record {record.number} (ID {record.id!r}): empty sequence, skipped"
            if summary.bases:
                summary.warn(message)
            elif len(held) <= MAX_LISTED_WARNINGS:
                held.append(message)
            continue
        check_nucleotides(record, path)
        if not summary.bases:
            for message in held:
                summary.warn(message)
            summary.warnings_not_listed += summary.empty_records_skipped - len(held)
        summary.bases += len(record.sequence)
        yield record
    if summary.records and not summary.bases:
        raise InputError(
            f"{path}: all {summary.records} record(s) are empty (headers without sequence): nothing to analyse"
        )


def chunk_batches(records: Iterable[FastaRecord], chunk_size: int, batch_size: int) -> Iterator[ChunkBatch]:
    """The original tool's chunks of every record (IDs '<id>_chunk_<k>', k from 1), about `batch_size` at a time."""
    batch = ChunkBatch()
    for record in records:
        sequence = record.sequence.upper()
        starts, ends = (a.tolist() for a in chunk_bounds(len(sequence), chunk_size))
        for first in range(0, len(starts), batch_size):  # a long record is split over several batches
            batch.extend(
                record.id, sequence, starts[first : first + batch_size], ends[first : first + batch_size], first + 1
            )
            if len(batch.ids) >= batch_size:
                yield batch
                batch = ChunkBatch()
    if batch.ids:
        yield batch


class ShardWriter:
    """Writes kept frames into paired .fna/.faa shards of at most `shard_size` sequences."""

    def __init__(self, staging: Path, outputs: PrepareOutputs, shard_size: int) -> None:
        self.staging, self.outputs, self.shard_size = staging, outputs, shard_size
        self.rows: list[str] = []
        self.fna: BinaryIO | None = None
        self.faa: BinaryIO | None = None
        self.count = self.residues = 0

    def add(self, headers: list[bytes], nucleotides: list[bytes], proteins: list[bytes]) -> None:
        """Append records ('>ID' header lines, sequences), starting new shards as they fill up."""
        done = 0
        while done < len(headers):
            if self.fna is None or self.count == self.shard_size:
                self._next_shard()
            assert self.fna is not None and self.faa is not None
            end = min(len(headers), done + self.shard_size - self.count)
            part = slice(done, end)
            for handle, sequences in ((self.fna, nucleotides), (self.faa, proteins)):
                lines = [line for pair in zip(headers[part], sequences[part], strict=True) for line in pair]
                handle.write(b"\n".join(lines) + b"\n")
            self.count += end - done
            self.residues += sum(map(len, proteins[part]))
            done = end

    def _next_shard(self) -> None:
        self._finish_shard()
        index = len(self.rows) + 1
        failpoint("prepare: shard started")
        self.fna = open(self.staging / self.outputs.shard_name(index, "fna"), "wb")  # noqa: SIM115
        self.faa = open(self.staging / self.outputs.shard_name(index, "faa"), "wb")  # noqa: SIM115
        self.count = self.residues = 0

    def _finish_shard(self) -> None:
        if self.fna is None or self.faa is None:
            return
        self.fna.close()
        self.faa.close()
        index = len(self.rows) + 1
        fna, faa = (self.outputs.shard_name(index, s) for s in ("fna", "faa"))
        self.rows.append(f"{self.outputs.shard_id(index)}\t{self.count}\t{self.residues}\t{fna}\t{faa}\n")
        self.fna = self.faa = None

    def close(self) -> list[str]:
        """Close the last shard; return the manifest rows."""
        self._finish_shard()
        return self.rows


class FrameSelector(Protocol):
    """Narrows each batch's kept frames (training mode: virnucpro.training_frames); adds to prepare.json."""

    def __call__(
        self, batch: ChunkBatch, kept: list[list[KeptFrame]], summary: PrepareSummary
    ) -> list[list[KeptFrame]]: ...

    def finish(self, summary: PrepareSummary) -> dict[str, object]: ...


def write_identified(
    batches: Iterable[ChunkBatch],
    chunks_out: TextIO,
    shards: ShardWriter,
    summary: PrepareSummary,
    progress: Progress,
    select: FrameSelector | None = None,
) -> None:
    """Translate each batch; write every chunk's row and every kept frame."""
    for batch in batches:
        kept = kept_frames(batch.sequences)
        if select is not None:
            kept = select(batch, kept, summary)
        names = [",".join(f.name for f in frames) if frames else "" for frames in kept]
        chunks_out.write("".join([
            f"{i}\t{c}\t{a}\t{b}\t{b - a}\t{n}\n"
            for i, c, a, b, n in zip(batch.ids, batch.contigs, batch.starts, batch.ends, names, strict=True)
        ]))  # fmt: skip
        headers = [
            f">{chunk_id}{f.name}".encode() for chunk_id, frames in zip(batch.ids, kept, strict=True) for f in frames
        ]
        nucleotides = [f.nucleotide for frames in kept for f in frames]
        proteins = [f.protein for frames in kept for f in frames]
        shards.add(headers, nucleotides, proteins)
        summary.chunks += len(batch.ids)
        summary.chunks_with_frames += sum(1 for frames in kept if frames)
        summary.frames += len(headers)
        summary.residues += sum(map(len, proteins))
        progress.update(0, chunks=len(batch.ids))


def make_staging_dir(outputs: PrepareOutputs) -> tuple[Path, int]:
    """A private directory inside the outdir (same filesystem, so the final renames are atomic), and the open
    lock file that marks it as in use; staging directories of earlier, killed runs are removed first."""
    outdir = outputs.outdir
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"{outdir}: output path exists and is not a directory")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        remove_abandoned_staging(outputs)
        staging = Path(tempfile.mkdtemp(prefix=f".{outputs.prefix}.prepare-", dir=outdir))
        lock = os.open(staging / STAGING_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
        return staging, lock
    except OSError as exc:
        raise OutputError(f"{outdir}: output directory cannot be written ({os_reason(exc)})") from None


def remove_abandoned_staging(outputs: PrepareOutputs) -> None:
    """Remove this prefix's staging directories whose prepare is gone (killed): their lock is free."""
    for entry in os.scandir(outputs.outdir):
        if not outputs.is_staging_name(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            lock = os.open(os.path.join(entry.path, STAGING_LOCK), os.O_RDWR)
        except FileNotFoundError:
            lock = None  # killed before it took its lock
        try:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a running prepare owns it
            shutil.rmtree(entry.path)
            log.info("prepare: removed %s, left by an interrupted run", entry.name)
        except BlockingIOError:
            continue
        finally:
            if lock is not None:
                os.close(lock)


def publish(staging: Path, outputs: PrepareOutputs) -> None:
    """Move staged files into place (manifest last) and remove shards a previous run left that this one lacks."""
    staged = sorted(p.name for p in staging.iterdir() if p.name != STAGING_LOCK)
    for name in staged:
        if name != outputs.manifest.name:
            replace(staging / name, outputs.outdir / name)
    replace(staging / outputs.manifest.name, outputs.manifest)
    for entry in os.scandir(outputs.outdir):
        if outputs.is_shard_name(entry.name) and entry.name not in staged and not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)


def prepare(
    input_path: str | Path,
    outdir: str | Path,
    prefix: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    shard_size: int = DEFAULT_SHARD_SIZE,
    verbose: bool = False,
    select: FrameSelector | None = None,
) -> PrepareSummary:
    """Run the prepare step; return its summary. Raises `InputError` on bad input with nothing published.

    `select` narrows the kept frames (training mode); its `finish` adds to prepare.json."""
    check_sizes(chunk_size, shard_size)
    input_path = Path(input_path)
    prefix = sample_name(input_path, prefix)
    if chunk_size not in (300, 500):
        log.warning("--chunk-size %d: the published classifiers were trained on 300 and 500 bp chunks", chunk_size)
    outputs = PrepareOutputs(Path(outdir), prefix)
    summary = PrepareSummary(input=input_path.name, prefix=prefix, chunk_size=chunk_size, shard_size=shard_size)
    progress = Progress("prepare", unit="records", verbose=verbose)
    records = validated_records(input_path, summary)
    first = next(records, None)  # surfaces unreadable or non-FASTA input before anything is created
    staging, lock = make_staging_dir(outputs)
    try:
        shards = ShardWriter(staging, outputs, shard_size)
        with open(staging / outputs.chunks.name, "w", encoding="utf-8", buffering=1 << 20) as chunks_out:
            chunks_out.write(CHUNKS_HEADER)
            counted = _counting(_prepend(first, records), progress)
            batches = chunk_batches(counted, chunk_size, TRANSLATE_BATCH)
            write_identified(batches, chunks_out, shards, summary, progress, select)
        rows = shards.close()
        summary.shards = len(rows)
        extra = select.finish(summary) if select is not None else {}
        (staging / outputs.manifest.name).write_text(MANIFEST_HEADER + "".join(rows), encoding="utf-8")
        summary_text = json.dumps(asdict(summary) | extra, indent=2) + "\n"
        (staging / outputs.summary.name).write_text(summary_text, encoding="utf-8")
        publish(staging, outputs)
    except OSError as exc:
        raise OutputError(f"{outputs.outdir}: cannot write outputs ({os_reason(exc)})") from None
    finally:
        progress.close()
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
        os.close(lock)
    if summary.frames == 0 and select is None:
        log.warning("%s: no chunk has a stop-free frame: the outputs are valid but hold no sequences", input_path.name)
    log.info(
        "prepare: %s records (%s empty, skipped), %s chunks, %s kept frames in %s shard(s) -> %s",
        f"{summary.records:,}", summary.empty_records_skipped, f"{summary.chunks:,}", f"{summary.frames:,}",
        summary.shards, outputs.manifest,
    )  # fmt: skip
    return summary


def check_sizes(chunk_size: int, shard_size: int) -> None:
    """--chunk-size and --shard-size must be positive; the chunk size at most MAX_CHUNK_SIZE."""
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be a positive integer, got {chunk_size}")
    if chunk_size > MAX_CHUNK_SIZE:
        raise InputError(
            f"--chunk-size {chunk_size}: at most {MAX_CHUNK_SIZE:,} (the published classifiers use 300 and 500)"
        )
    if shard_size < 1:
        raise InputError(f"--shard-size must be a positive integer, got {shard_size}")


def _prepend(first: FastaRecord | None, rest: Iterator[FastaRecord]) -> Iterator[FastaRecord]:
    if first is not None:
        yield first
    yield from rest


def _counting(records: Iterable[FastaRecord], progress: Progress) -> Iterator[FastaRecord]:
    for record in records:
        progress.update(1)
        yield record
