"""The fast chunking and translation agree with a plain implementation of the rules on edge cases and random input."""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REFERENCE
from tests.prepare_helpers import reference_prepare
from virnucpro.chunking import chunk_bounds
from virnucpro.fasta import FastaRecord
from virnucpro.prepare import chunk_batches
from virnucpro.translate import kept_frames, reverse_complement


def fast_prepare(records: list[tuple[str, str]], size: int, batch_size: int = 3):
    """Our chunking and translation, in the shape reference_prepare yields (small batches to cross boundaries)."""
    fasta = [FastaRecord(i, rid, seq.encode()) for i, (rid, seq) in enumerate(records, start=1)]
    originals = dict(records)
    for batch in chunk_batches(fasta, size, batch_size):
        kept = kept_frames(batch.sequences)
        for chunk_id, contig, start, end, frames in zip(
            batch.ids, batch.contigs, batch.starts, batch.ends, kept, strict=True
        ):
            text = originals[contig][start:end]
            yield chunk_id, start, end, text, [(f.name, f.nucleotide.decode(), f.protein.decode()) for f in frames]


def test_chunk_boundaries_table():
    with open(REFERENCE / "chunk_boundaries.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 160
    for row in rows:
        starts, ends = chunk_bounds(int(row["n"]), int(row["L"]))
        assert starts.tolist() == [int(x) for x in row["starts_0based"].split(",")]
        assert (ends - starts).tolist() == [int(x) for x in row["lengths"].split(",")]
        assert int(row["num_chunks"]) == len(starts)


def test_original_identify_seq_cases():
    """unit_cases.expected.json: the original's identify_seq on upper-cased sequences, empty proteins dropped."""
    cases = json.loads((REFERENCE / "unit_cases.expected.json").read_text())
    for case in cases:
        expected = [(d["seqid"][1:], d["nucleotide"], d["protein"]) for d in case["identify_seq_upper"] if d["protein"]]
        got = [
            (f.name, f.nucleotide.decode(), f.protein.decode())
            for f in kept_frames([case["sequence"].upper().encode()])[0]
        ]
        assert got == expected, case["sequence"]
        if case["sequence"] == case["sequence"].upper():
            assert reverse_complement(case["sequence"].encode()).decode() == case["reverse_complement"]


@pytest.mark.parametrize("size", [300, 500])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 299, 300, 301, 499, 500, 501, 599, 600, 601, 1001, 1234, 5000])
def test_edge_lengths(n, size):
    import random

    rng = random.Random(n * 7 + size)
    for alphabet in ("ACGT", "ACGTN", "ACGTRYKMSWBDHVNU", "acgtn", "AAAC"):
        sequence = "".join(rng.choice(alphabet) for _ in range(n))
        records = [("contig", sequence)]
        assert list(fast_prepare(records, size)) == list(reference_prepare(records, size))


def test_ambiguous_codons_are_skipped_not_translated():
    """ATG NNN AAA: F1 protein MK, nucleotide ATGNNNA (the slice does not know about the skipped codon)."""
    [frames] = kept_frames([b"ATGNNNAAA"])
    assert frames == [("F1", b"ATGNNNA", b"MK"), ("R1", b"TTTNNNC", b"FH")]


def test_lowercase_and_u_translate_like_the_original():
    lower = list(fast_prepare([("x", "atgaaacccuuugggaaa")], 500))
    upper = list(reference_prepare([("x", "ATGAAACCCUUUGGGAAA")], 500))
    assert [c[4] for c in lower] == [c[4] for c in upper]
    assert lower[0][3] == "atgaaacccuuugggaaa"  # coordinates refer to the input as written


sequences = st.text(alphabet=st.sampled_from("ACGTACGTACGTNRYUacgtn"), min_size=1, max_size=1300)


@settings(max_examples=300, deadline=None)
@given(records=st.lists(sequences, min_size=1, max_size=5), size=st.sampled_from([3, 7, 10, 100, 300, 500]))
def test_fast_equals_plain_rules(records, size):
    named = [(f"r{i}", seq) for i, seq in enumerate(records)]
    assert list(fast_prepare(named, size)) == list(reference_prepare(named, size))


@settings(max_examples=200, deadline=None)
@given(sequence=st.text(alphabet=st.sampled_from("ACGT"), min_size=3, max_size=120))
def test_fast_equals_plain_rules_on_open_frames(sequence):
    """Sequences without stop codons in some frames exercise the kept-frame path much more than random ones."""
    open_frame = sequence.replace("TAA", "TAC").replace("TAG", "TAC").replace("TGA", "TGC")
    named = [("orf", open_frame)]
    assert list(fast_prepare(named, 500)) == list(reference_prepare(named, 500))
