"""`virnucpro fetch-models`: download and verify the real models once."""

from __future__ import annotations

import argparse

HELP = "download DNABERT-S, ESM-2 3B and the published classifiers into one directory, verifying what can be verified"


def configure(parser: argparse.ArgumentParser) -> None:
    from virnucpro.fetch_models import CLASSIFIER_BASE_URL, ESM_BASE_URL, HF_ENDPOINT

    parser.add_argument("--dest", required=True, metavar="DIR", help="directory for the models")
    parser.add_argument(
        "--hf-endpoint", default=HF_ENDPOINT, metavar="URL", help=f"Hugging Face endpoint ({HF_ENDPOINT})"
    )
    parser.add_argument("--esm-base-url", default=ESM_BASE_URL, metavar="URL", help="fair-esm download base URL")
    parser.add_argument(
        "--classifier-base-url", default=CLASSIFIER_BASE_URL, metavar="URL", help="VirNucPro classifier base URL"
    )


def run(args: argparse.Namespace) -> int:
    from virnucpro.fetch_models import Sources, fetch_models

    fetch_models(args.dest, Sources(args.hf_endpoint, args.esm_base_url, args.classifier_base_url), args.verbose)
    return 0
