"""report.html: one self-contained page (inline CSS, SVG and a little JavaScript; nothing fetched, no timestamps).

Headline counts, a histogram of the frames' virus probabilities, chunk-score tracks along the sequences with
the most viral chunks (where a user spots prophage-like stretches inside a bacterial contig), and a sortable
per-sequence table. Every ID goes through html.escape.
"""

from __future__ import annotations

from collections import OrderedDict
from html import escape
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from virnucpro.report import Contig, ReportSummary

TABLE_LIMIT = 5000  # rows in the HTML table; contig_summary.tsv always has all of them
TRACKS = 12
VIRUS_COLOUR, OTHERS_COLOUR, NONE_COLOUR = "#c0392b", "#2c6fbb", "#c5cdd6"


def asset(name: str) -> str:
    """A stylesheet or script shipped in virnucpro/assets, inlined so the page needs nothing else."""
    return resources.files("virnucpro.assets").joinpath(name).read_text(encoding="utf-8")


def histogram(counts: list[int]) -> str:
    """Bars of the frames' P(virus) in len(counts) equal bins from 0 to 1 (red: the bins above 0.5)."""
    bins, width, top = len(counts), 640, max(counts) or 1
    bar = width / bins
    bars = "".join(
        f'<rect x="{i * bar + 40:.1f}" y="{150 - 130 * n / top:.1f}" width="{bar - 2:.1f}" height="{130 * n / top:.1f}"'
        f' fill="{VIRUS_COLOUR if i >= bins // 2 else OTHERS_COLOUR}">'
        f"<title>P(virus) {i / bins:.2f}-{(i + 1) / bins:.2f}: {n:,} frames</title></rect>"
        for i, n in enumerate(counts)
    )
    ticks = "".join(
        f'<text x="{40 + t * width:.0f}" y="166" text-anchor="middle">{t:.2f}</text>' for t in (0, 0.25, 0.5, 0.75, 1)
    )
    return (
        f'<svg viewBox="0 0 {width + 60} 185" width="100%" role="img" aria-label="histogram of P(virus)">{bars}{ticks}'
        f'<text x="34" y="24" text-anchor="end">{top:,}</text><text x="34" y="150" text-anchor="end">0</text>'
        f'<line x1="40" y1="150" x2="{width + 40}" y2="150" stroke="#9aa7b4"/>'
        f'<text x="{40 + width / 2:.0f}" y="182" text-anchor="middle">P(virus) of a frame</text></svg>'
    )


def track(contig: Contig) -> str:
    """Chunks along the sequence: bar height = the chunk's best P(virus); grey marks chunks without a kept frame."""
    left, width, base, height = 40, 880, 58, 50  # plot area: x from left, P(virus) 0..1 from y=base up by height
    scale = width / max(contig.length, 1)
    parts = []
    for chunk in contig.chunks:
        x, w = left + chunk.start * scale, max((chunk.end - chunk.start) * scale, 1.0)
        if not chunk.predicted:
            parts.append(
                f'<rect x="{x:.1f}" y="{base}" width="{w:.1f}" height="4" fill="{NONE_COLOUR}"><title>'
                f"{escape(chunk.chunk_id)} {chunk.start:,}-{chunk.end:,}: no kept frame</title></rect>"
            )
            continue
        h = height * chunk.max_virus
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{w:.1f}" height="{h:.1f}" opacity=".6" '
            f'fill="{VIRUS_COLOUR if chunk.viral else OTHERS_COLOUR}"><title>{escape(chunk.chunk_id)} '
            f"{chunk.start:,}-{chunk.end:,}: P(virus) {chunk.max_virus:.3f}, P(others) {chunk.max_others:.3f}"
            "</title></rect>"
        )
    axis = (
        f'<text x="{left - 6}" y="{base - height + 4}" text-anchor="end">1</text>'
        f'<text x="{left - 6}" y="{base - height / 2 + 4}" text-anchor="end">0.5</text>'
        f'<text x="{left - 6}" y="{base + 4}" text-anchor="end">0</text>'
        f'<line x1="{left}" y1="{base - height / 2}" x2="{left + width}" y2="{base - height / 2}" stroke="#9aa7b4" '
        'stroke-dasharray="3 3"/>'
        f'<line x1="{left}" y1="{base}" x2="{left + width}" y2="{base}" stroke="#9aa7b4"/>'
        f'<text x="{left}" y="{base + 17}">1</text>'
        f'<text x="{left + width}" y="{base + 17}" text-anchor="end">{contig.length:,} bp</text>'
    )
    return (
        f'<div class="track"><span class="label">{escape(contig.contig_id)}</span> <span class="muted">'
        f"{contig.length:,} bp; {contig.viral_chunks} of {len(contig.predicted)} scored chunks viral; call "
        f'</span><span class="{call_class(contig.call)}">{contig.call}</span>'
        f'<svg viewBox="0 0 {left + width + 10} {base + 22}" width="100%" role="img" '
        f'aria-label="chunk scores along {escape(contig.contig_id)}">{axis}{"".join(parts)}</svg></div>'
    )


