"""Helpers for the prepare tests: run prepare, read its outputs back."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from reference_prepare import reference_prepare

__all__ = ["concatenated_shards", "read_chunks_table", "read_manifest", "read_one_line_fasta", "reference_prepare"]


def read_manifest(outdir: Path, prefix: str) -> list[dict[str, str]]:
    with open(outdir / f"{prefix}.manifest.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def read_chunks_table(outdir: Path, prefix: str) -> list[dict[str, str]]:
    with open(outdir / f"{prefix}.chunks.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def concatenated_shards(outdir: Path, prefix: str) -> tuple[bytes, bytes]:
    """The .fna and .faa shards concatenated in manifest order."""
    rows = read_manifest(outdir, prefix)
    fna = b"".join((outdir / row["fna"]).read_bytes() for row in rows)
    faa = b"".join((outdir / row["faa"]).read_bytes() for row in rows)
    return fna, faa


def read_one_line_fasta(path: Path) -> list[tuple[str, str]]:
    """(id, sequence) pairs of a FASTA file, lines joined (for the 60-column reference chunk files)."""
    records: list[tuple[str, str]] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            records.append((line[1:], ""))
        elif records:
            records[-1] = (records[-1][0], records[-1][1] + line)
    return records
