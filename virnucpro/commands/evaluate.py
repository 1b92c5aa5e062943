"""`virnucpro evaluate`: a classifier's metrics and curves on labelled merged features."""

from __future__ import annotations

import argparse

from virnucpro.commands import positive_int
from virnucpro.commands.train import add_data_options, add_threads_option, set_threads

HELP = "score labelled merged features with a classifier; write metrics, ROC and precision-recall curves"


def configure(parser: argparse.ArgumentParser) -> None:
    add_data_options(parser)
    parser.add_argument(
        "--classifier", required=True, metavar="FILE", help="300_model.pth / 500_model.pth, an export, or from train"
    )
    parser.add_argument("--outdir", required=True, metavar="DIR", help="directory for the metrics and report")
    parser.add_argument("--device", default="auto", metavar="DEV", help="auto (default), cpu, cuda or cuda:N")
    add_threads_option(parser)
    parser.add_argument(
        "--chunk-size", type=positive_int, metavar="N", help="chunk size of the data: warns if the classifier differs"
    )


def run(args: argparse.Namespace) -> int:
    from virnucpro.evaluate import evaluate
    from virnucpro.labels import read_labels

    files = read_labels(args.labels, args.merged)
    set_threads(args)
    evaluate(files, args.classifier, args.outdir, args.device, args.chunk_size)
    return 0
