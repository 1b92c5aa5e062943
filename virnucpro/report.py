"""The report step: the original per-chunk consensus, plus per-sequence calls, a summary and an HTML report.

Outputs in `outdir`:
  prediction_results_highestscore.tsv  the original's consensus, byte for byte: one row per chunk with a
                                       prediction, Is_Virus = max(score2) >= max(score1), rows in code-point
                                       order (computed with pandas exactly as the original does)
  contig_summary.tsv                   one row per input sequence, including those without any kept frame
  summary.json                         headline counts
  report.html                          a self-contained page: counts, score histogram, chunk-score tracks,
                                       a sortable per-sequence table
Per-sequence call: `no_prediction` when no chunk has a kept frame; otherwise `virus` when at least half of
the sequence's predicted chunks are viral by the consensus rule (a tie counts as virus, as in the
consensus), else `others`.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from virnucpro.atomic import atomic_path, atomic_write_text
from virnucpro.errors import InputError
from virnucpro.predict import HEADER as PREDICTIONS_HEADER

log = logging.getLogger("virnucpro")

CONSENSUS_NAME = "prediction_results_highestscore.tsv"
SUMMARY_TSV_NAME = "contig_summary.tsv"
CHUNKS_HEADER = "chunk_id\tcontig_id\tstart\tend\tlength\tframes"
CALL_RULE = (
    "virus when at least half of the sequence's chunks with a prediction are viral (max P(virus) >= max "
    "P(others) over the chunk's frames); no_prediction when no chunk has a stop-free frame; else others"
)


@dataclass
class Chunk:
    """One chunk of chunks.tsv and the maxima of its frames' scores."""

    chunk_id: str
    start: int
    end: int
    has_frames: bool
    frames: int = 0
    max_others: float = -1.0
    max_virus: float = -1.0

    @property
    def predicted(self) -> bool:
        return self.frames > 0

    @property
    def viral(self) -> bool:
        return self.predicted and self.max_virus >= self.max_others


@dataclass
class Contig:
    contig_id: str
    chunks: list[Chunk] = field(default_factory=list)

    @property
    def length(self) -> int:
        return max(c.end for c in self.chunks)

    @property
    def predicted(self) -> list[Chunk]:
        return [c for c in self.chunks if c.predicted]

    @property
    def viral_chunks(self) -> int:
        return sum(c.viral for c in self.chunks)

    @property
    def max_virus(self) -> float | None:
        return max((c.max_virus for c in self.predicted), default=None)

    @property
    def mean_virus(self) -> float | None:
        scores = [c.max_virus for c in self.predicted]
        return sum(scores) / len(scores) if scores else None

    @property
    def call(self) -> str:
        predicted = len(self.predicted)
        if not predicted:
            return "no_prediction"
        return "virus" if 2 * self.viral_chunks >= predicted else "others"


@dataclass
class ReportSummary:
    """Headline counts (summary.json)."""

    name: str
    sequences: int = 0
    calls: dict[str, int] = field(default_factory=lambda: {"virus": 0, "others": 0, "no_prediction": 0})
    chunks: int = 0
    chunks_with_frames: int = 0
    chunks_predicted: int = 0
    viral_chunks: int = 0
    frames: int = 0
    frames_virus: int = 0
    chunk_size: int = 0
    call_rule: str = CALL_RULE


def read_chunks(path: Path) -> tuple[OrderedDict[str, Contig], dict[str, Chunk]]:
    """chunks.tsv -> contigs in input order, and chunks by ID."""
    contigs: OrderedDict[str, Contig] = OrderedDict()
    chunks: dict[str, Chunk] = {}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    if not lines or lines[0] != CHUNKS_HEADER:
        raise InputError(f"{path}: not a chunks table (expected the header {CHUNKS_HEADER!r})")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        try:
            chunk_id, contig_id, start, end, _length, frames = fields
            chunk = Chunk(chunk_id, int(start), int(end), bool(frames))
        except ValueError:
            raise InputError(
                f"{path}: line {number}: expected 6 tab-separated fields with integer coordinates"
            ) from None
        if chunk_id in chunks:
            raise InputError(f"{path}: line {number}: chunk {chunk_id!r} occurs twice")
        chunks[chunk_id] = chunk
        contigs.setdefault(contig_id, Contig(contig_id)).chunks.append(chunk)
    return contigs, chunks


