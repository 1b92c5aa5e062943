"""Training-mode prepare (`--annotations`): the original's make_train_dataset rule (reference-semantics.md §6)."""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from tests.prepare_helpers import concatenated_shards, read_chunks_table
from tests.train_helpers import (
    TRAIN_CASES,
    TRAIN_REFERENCE,
    Genome,
    coding_sequence,
    gene_at,
    gzipped,
    reverse_complement,
    write_fasta,
    write_genbank,
)
from virnucpro.fasta import FastaRecord
from virnucpro.prepare import PrepareSummary, chunk_batches
from virnucpro.training_frames import TrainingFrames, annotation_key, select_frames
from virnucpro.translate import kept_frames

sys.path.insert(0, str(ROOT / "bench"))
from reference_train_prepare import reference_training_prepare


def prepare_train(cli, fna, gbff, outdir, length=500, *extra):
    result = cli("prepare", "--input", fna, "--annotations", gbff, "--outdir", outdir, "--chunk-size", length,
                 "--prefix", "x", *extra)  # fmt: skip
    return result


# ----------------------------------------------------------------------------------------------- the fixtures


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("length", [300, 500])
@pytest.mark.parametrize("case", TRAIN_CASES)
def test_training_frames_equal_the_originals_identified_files(cli, tmp_path, case, length, compressed):
    fna, gbff = TRAIN_REFERENCE / f"{case}.genomic.fna", TRAIN_REFERENCE / f"{case}.genomic.gbff"
    if compressed:
        fna, gbff = gzipped(fna, tmp_path / f"{fna.name}.gz"), gzipped(gbff, tmp_path / f"{gbff.name}.gz")
    result = prepare_train(cli, fna, gbff, tmp_path / "out", length, "--shard-size", 7 if compressed else 200_000)
    assert result.code == 0, result.stderr
    nucleotides, proteins = concatenated_shards(tmp_path / "out", "x")
    assert nucleotides == (TRAIN_REFERENCE / f"{case}.chunk{length}.identified_nucleotide.fa").read_bytes()
    assert proteins == (TRAIN_REFERENCE / f"{case}.chunk{length}.identified_protein.fa").read_bytes()
    # every chunk of the original's chunk file is in chunks.tsv, with the training frames it kept
    chunk_ids = [
        line[1:] for line in (TRAIN_REFERENCE / f"{case}.chunk{length}.fna").read_text().split() if line[0] == ">"
    ]
    rows = read_chunks_table(tmp_path / "out", "x")
    assert [row["chunk_id"] for row in rows] == chunk_ids
    kept = [line[1:] for line in nucleotides.decode().split() if line[0] == ">"]
    assert [row["chunk_id"] + f for row in rows for f in row["frames"].split(",") if f] == kept


def test_prepare_json_counts_the_annotations(cli, tmp_path):
    case = "tr02_host_sparse"  # a record without CDS and a CDS without /translation
    fna, gbff = TRAIN_REFERENCE / f"{case}.genomic.fna", TRAIN_REFERENCE / f"{case}.genomic.gbff"
    assert prepare_train(cli, fna, gbff, tmp_path, 300).code == 0
    summary = json.loads((tmp_path / "x.prepare.json").read_text())
    assert summary["warnings"] == []
    assert summary["frames"] == 10 and summary["chunks"] == 63
    assert summary["annotations"] == {
        "file": "tr02_host_sparse.genomic.gbff", "records": 3, "cds": 7, "cds_without_translation": 1,
        "records_without_translation": 1, "records_without_sequence": 0, "sequences_without_record": 0,
        "chunks_dropped_ambiguous": 0, "stop_free_frames": 15, "frames_not_annotated": 5,
    }  # fmt: skip
    ambiguous = TRAIN_REFERENCE / "tr03_ambiguous.genomic"
    assert prepare_train(cli, f"{ambiguous}.fna", f"{ambiguous}.gbff", tmp_path / "a", 300).code == 0
    assert json.loads((tmp_path / "a" / "x.prepare.json").read_text())["annotations"]["chunks_dropped_ambiguous"] > 0


# ---------------------------------------------------------------------------------------------------- the rule


