"""The report step: the original per-chunk consensus, plus per-sequence calls, a summary and an HTML report.

Outputs in `outdir` (columns and rules: docs/output.md):
  prediction_results_highestscore.tsv  the original's consensus, byte for byte: one row per chunk with a
                                       prediction, Is_Virus = max(score2) >= max(score1) over its frames, rows in
                                       code-point order (computed with pandas exactly as the original does)
  contig_summary.tsv                   one row per input sequence, in input order, including those without any
                                       kept frame
  summary.json                         headline counts
  report.html                          a self-contained page: counts, score histogram, chunk-score tracks along
                                       the most viral sequences, a sortable per-sequence table
  NAME_virnucpro_mqc.json              the same counts as a MultiQC custom-content table row (virnucpro.multiqc)
The predictions must cover exactly the kept frames listed in the chunks table: a frame missing (a lost shard) or
unknown (predictions of another input) is an error, never a silently partial report.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from virnucpro.atomic import atomic_write_text, ensure_directory
from virnucpro.errors import InputError
from virnucpro.multiqc import custom_content, write_custom_content
from virnucpro.predict import HEADER as PREDICTIONS_HEADER

log = logging.getLogger("virnucpro")

CONSENSUS_NAME = "prediction_results_highestscore.tsv"
SUMMARY_TSV_NAME = "contig_summary.tsv"
CHUNKS_HEADER = "chunk_id\tcontig_id\tstart\tend\tlength\tframes"
FRAMES = ("F1", "F2", "F3", "R1", "R2", "R3")
BINS = 20  # histogram of the frames' P(virus)
CALL_RULE = (
    "virus when at least half of the sequence's chunks with a kept frame are viral (a chunk is viral when its "
    "highest P(virus) is at least its highest P(others), as in the original's consensus); others when fewer are; "
    "no_prediction when no chunk has a stop-free frame"
)


@dataclass(slots=True)
class Chunk:
    """One row of chunks.tsv and the maxima of its frames' scores."""

    chunk_id: str
    start: int
    end: int
    frames: int  # bit mask of the kept frames (FRAMES order)
    scored: int = 0  # bit mask of the frames with a prediction
    max_others: float = -1.0
    max_virus: float = -1.0

    @property
    def predicted(self) -> bool:
        return self.scored != 0

    @property
    def viral(self) -> bool:
        return self.predicted and self.max_virus >= self.max_others


@dataclass
class Contig:
    contig_id: str
    chunks: list[Chunk] = field(default_factory=list)

    @property
    def length(self) -> int:
        return max(c.end for c in self.chunks)  # the last chunk always ends at the end of the sequence

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
    viral_chunks: int = 0
    frames: int = 0
    frames_virus: int = 0
    chunk_size: int | None = None
    longest_chunk: int = 0
    virus_score_histogram: list[int] = field(default_factory=lambda: [0] * BINS)
    call_rule: str = CALL_RULE


def frame_mask(frames: str) -> int:
    """'F1,R2' -> a bit per frame; ValueError for anything else."""
    mask = 0
    for frame in filter(None, frames.split(",")):
        mask |= 1 << FRAMES.index(frame)
    return mask


def table_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its LF) of a UTF-8 text table; unreadable files and lines that are
    not UTF-8 are one `InputError` each."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8").removesuffix("\n")
            except UnicodeDecodeError:
                raise InputError(f"{path}: line {number} is not UTF-8 text: not {what}") from None


def read_chunks(path: Path) -> tuple[OrderedDict[str, Contig], dict[str, Chunk]]:
    """chunks.tsv -> contigs in input order, and chunks by ID."""
    contigs: OrderedDict[str, Contig] = OrderedDict()
    chunks: dict[str, Chunk] = {}
    lines = table_lines(path, "a chunks table")
    if next(lines, (1, ""))[1] != CHUNKS_HEADER:
        raise InputError(f"{path}: not a chunks table (expected the header {CHUNKS_HEADER!r})")
    for number, line in lines:
        try:
            chunk_id, contig_id, start, end, _length, frames = line.split("\t")
            chunk = Chunk(chunk_id, int(start), int(end), frame_mask(frames))
        except ValueError:
            raise InputError(
                f"{path}: line {number}: expected chunk_id, contig_id, start, end, length and frames (F1-F3, R1-R3)"
            ) from None
        if chunk_id in chunks:
            raise InputError(f"{path}: line {number}: chunk {chunk_id!r} occurs twice")
        chunks[chunk_id] = chunk
        contigs.setdefault(contig_id, Contig(contig_id)).chunks.append(chunk)
    return contigs, chunks


