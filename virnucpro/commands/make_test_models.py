"""`virnucpro make-test-models`: small random models in the real formats."""

from __future__ import annotations

import argparse

HELP = "write small deterministic test models (DNABERT-S directory, ESM-2 checkpoint, classifiers) in real formats"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--outdir", required=True, metavar="DIR", help="directory for the models")


def run(args: argparse.Namespace) -> int:
    import logging

    from virnucpro.testmodels import make_test_models

    paths = make_test_models(args.outdir)
    logging.getLogger("virnucpro").info(
        "test models (meaningless scores) in %s: %s", args.outdir, ", ".join(p.name for p in paths.values())
    )
    return 0
