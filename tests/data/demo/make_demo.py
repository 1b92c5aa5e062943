"""Writes demo.fa beside this file: a small, deterministic mix of sequences for `make demo` and pipeline tests.

Run `python tests/data/demo/make_demo.py`; tests check that the committed file equals a fresh run.
Sequences: gene-dense contigs (open reading frames on both strands, like phage or bacterial DNA), random
non-coding DNA, short reads of 150 and 300 bp, a contig with N runs and IUPAC codes, and a lowercase one.
"""

from __future__ import annotations

import random
from pathlib import Path

CODONS = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT"]
STOPS = {"TAA", "TAG", "TGA"}
SENSE = [c for c in CODONS if c not in STOPS]
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def gene(rng: random.Random, codons: int) -> str:
    return "ATG" + "".join(rng.choices(SENSE, k=codons)) + rng.choice(sorted(STOPS))


def gene_dense(rng: random.Random, length: int) -> str:
    parts, total = [], 0
    while total < length:
        piece = gene(rng, rng.randint(80, 400))
        if rng.random() < 0.4:
            piece = piece.translate(COMPLEMENT)[::-1]
        spacer = "".join(rng.choices("ACGT", k=rng.randint(5, 60)))
        parts += [piece, spacer]
        total += len(piece) + len(spacer)
    return "".join(parts)[:length]


def demo_records(seed: int = 20261122) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    records = [(f"phage_like_{i} gene-dense contig", gene_dense(rng, rng.randint(2000, 6000))) for i in range(1, 5)]
    records += [(f"noncoding_{i} random DNA", "".join(rng.choices("ACGT", k=rng.randint(600, 2500)))) for i in range(1, 4)]
    records += [(f"read_{i} short read", gene_dense(rng, rng.choice([150, 300]))) for i in range(1, 9)]
    masked = list(gene_dense(rng, 1800))
    for start in (200, 900):
        masked[start : start + 40] = "N" * 40
    for position in rng.sample(range(len(masked)), 12):
        masked[position] = rng.choice("RYKMSW")
    records.append(("masked_contig with N runs and IUPAC codes", "".join(masked)))
    records.append(("lowercase_contig soft-masked", gene_dense(rng, 1200).lower()))
    return records


def write(path: Path) -> None:
    with open(path, "w") as handle:
        for header, sequence in demo_records():
            handle.write(f">{header}\n")
            handle.writelines(sequence[i : i + 70] + "\n" for i in range(0, len(sequence), 70))


if __name__ == "__main__":
    write(Path(__file__).with_name("demo.fa"))