def frames_of(chunk: str, proteins: list[str] | None) -> list[str]:
    sequence = chunk.upper().encode()
    joined = None if proteins is None else b"|".join(p.encode() for p in proteins)
    return [f.name for f in select_frames(sequence, kept_frames([sequence])[0], joined)]


def test_a_chunk_with_any_ambiguity_code_is_dropped_whole():
    rng = random.Random(1)
    gene = coding_sequence(rng, 120)[3:-3]  # a stop-free open frame, F1
    protein = gene_at(gene, 0, 360, +1).translation
    assert frames_of(gene, [protein]) == ["F1"]
    for code in "NRYMKSWHBVD":
        assert frames_of(gene[:100] + code + gene[101:], [protein]) == [], code
        assert frames_of(gene[:100] + code.lower() + gene[101:], [protein]) == [], code  # upper-cased first
    # U, '-', '.', X are no ambiguity codes: their codons are skipped (the protein shrinks, so no match here)
    for letter in "U-.X":
        changed = gene[:99] + letter + gene[100:]
        assert frames_of(changed, [protein]) == [], letter
        shortened = protein[:33] + protein[34:]  # the skipped codon's amino acid removed
        assert frames_of(changed, [shortened]) == ["F1"], letter


def test_a_frame_is_kept_only_as_a_substring_of_an_annotated_protein():
    rng = random.Random(2)
    chunk = coding_sequence(rng, 120)[3:-3]
    protein = gene_at(chunk, 0, 360, +1).translation
    assert frames_of(chunk, ["MK" + protein + "LV"]) == ["F1"]  # inside a longer protein
    assert frames_of(chunk, ["AAAA", protein]) == ["F1"]  # any one of the record's proteins
    assert frames_of(chunk, [protein[1:]]) == []  # one residue short: not a substring
    assert frames_of(chunk, [protein[:60], protein[60:]]) == []  # split over two proteins: no match across them
    assert frames_of(chunk, []) == []  # a record without any CDS translation
    assert frames_of(chunk, [""]) == []  # a CDS without /translation contributes an empty string
    assert frames_of(chunk, None) == []  # no GenBank record at all


def dual_coding(rng: random.Random, codons: int) -> str:
    """DNA whose forward and reverse frame 1 are both stop-free: no triplet is a stop or a stop's complement."""
    triplets = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT"]
    allowed = [t for t in triplets if t not in {"TAA", "TAG", "TGA", "TTA", "CTA", "TCA"}]
    return "".join(rng.choice(allowed) for _ in range(codons))


def test_both_strands_and_overlapping_genes(tmp_path):
    """A forward gene and a reverse gene overlapping it: chunks keep the frames of both strands, and only those."""
    rng = random.Random(3)
    flank = "".join(rng.choices("ACGT", k=150))
    sequence = flank + dual_coding(rng, 400) + flank
    genome = Genome("NC_000001.1", sequence)
    genome.genes = [gene_at(sequence, 150, 1350, +1), gene_at(sequence, 450, 1350, -1)]
    assert "*" not in genome.genes[0].translation + genome.genes[1].translation
    annotations = {genome.id: [g.translation for g in genome.genes]}
    expected = [(cid, [f[0] for f in frames]) for cid, frames in
                reference_training_prepare([(genome.id, sequence)], annotations, 300)]  # fmt: skip
    names = [set(frames) for _, frames in expected]
    assert any(n & {"F1", "F2", "F3"} and n & {"R1", "R2", "R3"} for n in names)  # one chunk, both genes
    assert any(n & {"F1", "F2", "F3"} and not n & {"R1", "R2", "R3"} for n in names)  # before the reverse gene
    assert run_selector(tmp_path, [genome]) == expected
    # without the reverse gene's annotation its frames go, the forward ones stay
    genome.genes = genome.genes[:1]
    assert run_selector(tmp_path / "fwd", [genome]) == [
        (c, [f for f in frames if f[0] == "F"]) for c, frames in expected
    ]


