"""`virnucpro export-classifier`: convert a published classifier to a weights-only safetensors file."""

from __future__ import annotations

import argparse

HELP = "convert a published 300_model.pth / 500_model.pth into a weights-only .safetensors file"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="IN.pth", help="published classifier (a pickled MLPClassifier)")
    parser.add_argument("target", metavar="OUT.safetensors", help="weights-only file to write")


def run(args: argparse.Namespace) -> int:
    import logging

    from virnucpro.models.classifier import export_classifier

    export_classifier(args.source, args.target)
    logging.getLogger("virnucpro").info("export-classifier: %s -> %s", args.source, args.target)
    return 0
