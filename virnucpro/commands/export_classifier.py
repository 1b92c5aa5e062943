"""`virnucpro export-classifier`: convert a published classifier to a weights-only safetensors file."""

from __future__ import annotations

import argparse

from virnucpro.commands import positive_int

HELP = "convert a published 300_model.pth / 500_model.pth into a weights-only .safetensors file"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="IN.pth", help="published classifier (a pickled MLPClassifier)")
    parser.add_argument("target", metavar="OUT.safetensors", help="weights-only file to write")
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        metavar="N",
        help="chunk size the classifier was trained on, recorded in the metadata (default: from the source's "
        "name, 300_model.pth / 500_model.pth, or metadata)",
    )


def run(args: argparse.Namespace) -> int:
    import logging

    from virnucpro.models.classifier import export_classifier

    metadata = export_classifier(args.source, args.target, args.chunk_size)
    logging.getLogger("virnucpro").info(
        "export-classifier: %s -> %s (%s)", args.source, args.target, ", ".join(f"{k} {v}" for k, v in metadata.items())
    )
    return 0
