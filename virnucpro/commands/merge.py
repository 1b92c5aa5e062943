"""`virnucpro merge`: join the two embeddings of a shard by ID."""

from __future__ import annotations

import argparse

HELP = "join DNABERT-S and ESM-2 features by ID into merged [N, 3328] features (rows in the .fna order)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dnabert", required=True, metavar="A.pt", help="DNABERT-S features of a shard")
    parser.add_argument("--esm", required=True, metavar="B.pt", help="ESM-2 features of the same shard")
    parser.add_argument("--output", required=True, metavar="M.pt", help="merged features file")


def run(args: argparse.Namespace) -> int:
    from virnucpro.merge import merge_features

    merge_features(args.dnabert, args.esm, args.output)
    return 0