def add_predictions(path: Path, chunks: dict[str, Chunk], summary: ReportSummary) -> None:
    """Fold prediction_results.tsv into the chunks' score maxima and the summary's frame counts and histogram."""
    lines = table_lines(path, "a predictions table")
    if next(lines, (1, ""))[1] != PREDICTIONS_HEADER.removesuffix("\n"):
        raise InputError(f"{path}: not a predictions table (expected the header {PREDICTIONS_HEADER.strip()!r})")
    for number, line in lines:
        try:
            sequence_id, prediction, others, viral = line.split("\t")
            p_others, p_virus = float(others), float(viral)
        except ValueError:
            raise InputError(f"{path}: line {number}: expected Sequence_ID, Prediction and two scores") from None
        if prediction not in ("virus", "others") or not (0 <= p_others <= 1 and 0 <= p_virus <= 1):
            raise InputError(f"{path}: line {number}: expected virus/others and two probabilities")
        chunk = chunks.get(sequence_id[:-2])
        frame = FRAMES.index(sequence_id[-2:]) if sequence_id[-2:] in FRAMES else -1
        if chunk is None or frame < 0 or not chunk.frames >> frame & 1:
            raise InputError(
                f"{path}: line {number}: {sequence_id!r} is not a kept frame of any chunk in the chunks table"
            )
        if chunk.scored >> frame & 1:
            raise InputError(f"{path}: line {number}: {sequence_id!r} occurs twice")
        chunk.scored |= 1 << frame
        chunk.max_others = max(chunk.max_others, p_others)
        chunk.max_virus = max(chunk.max_virus, p_virus)
        summary.frames += 1
        summary.frames_virus += prediction == "virus"
        summary.virus_score_histogram[min(int(p_virus * BINS), BINS - 1)] += 1
    unscored = [
        chunk.chunk_id + frame
        for chunk in chunks.values()
        if chunk.frames != chunk.scored
        for bit, frame in enumerate(FRAMES)
        if (chunk.frames & ~chunk.scored) >> bit & 1
    ]
    if unscored:
        raise InputError(
            f"{path}: {len(unscored)} kept frame(s) of the chunks table have no prediction (first: {unscored[0]!r}): "
            "a shard is missing from the predictions"
        )


def consensus_table(predictions_path: Path, rows: int | None = None) -> str:
    """The original's consensus file: pandas reads the predictions, groups by ID minus the frame suffix.

    The same pandas calls as the original, so its quirks carry over: an ID starting with '"' loses its quotes on
    reading, and an ID with a '"' elsewhere is written quoted with the quote doubled. `rows`: the number of data
    lines, checked against what pandas read (an unmatched quote would silently join lines).
    """
    import pandas as pd

    try:
        table = pd.read_csv(predictions_path, sep="\t")
    except (pd.errors.ParserError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise InputError(f"{predictions_path}: pandas cannot read it as the original did ({reason})") from None
    # a '"' opening an ID makes pandas read on to the next '"', across lines
    if rows is not None and len(table) != rows:
        raise InputError(
            f"{predictions_path}: pandas reads {len(table)} rows, not {rows}: a sequence ID with an unmatched '\"' "
            "makes the original's consensus merge lines; rename those sequences"
        )
    if table.empty:  # the original crashes before this point when nothing is scored
        return "Modified_ID\tIs_Virus\n"
    table["Modified_ID"] = table["Sequence_ID"].str[:-2]
    maxima = table.groupby("Modified_ID")[["score1", "score2"]].max()  # sorted by Modified_ID, like the original
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


def prepared_chunk_size(chunks_path: Path) -> int | None:
    """The chunk size recorded in NAME.prepare.json next to NAME.chunks.tsv, when it is there."""
    settings = chunks_path.with_name(chunks_path.name.removesuffix(".chunks.tsv") + ".prepare.json")
    try:
        size = json.loads(settings.read_text(encoding="utf-8")).get("chunk_size")
    except (OSError, ValueError, AttributeError):
        return None
    return size if isinstance(size, int) else None


def report(
    predictions_path: str | Path, chunks_path: str | Path, outdir: str | Path, chunk_size: int | None = None
) -> ReportSummary:
    """Write the report files into `outdir`; return the headline counts."""
    from virnucpro.report_html import render_report

    predictions_path, chunks_path, outdir = Path(predictions_path), Path(chunks_path), Path(outdir)
    contigs, chunks = read_chunks(chunks_path)
    summary = ReportSummary(name=chunks_path.name.removesuffix(".chunks.tsv"), sequences=len(contigs))
    add_predictions(predictions_path, chunks, summary)
    summary.chunks = len(chunks)
    summary.chunks_with_frames = sum(c.predicted for c in chunks.values())
    summary.viral_chunks = sum(c.viral for c in chunks.values())
    summary.chunk_size = chunk_size or prepared_chunk_size(chunks_path)
    summary.longest_chunk = max((c.end - c.start for c in chunks.values()), default=0)
    for contig in contigs.values():
        summary.calls[contig.call] += 1
    consensus = consensus_table(predictions_path, summary.frames)
    ensure_directory(outdir)
    atomic_write_text(outdir / CONSENSUS_NAME, consensus)
    atomic_write_text(outdir / SUMMARY_TSV_NAME, summary_rows(contigs))
    atomic_write_text(outdir / "summary.json", json.dumps(asdict(summary), indent=2) + "\n")
    atomic_write_text(outdir / "report.html", render_report(summary, contigs))
    write_custom_content(outdir, custom_content(summary.name, sequences=summary.sequences, calls=summary.calls,
                                                chunks=summary.chunks, viral_chunks=summary.viral_chunks,
                                                frames=summary.frames))  # fmt: skip
    if not summary.frames:
        log.warning("report: no chunk has a stop-free frame, so nothing was scored: every sequence is no_prediction")
    log.info("report: %d sequences (%s) -> %s", summary.sequences,
             ", ".join(f"{n} {k}" for k, n in summary.calls.items()), outdir / "report.html")  # fmt: skip
    return summary
