"""prepare's accepted input variants, output layout, atomic publishing, streaming and progress."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REFERENCE, ROOT, run_bin
from tests.prepare_helpers import concatenated_shards, read_chunks_table, read_manifest, reference_prepare
from virnucpro.prepare import default_prefix
from virnucpro.progress import Progress

CASE = REFERENCE / "s02_open_frames.fa"


def run_prepare(cli, source: Path, outdir: Path, *extra: object) -> None:
    result = cli("prepare", "--input", source, "--outdir", outdir, *extra)
    assert result.code == 0, result.stderr


def outputs(outdir: Path, prefix: str) -> dict[str, bytes]:
    return {p.name.removeprefix(prefix): p.read_bytes() for p in sorted(outdir.iterdir())}


def test_variants_of_the_same_input_give_identical_outputs(cli, tmp_path):
    """CRLF, CR-only (old Mac) and mixed line ends, a UTF-8 BOM, lowercase, wrapped lines, descriptions, blank lines,
    gzip, bzip2 and xz change nothing (the original read line ends in text mode, which splits at a lone CR too)."""
    text = CASE.read_text()
    run_prepare(cli, CASE, tmp_path / "plain")
    expected = outputs(tmp_path / "plain", "s02_open_frames")
    records = [block.split("\n", 1) for block in text.split(">")[1:]]
    wrapped = "".join(
        f">{header} some description\twith a tab\r\n"
        + "".join(seq.replace("\n", "").lower()[i : i + 37] + "\r\n" for i in range(0, len(seq), 37))
        + "\r\n"
        for header, seq in records
    )
    variants = {
        "crlf_wrapped_lower.fasta": wrapped.encode(),
        "cr_only.fa": wrapped.replace("\r\n", "\r").encode(),
        "mixed.fa": wrapped.replace("\r\n", "\r", 7).replace("\r\n", "\n", 5).encode(),
        "bom.fa": b"\xef\xbb\xbf" + text.encode(),
        "gz.fa.gz": gzip.compress(text.encode()),
        "bz.fa.bz2": bz2.compress(b"\xef\xbb\xbf" + wrapped.replace("\r\n", "\r").encode()),
        "xz.fa.xz": lzma.compress(text.encode()),
    }
    for name, content in variants.items():
        source = tmp_path / name
        source.write_bytes(content)
        run_prepare(cli, source, tmp_path / name.split(".")[0], "--prefix", "s02_open_frames")
        got = outputs(tmp_path / name.split(".")[0], "s02_open_frames")
        summary = json.loads(got.pop(".prepare.json"))
        assert summary["input"] == name
        assert {k: v for k, v in got.items()} == {k: v for k, v in expected.items() if k != ".prepare.json"}


def test_cr_at_a_block_boundary(tmp_path):
    """A CR-only file whose line ends fall on the reader's block edges reads like the LF file."""
    from virnucpro.fasta import _blocks, _raw_records

    text = b">a\rACGT\r\n>b\rGG\r\rTT\r"
    for size in range(1, len(text) + 1):
        blocks = _blocks(__import__("io").BytesIO(text), tmp_path, size=size)
        assert b"".join(_raw_records(blocks, tmp_path)) == b">a\nACGT\n>b\nGG\n\nTT\n", size


def test_masked_bases_are_accepted_and_their_codons_skipped(cli, tmp_path):
    """'X' (RepeatMasker -x) behaves as the original treats any non-ACGT letter: its codons add nothing."""
    from virnucpro.translate import kept_frames

    assert kept_frames([b"ATGXXXAAA"])[0][0] == ("F1", b"ATGXXXA", b"MK")
    sequence = "ATGAAAxxxCCCGGGXTTT" * 40 + "ACGTXXXXXXNNNX" * 50
    source = tmp_path / "masked.fa"
    source.write_text(f">m\n{sequence}\n")
    run_prepare(cli, source, tmp_path / "out", "--chunk-size", "300")
    expected = [(f"{chunk_id}{suffix}", dna, protein) for chunk_id, _, _, _, frames in
                reference_prepare([("m", sequence)], 300) for suffix, dna, protein in frames]  # fmt: skip
    fna, faa = (text.decode().split() for text in concatenated_shards(tmp_path / "out", "masked"))
    assert list(zip(fna[::2], fna[1::2], faa[1::2], strict=True)) == [(f">{i}", d, p) for i, d, p in expected]
    assert any("X" in d for _, d, _ in expected)


def test_default_prefix():
    assert default_prefix("/data/sample.fasta.gz") == "sample"
    assert default_prefix("/data/sample.fa.bz2") == "sample"
    assert default_prefix("sample.fna.xz") == "sample"
    assert default_prefix("my.family.fa") == "my.family"
    assert default_prefix("reads.FNA") == "reads"
    assert default_prefix("contigs") == "contigs"