def add_predictions(path: Path, chunks: dict[str, Chunk]) -> tuple[int, int]:
    """Fold prediction_results.tsv into the chunks' score maxima; return (frames, frames called virus)."""
    try:
        handle = open(path)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    frames = virus = 0
    seen: set[str] = set()
    with handle:
        if handle.readline() != PREDICTIONS_HEADER:
            raise InputError(f"{path}: not a predictions table (expected the header {PREDICTIONS_HEADER.strip()!r})")
        for number, line in enumerate(handle, start=2):
            try:
                sequence_id, prediction, others, viral = line.rstrip("\n").split("\t")
                p_others, p_virus = float(others), float(viral)
            except ValueError:
                raise InputError(f"{path}: line {number}: expected Sequence_ID, Prediction and two scores") from None
            chunk = chunks.get(sequence_id[:-2])
            if chunk is None or not chunk.has_frames:
                raise InputError(
                    f"{path}: line {number}: {sequence_id!r} belongs to no chunk with kept frames in the chunks table"
                )
            if sequence_id in seen:
                raise InputError(f"{path}: line {number}: {sequence_id!r} occurs twice")
            seen.add(sequence_id)
            chunk.frames += 1
            chunk.max_others = max(chunk.max_others, p_others)
            chunk.max_virus = max(chunk.max_virus, p_virus)
            frames += 1
            virus += prediction == "virus"
    return frames, virus


def consensus_table(predictions_path: Path) -> str:
    """The original's consensus file: pandas reads the predictions, groups by ID minus the frame suffix."""
    import pandas as pd

    table = pd.read_csv(predictions_path, sep="\t")
    if table.empty:
        return "Modified_ID\tIs_Virus\n"
    table["Modified_ID"] = table["Sequence_ID"].str[:-2]
    maxima = table.groupby("Modified_ID")[["score1", "score2"]].max()
    result = pd.DataFrame({"Modified_ID": maxima.index, "Is_Virus": maxima["score2"] >= maxima["score1"]})
    return result.to_csv(sep="\t", index=False)


def summary_rows(contigs: OrderedDict[str, Contig]) -> str:
    def score(value: float | None) -> str:
        return "NA" if value is None else f"{value:.6f}"

    header = "contig_id\tlength\tchunks\tchunks_with_frames\tviral_chunks\tmax_virus_score\tmean_virus_score\tcall\n"
    return header + "".join(
        f"{c.contig_id}\t{c.length}\t{len(c.chunks)}\t{len(c.predicted)}\t{c.viral_chunks}\t"
        f"{score(c.max_virus)}\t{score(c.mean_virus)}\t{c.call}\n"
        for c in contigs.values()
    )


def report(predictions_path: str | Path, chunks_path: str | Path, outdir: str | Path) -> ReportSummary:
    """Write the four report files into `outdir`; return the headline counts."""
    from virnucpro.report_html import render_report

    predictions_path, chunks_path, outdir = Path(predictions_path), Path(chunks_path), Path(outdir)
    contigs, chunks = read_chunks(chunks_path)
    frames, frames_virus = add_predictions(predictions_path, chunks)
    unpredicted = [c.chunk_id for c in chunks.values() if c.has_frames and not c.predicted]
    if frames and unpredicted:
        raise InputError(
            f"{predictions_path}: {len(unpredicted)} chunk(s) with kept frames have no prediction (first: "
            f"{unpredicted[0]!r}): a shard is missing from the predictions"
        )
    name = chunks_path.name.removesuffix(".chunks.tsv")
    summary = ReportSummary(name=name, sequences=len(contigs), chunks=len(chunks), frames=frames)
    summary.frames_virus = frames_virus
    summary.chunks_with_frames = sum(c.has_frames for c in chunks.values())
    summary.chunks_predicted = sum(c.predicted for c in chunks.values())
    summary.viral_chunks = sum(c.viral for c in chunks.values())
    summary.chunk_size = max((c.end - c.start for c in chunks.values()), default=0)
    for contig in contigs.values():
        summary.calls[contig.call] += 1
    outdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(outdir / CONSENSUS_NAME, consensus_table(predictions_path))
    atomic_write_text(outdir / SUMMARY_TSV_NAME, summary_rows(contigs))
    atomic_write_text(outdir / "summary.json", json.dumps(asdict(summary), indent=2) + "\n")
    with atomic_path(outdir / "report.html") as tmp:
        tmp.write_text(render_report(summary, contigs, predictions_path), encoding="utf-8")
    if not frames:
        log.warning("report: no chunk has a stop-free frame, so nothing was scored: every sequence is no_prediction")
    log.info("report: %d sequences (%s) -> %s", summary.sequences,
             ", ".join(f"{n} {k}" for k, n in summary.calls.items()), outdir / "report.html")  # fmt: skip
    return summary
