"""report.html: one self-contained page (inline CSS, SVG and a little JavaScript; nothing fetched).

Headline counts, a histogram of the frames' virus probabilities, chunk-score tracks along the top sequences
(where a user spots prophage-like stretches inside a bacterial contig), and a sortable per-sequence table.
"""

from __future__ import annotations

from collections import OrderedDict
from html import escape
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from virnucpro.report import Contig, ReportSummary

TABLE_LIMIT = 5000  # rows in the HTML table; contig_summary.tsv always has all of them
TRACKS = 12
BINS = 20


def asset(name: str) -> str:
    """A stylesheet or script shipped in virnucpro/assets, inlined so the page needs nothing else."""
    return resources.files("virnucpro.assets").joinpath(name).read_text(encoding="utf-8")


def frame_scores(predictions_path: Path) -> list[float]:
    """Every frame's P(virus), for the histogram."""
    with open(predictions_path) as handle:
        next(handle)
        return [float(line.rstrip("\n").rsplit("\t", 1)[1]) for line in handle]


def histogram(scores: list[float]) -> str:
    counts = [0] * BINS
    for score in scores:
        counts[min(int(score * BINS), BINS - 1)] += 1
    width, height, top = 640, 180, max(counts) or 1
    bar = width / BINS
    bars = "".join(
        f'<rect x="{i * bar + 30:.1f}" y="{150 - 130 * n / top:.1f}" width="{bar - 2:.1f}" height="{130 * n / top:.1f}"'
        f' fill="{"#c0392b" if i >= BINS // 2 else "#2c6fbb"}">'
        f"<title>{i / BINS:.2f}-{(i + 1) / BINS:.2f}: {n}</title></rect>"
        for i, n in enumerate(counts)
    )
    ticks = "".join(f'<text x="{30 + t * width:.0f}" y="168" text-anchor="middle">{t:.1f}</text>' for t in (0, 0.5, 1))
    return (
        f'<svg viewBox="0 0 {width + 60} {height}" width="100%" role="img" aria-label="histogram">{bars}{ticks}'
        f'<text x="0" y="20">{top}</text><line x1="30" y1="150" x2="{width + 30}" y2="150" stroke="#9aa7b4"/></svg>'
    )


def track(contig: Contig) -> str:
    """Chunks along the sequence: bar height = the chunk's best P(virus); grey ticks mark chunks without frames."""
    width, scale = 900, 900 / max(contig.length, 1)
    parts = []
    for chunk in contig.chunks:
        x, w = 10 + chunk.start * scale, max((chunk.end - chunk.start) * scale, 1.0)
        if not chunk.predicted:
            parts.append(f'<rect x="{x:.1f}" y="58" width="{w:.1f}" height="3" fill="#c5cdd6"/>')
            continue
        h = 55 * chunk.max_virus
        colour = "#c0392b" if chunk.viral else "#2c6fbb"
        parts.append(
            f'<rect x="{x:.1f}" y="{60 - h:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}" opacity=".55">'
            f"<title>{escape(chunk.chunk_id)} {chunk.start}-{chunk.end}: P(virus) {chunk.max_virus:.3f}</title></rect>"
        )
    return (
        f'<div class="track"><span class="label">{escape(contig.contig_id)}</span> '
        f'<span class="muted">{contig.length:,} bp, {contig.viral_chunks}/{len(contig.predicted)} predicted '
        f'chunks viral</span><svg viewBox="0 0 {width + 20} 75" width="100%" role="img">'
        f'<line x1="10" y1="32.5" x2="{width + 10}" y2="32.5" stroke="#9aa7b4" stroke-dasharray="3 3"/>'
        f'{"".join(parts)}<text x="10" y="74">0</text><text x="{width + 10}" y="74" text-anchor="end">'
        f"{contig.length:,}</text></svg></div>"
    )


def table(contigs: list[Contig]) -> str:
    header = "".join(f"<th>{h}</th>" for h in ("sequence", "length", "chunks", "with frames", "viral chunks",
                                                 "max P(virus)", "mean P(virus)", "call"))  # fmt: skip
    rows = []
    for c in contigs:
        best, mean = c.max_virus, c.mean_virus
        cells = [
            f'<td class="id">{escape(c.contig_id)}</td>', f"<td>{c.length}</td>", f"<td>{len(c.chunks)}</td>",
            f"<td>{len(c.predicted)}</td>", f"<td>{c.viral_chunks}</td>",
            f'<td data-v="{-1 if best is None else best}">{"" if best is None else f"{best:.3f}"}</td>',
            f'<td data-v="{-1 if mean is None else mean}">{"" if mean is None else f"{mean:.3f}"}</td>',
            f'<td class="{ {"virus": "virus", "others": "others"}.get(c.call, "none") }">{c.call}</td>',
        ]  # fmt: skip
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def ranked(contigs: OrderedDict[str, Contig]) -> list[Contig]:
    """Most viral first: by viral chunks, then best score; sequences without predictions last."""
    return sorted(contigs.values(), key=lambda c: (-c.viral_chunks, -(c.max_virus if c.max_virus is not None else -1)))


def render_report(summary: ReportSummary, contigs: OrderedDict[str, Contig], predictions_path: Path) -> str:
    calls = summary.calls
    cards = "".join(
        f'<div class="card"><b class="{cls}">{value:,}</b>{label}</div>'
        for value, label, cls in (
            (summary.sequences, "sequences", ""), (calls["virus"], "called virus", "virus"),
            (calls["others"], "called others", "others"), (calls["no_prediction"], "without a kept frame", "none"),
            (summary.chunks, "chunks", ""), (summary.viral_chunks, "viral chunks", "virus"),
            (summary.frames, "frames scored", ""),
        )
    )  # fmt: skip
    order = ranked(contigs)
    with_tracks = [c for c in order if c.predicted][:TRACKS]
    if summary.frames:
        scores = "<h2>Frame scores</h2><p class='muted'>P(virus) of every scored frame.</p>" + histogram(
            frame_scores(predictions_path)
        )
        tracks = "".join(track(c) for c in with_tracks)
        tracks_section = (
            "<h2>Chunk scores along the top sequences</h2><p class='muted'>Each bar is a chunk; its height is the best "
            "P(virus) among its frames (red: viral by the consensus rule; dashed line: 0.5; grey: no kept frame).</p>"
            + tracks
        )
    else:
        scores = (
            "<h2>Frame scores</h2><p><b>No chunk has a stop-free frame</b>, so nothing was scored; every sequence "
            "is <i>no_prediction</i>.</p>"
        )
        tracks_section = ""
    limit_note = (
        f"<p class='muted'>The {TABLE_LIMIT:,} most viral of {len(order):,} sequences; contig_summary.tsv lists "
        "all.</p>"
        if len(order) > TABLE_LIMIT
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>VirNucPro report: {escape(summary.name)}</title><style>{asset("report.css")}</style></head><body>
<h1>VirNucPro report: {escape(summary.name)}</h1>
<p class="muted">{summary.chunk_size} bp chunks. Call rule: {escape(summary.call_rule)}.</p>
<div class="cards">{cards}</div>
{scores}
{tracks_section}
<h2>Sequences</h2><p class="muted">Click a column header to sort.</p>{limit_note}
{table(order[:TABLE_LIMIT])}
<script>{asset("report.js")}</script>
</body></html>
"""
