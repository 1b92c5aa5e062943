"""Synthetic RefSeq-like genomes for the training tests: a FASTA and the same records in GenBank with CDS features."""

from __future__ import annotations

import gzip
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import DATA

TRAIN_REFERENCE = DATA / "reference-train"
TRAIN_CASES = ["tr01_dense_genes", "tr02_host_sparse", "tr03_ambiguous"]


@dataclass
class Gene:
    start: int  # 0-based, half-open
    end: int
    strand: int  # +1 or -1
    translation: str | None  # None: the CDS has no /translation qualifier


@dataclass
class Genome:
    id: str
    sequence: str
    genes: list[Gene] = field(default_factory=list)


def translate(dna: str) -> str:
    from Bio.Seq import Seq

    return str(Seq(dna).translate())


def reverse_complement(dna: str) -> str:
    from Bio.Seq import Seq

    return str(Seq(dna).reverse_complement())


def coding_sequence(rng: random.Random, codons: int, usage: list[str] | None = None) -> str:
    """ATG, `codons` random sense codons (from `usage` when given), then a stop."""
    from Bio.Data.CodonTable import standard_dna_table

    sense = usage or sorted(standard_dna_table.forward_table)
    return "ATG" + "".join(rng.choice(sense) for _ in range(codons)) + rng.choice(["TAA", "TAG", "TGA"])


def gene_at(sequence: str, start: int, end: int, strand: int, with_translation: bool = True) -> Gene:
    """A CDS over sequence[start:end] whose /translation is what the region really codes (stop removed)."""
    region = sequence[start:end] if strand > 0 else reverse_complement(sequence[start:end])
    protein = translate(region).rstrip("*")
    return Gene(start, end, strand, protein if with_translation else None)


def write_fasta(path: Path, genomes: list[Genome], width: int = 80) -> Path:
    with open(path, "w") as out:
        for genome in genomes:
            out.write(f">{genome.id} synthetic {genome.id}\n")
            for i in range(0, len(genome.sequence), width):
                out.write(genome.sequence[i : i + width] + "\n")
    return path


def write_genbank(path: Path, genomes: list[Genome]) -> Path:
    """The genomes as GenBank, written by Biopython (ACCESSION.VERSION ids, CDS features with /translation)."""
    from Bio import SeqIO
    from Bio.Seq import Seq
    from Bio.SeqFeature import FeatureLocation, SeqFeature
    from Bio.SeqRecord import SeqRecord

    records = []
    for genome in genomes:
        accession, _, version = genome.id.partition(".")
        record = SeqRecord(Seq(genome.sequence), id=genome.id, name=accession, description=f"synthetic {genome.id}")
        record.annotations = {"molecule_type": "DNA", "accessions": [accession],
                              "sequence_version": int(version or 1)}  # fmt: skip
        for n, gene in enumerate(genome.genes):
            qualifiers = {"locus_tag": [f"{accession}_g{n}"]}
            if gene.translation is not None:
                qualifiers["translation"] = [gene.translation]
            location = FeatureLocation(gene.start, gene.end, strand=gene.strand)
            record.features.append(SeqFeature(location, type="CDS", qualifiers=qualifiers))
        records.append(record)
    with open(path, "w") as out:
        SeqIO.write(records, out, "genbank")
    return path


def gzipped(path: Path, target: Path) -> Path:
    """gzip `path` into `target`, reproducibly (no time stamp or file name in the gzip header)."""
    with open(path, "rb") as source, open(target, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as out:
        shutil.copyfileobj(source, out)
    return target


def sense_codons(gc_rich: bool) -> list[str]:
    """Sense codons with at least two G/C (gc_rich) or at most one: two clearly different codon usages."""
    from Bio.Data.CodonTable import standard_dna_table

    codons = sorted(standard_dna_table.forward_table)
    return [c for c in codons if (sum(b in "GC" for b in c) >= 2) == gc_rich]


def synthetic_genome(rng: random.Random, genome_id: str, length: int, gc_rich: bool) -> Genome:
    """A gene-dense genome: genes of 200-500 codons on both strands, short spacers, one codon usage throughout."""
    usage = sense_codons(gc_rich)
    spacer_letters = "GGCCAT" if gc_rich else "AATTGC"
    parts: list[str] = []
    genes: list[Gene] = []
    position = 0
    while position < length - 1000:
        spacer = "".join(rng.choices(spacer_letters, k=rng.randint(10, 60)))
        gene = coding_sequence(rng, rng.randint(200, 500), usage)
        strand = rng.choice([1, -1])
        parts += [spacer, gene if strand > 0 else reverse_complement(gene)]
        start = position + len(spacer)
        genes.append(Gene(start, start + len(gene), strand, translate(gene).rstrip("*")))
        position = start + len(gene)
    return Genome(genome_id, "".join(parts), genes)