def run_selector(tmp_path, genomes, size=300, batch_size=4):
    """Our chunking + translation + training selector, chunk by chunk: (chunk_id, kept frame names)."""
    tmp_path.mkdir(exist_ok=True)
    gbff = write_genbank(tmp_path / "g.gbff", genomes)
    selector = TrainingFrames.from_genbank(gbff)
    summary = PrepareSummary(input="g.fna", prefix="g", chunk_size=size, shard_size=1)
    records = [FastaRecord(i, g.id, g.sequence.encode()) for i, g in enumerate(genomes, start=1)]
    result = []
    for batch in chunk_batches(records, size, batch_size):
        kept = selector(batch, kept_frames(batch.sequences), summary)
        result += [(chunk_id, [f.name for f in frames]) for chunk_id, frames in zip(batch.ids, kept, strict=True)]
    return result


def test_the_lookup_key_is_the_chunk_id_up_to_the_first_chunk_marker():
    assert annotation_key("NC_1.1_chunk_3") == "NC_1.1"
    assert annotation_key("odd_chunk_name_chunk_1") == "odd"  # the original's split('_chunk_')[0]


genome_strategy = st.builds(
    lambda seed, n_genes, length, with_n: (seed, n_genes, length, with_n),
    st.integers(0, 10**6), st.integers(0, 3), st.integers(300, 3000), st.booleans(),
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(genome_strategy, min_size=1, max_size=3), st.sampled_from([300, 500]))
def test_random_annotated_genomes_match_the_plain_rule(tmp_path, specs, size):
    genomes = []
    for number, (seed, n_genes, length, with_n) in enumerate(specs):
        rng = random.Random(seed)
        sequence = list(rng.choices("ACGT", k=length))
        genes = []
        for _ in range(n_genes):
            codons = rng.randint(length // 6, length // 3 - 2)  # long genes: chunks inside them keep frames
            gene = coding_sequence(rng, codons)
            if len(gene) >= length:
                continue
            start = rng.randrange(0, length - len(gene))
            strand = rng.choice([1, -1])
            sequence[start : start + len(gene)] = gene if strand > 0 else reverse_complement(gene)
            genes.append((start, start + len(gene), strand, rng.random() > 0.2))
        text = "".join(sequence)
        annotated = [gene_at(text, a, b, s, keep) for a, b, s, keep in genes]  # later genes may overwrite earlier
        if with_n:  # after translating: the annotation does not see it, as an ambiguity code in a real genome
            sequence[rng.randrange(length)] = rng.choice("NRYMKSWHBVDUX-")
        genomes.append(Genome(f"NC_{number:06d}.1", "".join(sequence), annotated))
    annotations = {g.id: [gene.translation or "" for gene in g.genes] for g in genomes}
    expected = list(reference_training_prepare([(g.id, g.sequence) for g in genomes], annotations, size))
    run_dir = Path(tempfile.mkdtemp(dir=tmp_path))
    assert run_selector(run_dir, genomes, size) == [(cid, [f[0] for f in frames]) for cid, frames in expected]


# ------------------------------------------------------------------------------------------------ mismatches


def two_genomes(tmp_path):
    rng = random.Random(5)
    genomes = []
    for name in ("NC_000010.1", "NC_000011.1"):
        sequence = "".join(rng.choices("ACGT", k=200)) + coding_sequence(rng, 300) + "".join(rng.choices("ACGT", k=200))
        genomes.append(Genome(name, sequence, [gene_at(sequence, 200, 200 + 906, +1)]))
    return genomes


def test_records_in_one_file_but_not_the_other_are_counted_warnings(cli, tmp_path):
    first, second = two_genomes(tmp_path)
    fna = write_fasta(tmp_path / "a.genomic.fna", [first, second])
    gbff = write_genbank(tmp_path / "a.genomic.gbff", [first])
    result = prepare_train(cli, fna, gbff, tmp_path / "out")
    assert result.code == 0, result.stderr
    message = (
        "a.genomic.fna: record ID 'NC_000011.1' has no GenBank record in a.genomic.gbff: none of its frames can be kept"
    )
    summary = json.loads((tmp_path / "out" / "x.prepare.json").read_text())
    assert summary["warnings"] == [message] and message in result.stderr
    assert summary["annotations"]["sequences_without_record"] == 1
    assert summary["frames"] > 0 and all(row["frames"] == "" for row in read_chunks_table(tmp_path / "out", "x")
                                         if row["contig_id"] == "NC_000011.1")  # fmt: skip

    gbff_both = write_genbank(tmp_path / "b.genomic.gbff", [first, second])
    fna_one = write_fasta(tmp_path / "b.genomic.fna", [first])
    result = prepare_train(cli, fna_one, gbff_both, tmp_path / "out2")
    assert result.code == 0, result.stderr
    message = "b.genomic.gbff: 1 GenBank record(s) have no sequence in b.genomic.fna: 'NC_000011.1'"
    summary = json.loads((tmp_path / "out2" / "x.prepare.json").read_text())
    assert summary["warnings"] == [message] and message in result.stderr
    assert summary["annotations"]["records_without_sequence"] == 1


def test_a_genbank_file_without_any_translation_is_a_warning(cli, tmp_path):
    first, _ = two_genomes(tmp_path)
    fna = write_fasta(tmp_path / "a.fna", [first])
    first.genes[0].translation = None
    gbff = write_genbank(tmp_path / "a.gbff", [first])
    result = prepare_train(cli, fna, gbff, tmp_path / "out")
    assert result.code == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "x.prepare.json").read_text())
    assert summary["warnings"] == [
        "a.gbff: no CDS feature has a /translation: no frame can be kept",
        "a.fna: no frame matches an annotated protein: the outputs hold no sequences",
    ]
    assert summary["frames"] == 0 and summary["shards"] == 0
    assert (tmp_path / "out" / "x.manifest.tsv").read_text() == "shard_id\tn_sequences\tn_residues\tfna\tfaa\n"