def call_class(call: str) -> str:
    return {"virus": "virus", "others": "others"}.get(call, "none")


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
            f'<td class="{call_class(c.call)}">{c.call}</td>',
        ]  # fmt: skip
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def ranked(contigs: OrderedDict[str, Contig]) -> list[Contig]:
    """Most viral first: by viral chunks, then best score; sequences without predictions last (stable: input order)."""
    return sorted(contigs.values(), key=lambda c: (-c.viral_chunks, -(c.max_virus if c.max_virus is not None else -1)))


def tracks_section(order: list[Contig]) -> str:
    shown = [c for c in order if c.predicted and len(c.chunks) > 1][:TRACKS]
    intro = (
        "<h2>Chunk scores along the sequences</h2><p class='muted'>The sequences of more than one chunk with the most "
        "viral chunks. Each bar is a chunk at its place on the sequence; its height is the highest P(virus) among its "
        "frames (red: viral by the consensus rule, blue: not; grey: no kept frame; dashed line: 0.5). A run of red "
        "bars inside a long sequence is what a prophage or other inserted viral region looks like.</p>"
    )
    if not shown:
        return intro + "<p>No sequence with a scored chunk is longer than one chunk.</p>"
    return intro + "".join(track(c) for c in shown)


def render_report(summary: ReportSummary, contigs: OrderedDict[str, Contig]) -> str:
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
    if summary.frames:
        scores = "<h2>Frame scores</h2><p class='muted'>P(virus) of every scored frame.</p>" + histogram(
            summary.virus_score_histogram
        )
        tracks = tracks_section(order)
    else:
        scores = (
            "<h2>Frame scores</h2><p><b>No chunk has a stop-free frame</b>, so nothing was scored; every sequence "
            "is <i>no_prediction</i>.</p>"
        )
        tracks = ""
    limit_note = (
        f"<p class='muted'>The {TABLE_LIMIT:,} most viral of {len(order):,} sequences; contig_summary.tsv lists "
        "all.</p>"
        if len(order) > TABLE_LIMIT
        else ""
    )
    chunks_note = (
        f"{summary.chunk_size} bp chunks." if summary.chunk_size else f"Chunks of up to {summary.longest_chunk} bp."
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>VirNucPro report: {escape(summary.name)}</title><style>{asset("report.css")}</style></head><body>
<h1>VirNucPro report: {escape(summary.name)}</h1>
<p class="muted">{chunks_note} Call rule: {escape(summary.call_rule)}.</p>
<div class="cards">{cards}</div>
{scores}
{tracks}
<h2>Sequences</h2><p class="muted">Click a column header to sort.</p>{limit_note}
{table(order[:TABLE_LIMIT])}
<script>{asset("report.js")}</script>
</body></html>
"""
