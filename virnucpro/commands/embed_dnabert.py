"""`virnucpro embed-dnabert`: DNABERT-S embeddings of a nucleotide shard."""

from __future__ import annotations

import argparse

from virnucpro.commands import add_embedding_options
from virnucpro.embed.defaults import DNABERT_BATCH_TOKENS

HELP = "embed every sequence of a .fna shard with DNABERT-S (mean of the last hidden state over all tokens)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="SHARD.fna", help="nucleotide FASTA (a prepare shard)")
    parser.add_argument(
        "--model", required=True, metavar="DIR", help="DNABERT-S directory: config.json, weights, tokenizer.json"
    )
    parser.add_argument("--output", required=True, metavar="OUT.pt", help="features file {'ids', 'data'}")
    add_embedding_options(parser, *DNABERT_BATCH_TOKENS)


def run(args: argparse.Namespace) -> int:
    from virnucpro.embed.dnabert import embed_dnabert

    embed_dnabert(args.input, args.model, args.output, args.device, args.precision, args.batch_tokens, args.verbose)
    return 0
