"""`virnucpro report`: consensus per chunk, calls per sequence, summary and HTML report."""

from __future__ import annotations

import argparse

from virnucpro.commands import positive_int

HELP = "write the original per-chunk consensus, per-sequence calls, summary.json and a self-contained report.html"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predictions", required=True, metavar="P.tsv", help="prediction_results.tsv")
    parser.add_argument("--chunks", required=True, metavar="NAME.chunks.tsv", help="chunks table from prepare")
    parser.add_argument("--outdir", required=True, metavar="DIR", help="directory for the report files")
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        metavar="N",
        help="chunk size prepare used, shown in the report (default: from NAME.prepare.json next to the chunks "
        "table, when it is there)",
    )


def run(args: argparse.Namespace) -> int:
    from virnucpro.report import report

    report(args.predictions, args.chunks, args.outdir, args.chunk_size)
    return 0
