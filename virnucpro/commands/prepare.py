"""`virnucpro prepare`: chunk, translate and shard a DNA FASTA."""

from __future__ import annotations

import argparse

from virnucpro.commands import positive_int

HELP = "validate a DNA FASTA, cut it into chunks, keep stop-free frames and write paired .fna/.faa shards"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="FASTA", help="DNA FASTA: plain, gzip, bzip2 or xz")
    parser.add_argument("--outdir", required=True, metavar="DIR", help="directory for shards, manifest and tables")
    parser.add_argument("--prefix", metavar="NAME", help="output name prefix (default: input name without extensions)")
    parser.add_argument(
        "--chunk-size", type=positive_int, default=500, metavar="N", help="chunk length in bp: 300 or 500 (default 500)"
    )
    parser.add_argument(
        "--shard-size", type=positive_int, default=None, metavar="N", help="kept frames per shard (default 200000)"
    )
    parser.add_argument(
        "--annotations",
        metavar="GBFF",
        help="training mode: the GenBank file of the same genome (X.genomic.gbff, plain or gzip); keep only frames "
        "that are part of an annotated CDS translation, and drop chunks with ambiguous bases",
    )


def run(args: argparse.Namespace) -> int:
    from virnucpro.prepare import DEFAULT_SHARD_SIZE, prepare

    select = None
    if args.annotations:
        from virnucpro.fasta import open_binary
        from virnucpro.training_frames import TrainingFrames

        open_binary(args.input)[0].close()  # a missing FASTA is reported before the GenBank file is read
        select = TrainingFrames.from_genbank(args.annotations)
    shard_size = args.shard_size or DEFAULT_SHARD_SIZE
    prepare(args.input, args.outdir, args.prefix, args.chunk_size, shard_size, args.verbose, select)
    return 0