def test_bad_annotation_files_give_one_line(cli, tmp_path):
    first, _ = two_genomes(tmp_path)
    fna = write_fasta(tmp_path / "a.fna", [first])
    gbff = write_genbank(tmp_path / "a.gbff", [first])
    text = gbff.read_text()
    cases = {
        "fasta.gbff": (fna.read_text(), "not a GenBank file (this looks like FASTA: --annotations takes the GenBank "
                                        "file (X.genomic.gbff), --input the FASTA)"),
        "empty.gbff": ("", "not a GenBank file (the file is empty)"),
        "words.gbff": ("hello\nworld\n", "not a GenBank file (no record starts with a LOCUS line)"),
        "truncated.gbff": (text[: text.index("ORIGIN") + 200],
                           "GenBank record 1 ('NC_000010.1') is truncated: Premature end of file in sequence data"),
    }  # fmt: skip
    for name, (content, problem) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        result = prepare_train(cli, fna, path, tmp_path / name.replace(".", "_"))
        assert result.code == 1, name
        assert result.stderr == f"virnucpro prepare: error: {path}: {problem}\n", name
        assert not (tmp_path / name.replace(".", "_")).exists(), name
    (tmp_path / "binary.gbff").write_bytes(b"\x00\x01\x02" * 100)
    result = prepare_train(cli, fna, tmp_path / "binary.gbff", tmp_path / "o")
    assert result.stderr == f"virnucpro prepare: error: {tmp_path / 'binary.gbff'}: not a GenBank file (binary data)\n"
    truncated_gz = tmp_path / "t.gbff.gz"
    truncated_gz.write_bytes(gzipped(gbff, tmp_path / "full.gbff.gz").read_bytes()[:300])
    result = prepare_train(cli, fna, truncated_gz, tmp_path / "o")
    assert result.stderr == (f"virnucpro prepare: error: {truncated_gz}: the gzip stream is truncated (the file ends "
                             "before the compressed data does)\n")  # fmt: skip
    result = prepare_train(cli, fna, tmp_path / "missing.gbff", tmp_path / "o")
    assert result.stderr == f"virnucpro prepare: error: {tmp_path / 'missing.gbff'}: no such file\n"
    result = prepare_train(cli, tmp_path / "missing.fna", gbff, tmp_path / "o")  # the FASTA is checked first
    assert result.stderr == f"virnucpro prepare: error: {tmp_path / 'missing.fna'}: no such file\n"
    assert not (tmp_path / "o").exists()
