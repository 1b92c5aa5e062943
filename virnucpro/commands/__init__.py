"""One module per `virnucpro` subcommand: `HELP`, `configure(parser)` and `run(args) -> int`."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """argparse type for a positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_embedding_options(parser: argparse.ArgumentParser, gpu_batch_tokens: int, cpu_batch_tokens: int) -> None:
    """--device, --precision and --batch-tokens, shared by both embedding commands."""
    parser.add_argument("--device", default="auto", metavar="DEV", help="auto (default), cpu, cuda or cuda:N")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16", "fp16"],
        help="auto (default): bf16 on GPUs of compute capability >= 8, fp16 on older GPUs, fp32 on the CPU",
    )
    parser.add_argument(
        "--batch-tokens",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"padded tokens per batch (default {gpu_batch_tokens} on GPUs, {cpu_batch_tokens} on the CPU)",
    )
