"""prepare reproduces the original tool's outputs on every reference fixture (reference-semantics.md)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REFERENCE
from tests.prepare_helpers import concatenated_shards, read_chunks_table, read_manifest, read_one_line_fasta

CLEAN_CASES = ["s01_random_lengths", "s02_open_frames", "s03_case_and_iupac", "s06_genome_like", "s07_many_short"]


def input_sequences(case: str) -> dict[str, str]:
    return dict(read_one_line_fasta_ids(REFERENCE / f"{case}.fa"))


def read_one_line_fasta_ids(path):
    """Input records keyed by ID (the first word of the header), sequences as written (case kept)."""
    return [(title.split(None, 1)[0] if title.split() else "", seq) for title, seq in read_one_line_fasta(path)]


@pytest.mark.parametrize("shard_size", [7, 200_000])
@pytest.mark.parametrize("length", [300, 500])
@pytest.mark.parametrize("case", CLEAN_CASES)
def test_shards_reproduce_identified_files(cli, tmp_path, case, length, shard_size):
    result = cli("prepare", "--input", REFERENCE / f"{case}.fa", "--outdir", tmp_path, "--chunk-size", length,
                 "--shard-size", shard_size)  # fmt: skip
    assert result.code == 0, result.stderr
    fna, faa = concatenated_shards(tmp_path, case)
    assert fna == (REFERENCE / f"{case}.chunked{length}.identified_nucleotide.fa").read_bytes()
    assert faa == (REFERENCE / f"{case}.chunked{length}.identified_protein.faa").read_bytes()
    manifest = read_manifest(tmp_path, case)
    counts = [int(row["n_sequences"]) for row in manifest]
    assert all(0 < c <= shard_size for c in counts)
    assert sum(counts) == fna.count(b">")
    assert [row["shard_id"] for row in manifest] == [f"shard_{i:05d}" for i in range(1, len(manifest) + 1)]
    residues = sum(len(line) for line in faa.splitlines() if not line.startswith(b">"))
    assert sum(int(row["n_residues"]) for row in manifest) == residues


@pytest.mark.parametrize("length", [300, 500])
@pytest.mark.parametrize("case", CLEAN_CASES)
def test_chunks_table_reproduces_every_chunk(cli, tmp_path, case, length):
    assert cli("prepare", "--input", REFERENCE / f"{case}.fa", "--outdir", tmp_path, "--chunk-size", length).code == 0
    rows = read_chunks_table(tmp_path, case)
    reference = read_one_line_fasta(REFERENCE / f"{case}.chunked{length}.fa")
    assert [row["chunk_id"] for row in rows] == [chunk_id for chunk_id, _ in reference]
    sequences = input_sequences(case)
    identified = {line[1:] for line in (REFERENCE / f"{case}.chunked{length}.identified_protein.faa").read_text().split()
                  if line.startswith(">")}  # fmt: skip
    for row, (_, chunk) in zip(rows, reference, strict=True):
        start, end = int(row["start"]), int(row["end"])
        assert sequences[row["contig_id"]][start:end] == chunk
        assert int(row["length"]) == end - start == len(chunk)
        frames = row["frames"].split(",") if row["frames"] else []
        assert frames == [s for s in ("F1", "F2", "F3", "R1", "R2", "R3") if row["chunk_id"] + s in identified]


@pytest.mark.parametrize("length", [300, 500])
def test_empty_record_is_skipped_and_reported(cli, tmp_path, length):
    result = cli("prepare", "--input", REFERENCE / "s05_empty_record.fa", "--outdir", tmp_path, "--chunk-size", length)
    assert result.code == 0, result.stderr
    rows = read_chunks_table(tmp_path, "s05_empty_record")
    partial = read_one_line_fasta(REFERENCE / f"s05_empty_record.chunked{length}.partial.fa")
    assert [row["chunk_id"] for row in rows] == [chunk_id for chunk_id, _ in partial]
    summary = json.loads((tmp_path / "s05_empty_record.prepare.json").read_text())
    assert summary["records"] == 2
    assert summary["empty_records_skipped"] == 1
    assert summary["warnings"] == ["s05_empty_record.fa: record 2 (ID 'empty_seq'): empty sequence, skipped"]
    assert "record 2 (ID 'empty_seq'): empty sequence, skipped" in result.stderr


@pytest.mark.parametrize("length", [300, 500])
def test_headers_and_duplicates_case(cli, tmp_path, length):
    """s04 repeats an ID: we refuse it; without the repeat the output equals the reference up to that record."""
    source = REFERENCE / "s04_headers_duplicates.fa"
    refused = cli("prepare", "--input", source, "--outdir", tmp_path / "refused", "--chunk-size", length)
    assert refused.code == 1
    assert refused.stderr == (
        f"virnucpro prepare: error: {source}: record 11 (ID 'same_id'): duplicate ID (first used by record 9)\n"
    )
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
    text = source.read_text()
    without_repeat = tmp_path / "s04.fa"
    without_repeat.write_text(text[: text.rindex(">same_id")])
    assert cli("prepare", "--input", without_repeat, "--outdir", tmp_path / "ok", "--chunk-size", length).code == 0
    fna, faa = concatenated_shards(tmp_path / "ok", "s04")
    for produced, name in ((fna, "identified_nucleotide.fa"), (faa, "identified_protein.faa")):
        lines = (REFERENCE / f"s04_headers_duplicates.chunked{length}.{name}").read_bytes().splitlines(keepends=True)
        while lines[-2].startswith(b">same_id_chunk"):  # drop the repeated record's frames (it comes last)
            del lines[-2:]
        assert produced == b"".join(lines)
