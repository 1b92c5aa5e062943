"""`virnucpro run`: every step on one machine."""

from __future__ import annotations

import argparse

from virnucpro.commands import positive_int

HELP = "prepare, embed with DNABERT-S and ESM-2, merge, predict and report, on one machine (resumable)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="FASTA", help="DNA FASTA: plain, gzip, bzip2 or xz")
    parser.add_argument(
        "--outdir", required=True, metavar="DIR", help="output directory (laid out like the pipeline's)"
    )
    parser.add_argument("--dnabert", required=True, metavar="DIR", help="DNABERT-S model directory")
    parser.add_argument("--esm", required=True, metavar="FILE", help="ESM-2 checkpoint, e.g. esm2_t36_3B_UR50D.pt")
    parser.add_argument("--classifier", required=True, metavar="FILE", help="500_model.pth or 300_model.pth")
    parser.add_argument("--chunk-size", type=positive_int, default=500, metavar="N", help="300 or 500 (default 500)")
    parser.add_argument("--shard-size", type=positive_int, default=200_000, metavar="N", help="frames per shard")
    parser.add_argument("--prefix", metavar="NAME", help="sample name (default: input name without extensions)")
    parser.add_argument(
        "--devices",
        default="auto",
        metavar="LIST",
        help="one worker per entry: auto (default: every visible GPU, else the CPU), cpu, cuda:0,cuda:3 (a device "
        "may repeat), or a number N (GPUs 0..N-1, or N CPU workers sharing the cores)",
    )
    parser.add_argument("--device", dest="devices", help=argparse.SUPPRESS)  # the earlier single-device option
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--restart", action="store_true", help="discard the outputs of an earlier run in --outdir")


def run(args: argparse.Namespace) -> int:
    from virnucpro.run import run as run_all

    run_all(args.input, args.outdir, args.dnabert, args.esm, args.classifier, args.chunk_size, args.shard_size,
            args.prefix, args.devices, args.precision, args.restart, args.verbose)  # fmt: skip
    return 0
