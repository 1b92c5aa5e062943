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
