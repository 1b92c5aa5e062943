"""Fuzzing the readers of untrusted files: FASTA, the TSV tables, the features (.pt) files (issue 13).

Each reader either returns a valid result or raises `InputError` (one clear line); any other exception is a
defect. The FASTA reader is also compared with Biopython's parser, which the original tool used, on generated
files with every kind of line end. A brief run here (VIRNUCPRO_FUZZ_EXAMPLES, default 60 per target);
`python bench/fuzz.py` runs the same targets much longer."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virnucpro.errors import InputError

EXAMPLES = int(os.environ.get("VIRNUCPRO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                derandomize=EXAMPLES <= 100)  # fmt: skip
# bytes that matter to the readers, and some that should never get through
ALPHABET = b"ACGTNXacgtnx*->\r\n\t \x00\xef\xbb\xbf\xff\x1f\x8bBZhPK\"'|:#0123456789.e-+"


def fuzz_bytes(max_size: int = 400):
    pieces = st.lists(st.sampled_from([bytes([b]) for b in ALPHABET]) | st.binary(max_size=6), max_size=max_size)
    return pieces.map(b"".join)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@FUZZ
@given(data=fuzz_bytes())
def test_fasta_reader_returns_records_or_one_error(tmp_path, data):
    from virnucpro.fasta import check_nucleotides, read_fasta

    path = write(tmp_path, "x.fa", data)
    try:
        for record in read_fasta(path):
            assert isinstance(record.id, str) and isinstance(record.sequence, bytes)
            assert b"\n" not in record.sequence and b"\r" not in record.sequence
            check_nucleotides(record, path)
    except InputError as exc:
        assert "\n" not in str(exc)


records = st.lists(
    st.tuples(
        st.text(alphabet="abcXYZ_|.:-0189", min_size=0, max_size=8),  # an ID (may be empty, like a bare '>')
        st.text(alphabet=" \x0b", max_size=2),  # whitespace between the ID and a description
        st.text(alphabet="desc ription=,;", max_size=12),
        st.lists(st.text(alphabet="ACGTNRYacgtn -.", min_size=0, max_size=30), max_size=5),  # sequence lines
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(records=records, ends=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=4),
       bom=st.booleans(), blank=st.booleans())  # fmt: skip
def test_fasta_reader_agrees_with_biopython(tmp_path, records, ends, bom, blank):
    """The original read FASTA with Biopython in text mode: LF, CRLF and CR all end lines."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    from virnucpro.fasta import read_fasta

    rng = random.Random(len(records))
    lines = [""] if blank else []
    for record_id, gap, description, sequence_lines in records:
        lines.append(f">{record_id}{gap}{description}")
        lines.extend(sequence_lines)
    text = "".join(line + rng.choice(ends) for line in lines)
    path = write(tmp_path, "x.fa", (b"\xef\xbb\xbf" if bom else b"") + text.encode())
    expected = [(title.split(None, 1)[0] if title.split() else "", seq) for title, seq in
                SimpleFastaParser(io.StringIO(text, newline=None))]  # fmt: skip
    got = [(r.id, r.sequence.decode()) for r in read_fasta(path)]
    assert got == expected


@FUZZ
@given(data=fuzz_bytes(), compression=st.sampled_from(["gzip", "bz2", "lzma"]), cut=st.floats(0, 1))
def test_compressed_fasta_damaged_anywhere(tmp_path, data, compression, cut):
    import bz2
    import gzip
    import lzma

    from virnucpro.fasta import read_fasta

    packed = {"gzip": gzip, "bz2": bz2, "lzma": lzma}[compression].compress(b">a\nACGT\n" + data)
    damaged = packed[: int(len(packed) * cut)] + packed[int(len(packed) * cut) + 1 :]
    path = write(tmp_path, "x.fa.z", damaged)
    try:
        list(read_fasta(path))
    except InputError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(data=fuzz_bytes(600), which=st.sampled_from(["chunks", "predictions", "manifest"]))
def test_table_readers_return_tables_or_one_error(tmp_path, data, which):
    from virnucpro.prepare import CHUNKS_HEADER, MANIFEST_HEADER
    from virnucpro.report import PREDICTIONS_HEADER, ReportSummary, add_predictions, read_chunks
    from virnucpro.run import RunLayout

    headers = {"chunks": CHUNKS_HEADER, "predictions": PREDICTIONS_HEADER, "manifest": MANIFEST_HEADER}
    content = (headers[which].encode() if data[:1] != b"!" else b"") + data
    try:
        if which == "chunks":
            read_chunks(write(tmp_path, "x.chunks.tsv", content))
        elif which == "predictions":
            chunks = read_chunks(
                write(tmp_path, "c.chunks.tsv", CHUNKS_HEADER.encode() + b"a_chunk_1\ta\t0\t9\t9\tF1,R2\n")
            )[1]
            add_predictions(write(tmp_path, "p.tsv", content), chunks, ReportSummary("x"))
        else:
            layout = RunLayout(tmp_path, "demo")
            layout.prepared.outdir.mkdir(parents=True, exist_ok=True)
            layout.prepared.manifest.write_bytes(content)
            for shard in layout.shards():
                assert shard.fna.parent == layout.prepared.outdir and shard.fna.name.startswith("demo.shard_")
    except InputError as exc:
        assert "\n" not in str(exc)


@pytest.fixture(scope="module")
def valid_features(tmp_path_factory) -> bytes:
    from virnucpro.features import save_features

    path = tmp_path_factory.mktemp("features") / "f.pt"
    save_features(path, ["a_chunk_1F1", "a_chunk_1R2", "b_chunk_1F3"], torch.randn(3, 4), "ESM-2")
    return path.read_bytes()


@FUZZ
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.none() | st.floats(0, 1))  # fmt: skip
def test_features_reader_on_damaged_files(tmp_path, valid_features, edits, cut):
    from virnucpro.features import file_kind, load_features

    data = bytearray(valid_features)
    for where, value in edits:
        data[int(where * (len(data) - 1))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = write(tmp_path, "f.pt", bytes(data))
    try:
        ids, rows = load_features(path)
        assert len(ids) == rows.shape[0] and rows.dtype == torch.float32
        file_kind(path)
    except InputError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(data=fuzz_bytes(300))
def test_features_reader_on_foreign_bytes(tmp_path, data):
    from virnucpro.features import load_features

    try:
        load_features(write(tmp_path, "f.pt", data))
    except InputError as exc:
        assert "\n" not in str(exc)
