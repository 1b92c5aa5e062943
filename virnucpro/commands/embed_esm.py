"""`virnucpro embed-esm`: ESM-2 embeddings of a protein shard."""

from __future__ import annotations

import argparse

from virnucpro.commands import add_embedding_options
from virnucpro.embed.defaults import ESM_BATCH_TOKENS

HELP = "embed every protein of a .faa shard with an ESM-2 checkpoint (mean of the final layer over residues)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="SHARD.faa", help="protein FASTA (a prepare shard)")
    parser.add_argument(
        "--model", required=True, metavar="FILE", help="fair-esm ESM-2 checkpoint, e.g. esm2_t36_3B_UR50D.pt"
    )
    parser.add_argument("--output", required=True, metavar="OUT.pt", help="features file {'ids', 'data'}")
    add_embedding_options(parser, *ESM_BATCH_TOKENS)
    parser.add_argument(
        "--compile",
        choices=["auto", "yes", "no"],
        default="auto",
        help="torch.compile the transformer layer: auto (default) = on GPUs only",
    )
    parser.epilog = (
        "Proteins longer than 1,022 residues run through the model whole and are averaged over their first 1,024 "
        "residues, exactly as the published tool does."
    )


def run(args: argparse.Namespace) -> int:
    from virnucpro.embed.esm import embed_esm

    compile_layers = {"auto": None, "yes": True, "no": False}[args.compile]
    embed_esm(args.input, args.model, args.output, args.device, args.precision, args.batch_tokens, compile_layers,
              args.verbose)  # fmt: skip
    return 0
