"""Writes the bundled training genomes of -profile test_train and the Nextflow script checks (run from the repo root).

Synthetic RefSeq-like pairs X.genomic.fna / X.genomic.gbff: gene-dense genomes on both strands, viral-like ones
with GC-rich codons, host-like ones with AT-rich codons (tests/train_helpers.py). bacterium_a is gzip-compressed.
    python tests/data/train/make_train_data.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.train_helpers import gzipped, synthetic_genome, write_fasta, write_genbank  # noqa: E402

GENOMES = [("virus_a", True), ("virus_b", True), ("bacterium_a", False), ("fungus_a", False), ("virus_d", True),
           ("plant_d", False)]  # fmt: skip
LENGTH = 12_000


def write(here: Path) -> None:
    """Write the genomes into the folder `here`."""
    rng = random.Random(2025)
    for number, (name, gc_rich) in enumerate(GENOMES, start=1):
        genome = synthetic_genome(rng, f"NC_9{number:05d}.1", LENGTH, gc_rich)
        fna = write_fasta(here / f"{name}.genomic.fna", [genome])
        gbff = write_genbank(here / f"{name}.genomic.gbff", [genome])
        if name == "bacterium_a":
            for path in (fna, gbff):
                gzipped(path, path.with_name(path.name + ".gz"))
                path.unlink()


if __name__ == "__main__":
    write(Path(__file__).parent)
