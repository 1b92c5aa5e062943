"""`virnucpro check-dnabert`: compare our DNABERT-S port with the hub's own code on your weights."""

from __future__ import annotations

import argparse

from virnucpro.commands import positive_int

HELP = "run the model directory's own modelling code and our port on a few sequences; report the largest difference"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, metavar="DIR", help="DNABERT-S directory that includes bert_layers.py"
    )
    parser.add_argument("--sequences", type=positive_int, default=8, metavar="N", help="sequences to compare (8)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest acceptable difference (1e-4)")


def run(args: argparse.Namespace) -> int:
    from virnucpro.check_dnabert import largest_difference
    from virnucpro.errors import VirnucproError

    largest = largest_difference(args.model, args.sequences)
    verdict = "within" if largest <= args.tolerance else "ABOVE"
    print(f"check-dnabert: {args.sequences} sequences, largest absolute difference {largest:.3e} "
          f"({verdict} {args.tolerance:g})")  # fmt: skip
    if largest > args.tolerance:
        raise VirnucproError(f"our DNABERT-S port differs from {args.model}'s modelling code by {largest:.3e}")
    return 0
