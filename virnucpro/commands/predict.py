"""`virnucpro predict`: score merged features with the VirNucPro classifier."""

from __future__ import annotations

import argparse

from virnucpro.commands import positive_int

HELP = "score merged features with the classifier; write prediction_results.tsv in the original's format"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--merged", required=True, nargs="+", metavar="M.pt", help="merged features, in order")
    parser.add_argument(
        "--classifier", required=True, metavar="FILE", help="300_model.pth / 500_model.pth, or an exported .safetensors"
    )
    parser.add_argument("--output", required=True, metavar="TSV", help="prediction_results.tsv to write")
    parser.add_argument("--device", default="auto", metavar="DEV", help="auto (default), cpu, cuda or cuda:N")
    parser.add_argument(
        "--chunk-size", type=positive_int, metavar="N", help="chunk size of the input: warns if the classifier differs"
    )


def run(args: argparse.Namespace) -> int:
    from virnucpro.predict import predict

    predict(args.merged, args.classifier, args.output, args.device, args.chunk_size)
    return 0