def test_no_kept_frame_gives_valid_empty_outputs(cli, tmp_path):
    source = tmp_path / "stops.fa"
    source.write_text(">a\n" + "TTAG" * 135 + "\n>b\nTTAGTTAGTTAG\n")  # a stop in every frame of every chunk
    result = cli("prepare", "--input", source, "--outdir", tmp_path / "out")
    assert result.code == 0
    assert "no chunk has a stop-free frame" in result.stderr
    assert (tmp_path / "out" / "stops.manifest.tsv").read_text() == "shard_id\tn_sequences\tn_residues\tfna\tfaa\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "stops.chunks.tsv",
        "stops.manifest.tsv",
        "stops.prepare.json",
    ]
    rows = read_chunks_table(tmp_path / "out", "stops")
    assert [(r["chunk_id"], r["start"], r["end"], r["length"], r["frames"]) for r in rows] == [
        ("a_chunk_1", "0", "500", "500", ""),
        ("a_chunk_2", "269", "540", "271", ""),
        ("b_chunk_1", "0", "12", "12", ""),
    ]
    summary = json.loads((tmp_path / "out" / "stops.prepare.json").read_text())
    assert (summary["records"], summary["chunks"], summary["frames"], summary["shards"]) == (2, 3, 0, 0)


def test_summary_counts(cli, tmp_path):
    run_prepare(cli, REFERENCE / "s03_case_and_iupac.fa", tmp_path, "--chunk-size", "300", "--shard-size", "40")
    summary = json.loads((tmp_path / "s03_case_and_iupac.prepare.json").read_text())
    fna, faa = concatenated_shards(tmp_path, "s03_case_and_iupac")
    assert summary["records"] == 9
    assert summary["bases"] == 3581
    assert summary["chunks"] == 17
    assert summary["frames"] == fna.count(b">") == 102
    assert summary["shards"] == 3 == len(read_manifest(tmp_path, "s03_case_and_iupac"))
    assert summary["residues"] == sum(len(x) for x in faa.split(b"\n") if x and not x.startswith(b">"))
    assert summary["warnings"] == []


def test_rerun_with_fewer_shards_removes_stale_shards(cli, tmp_path):
    run_prepare(cli, CASE, tmp_path, "--shard-size", "5")
    assert len(list(tmp_path.glob("*.shard_*.fna"))) == 11
    run_prepare(cli, CASE, tmp_path, "--shard-size", "50")
    assert sorted(p.name for p in tmp_path.glob("*.shard_*")) == [
        "s02_open_frames.shard_00001.faa", "s02_open_frames.shard_00001.fna",
        "s02_open_frames.shard_00002.faa", "s02_open_frames.shard_00002.fna",
    ]  # fmt: skip
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bin_script_behaves_like_the_cli(tmp_path):
    done = run_bin("prepare", "--input", CASE, "--outdir", tmp_path, "--chunk-size", "300")
    assert done.returncode == 0, done.stderr
    fna, _ = concatenated_shards(tmp_path, "s02_open_frames")
    assert fna == (REFERENCE / "s02_open_frames.chunked300.identified_nucleotide.fa").read_bytes()


def peak_rss_mb(source: Path, outdir: Path) -> float:
    code = (
        "import resource, sys; from virnucpro.prepare import prepare; "
        f"prepare({str(source)!r}, {str(outdir)!r}, shard_size=50_000); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    return float(done.stdout)


def test_memory_stays_flat_as_the_input_grows(tmp_path):
    """10x more input must not need noticeably more memory: records stream through, nothing is held whole."""
    import random

    rng = random.Random(1)
    block = "".join(rng.choice("ACGT") for _ in range(100_000))
    for name, records in (("small", 24), ("large", 240)):  # 2.4 MB vs 24 MB of sequence in 100 kb records
        with gzip.open(tmp_path / f"{name}.fa.gz", "wt") as handle:
            for i in range(records):
                handle.write(f">{name}{i}\n{block[i % 7 :]}{block[: i % 7]}\n")
    small = peak_rss_mb(tmp_path / "small.fa.gz", tmp_path / "small")
    large = peak_rss_mb(tmp_path / "large.fa.gz", tmp_path / "large")
    assert large - small < 15, (small, large)


def test_progress_reports_rates_only_when_asked(tmp_path):
    class Sink:
        def __init__(self, tty: bool) -> None:
            self.tty, self.text = tty, ""

        def isatty(self) -> bool:
            return self.tty

        def write(self, text: str) -> None:
            self.text += text

        def flush(self) -> None:
            pass

    quiet = Sink(tty=False)
    progress = Progress("prepare", unit="records", stream=quiet, interval=0)
    progress.update(5, chunks=10)
    progress.close()
    assert quiet.text == ""
    verbose = Sink(tty=False)
    progress = Progress("prepare", unit="records", verbose=True, stream=verbose, interval=0)
    progress.update(5, chunks=10)
    assert (
        verbose.text.startswith("prepare: 5 records (") and "records/s" in verbose.text and "chunks/s" in verbose.text
    )
    terminal = Sink(tty=True)
    progress = Progress("prepare", unit="records", stream=terminal, interval=0)
    progress.update(3)
    progress.close()  # a rich progress line, drawn with terminal control codes, ends with the final counts
    last_frame = terminal.text.rsplit("\r", 1)[-1]
    assert "\x1b[" in terminal.text and last_frame.startswith("\x1b[2Kprepare 3 records (") and "\n" in last_frame
