"""Bad input: one line on stderr naming file, record and problem; non-zero exit; nothing left behind."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

GOOD = ">a\nACGTACGTAC\n>b\nAAAGGGCCC\n"


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def assert_nothing_left(outdir: Path) -> None:
    assert not outdir.exists() or list(outdir.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.fa", b"", "{p}: no FASTA records (the file is empty or has no '>' header)"),
        ("binary.fa", b"\x00\x01\x02binary\xff\n", "{p}: binary data, not a FASTA file"),
        ("notes.fa", b"sample notes\n>a\nACGT\n", "{p}: line 1: text before the first FASTA header (a FASTA file starts with '>')"),
        ("reads.fq", b"@r1\nACGT\n+\nIIII\n", "{p}: line 1 starts with '@': this looks like FASTQ, expected FASTA"),
        ("protein.fa", b">p1 some protein\nMKTAYIAKQRQISFVKSHFSRQ\n",
         "{p}: record 1 (ID 'p1'): invalid character 'I' at position 6: not an IUPAC nucleotide code "
         "(this looks like a protein sequence; the input must be DNA)"),
        ("digits.fa", b">a\nACGT\n>b x\nACG7T\n",
         "{p}: record 2 (ID 'b'): invalid character '7' at position 4: not an IUPAC nucleotide code"),
        ("stars.fa", b">a\nACGT*ACGT\n", "{p}: record 1 (ID 'a'): invalid character '*' at position 5: not an IUPAC nucleotide code"),
        ("headers.fa", b">a\n>b desc\n\n>c\n", "{p}: all 3 record(s) are empty (headers without sequence): nothing to analyse"),
        ("quote.fa", b'>"open quote\nACGT\n', "{p}: record 1 (ID '\"open'): the ID opens a '\"' it never closes: the "
         "original's consensus (pandas) would read on across lines; rename the sequence"),
        ("nul.fa", b">a\x00b\nACGT\n", "{p}: record 1 (ID 'a'): the header holds a NUL byte (binary data)"),
        ("x.fa.zst", b"\x28\xb5\x2f\xfd\x00\x58", "{p}: zstd-compressed, which is not read directly; convert it with: zstd -dc FILE | gzip > FILE.gz"),
        ("x.zip", b"PK\x03\x04\x14\x00", "{p}: a zip archive, which is not read directly; convert it with: unzip -p FILE | gzip > FILE.gz"),
        ("dups.fa", b">a first\nACGT\n>b\nACGT\n>a second\nACGT\n",
         "{p}: record 3 (ID 'a'): duplicate ID (first used by record 1)"),
        ("header.fa", b">\xff\xfe bad\nACGT\n", "{p}: record 1 (ID '\ufffd\ufffd'): header is not UTF-8 text"),
    ],
)  # fmt: skip
def test_bad_fasta(cli, tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    result = cli("prepare", "--input", path, "--outdir", tmp_path / "out")
    assert result.code == 1
    assert result.stderr == f"virnucpro prepare: error: {message.format(p=path)}\n"
    assert_nothing_left(tmp_path / "out")


def test_truncated_gzip(cli, tmp_path):
    data = gzip.compress((GOOD * 2000).encode())
    path = write(tmp_path / "cut.fa.gz", data[: len(data) // 2])
    result = cli("prepare", "--input", path, "--outdir", tmp_path / "out")
    assert result.code == 1
    assert result.stderr == (
        f"virnucpro prepare: error: {path}: the gzip stream is truncated (the file ends before the compressed data does)\n"
    )
    assert_nothing_left(tmp_path / "out")


def test_error_late_in_the_input_leaves_nothing_and_keeps_earlier_outputs(cli, tmp_path):
    """A bad record after many good ones: no shard, manifest or staging directory appears."""
    path = write(tmp_path / "late.fa", "".join(f">r{i}\nATGAAACCCGGGTTT\n" for i in range(5000)) + ">bad\nACGU?\n")
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "keep.txt").write_text("user file")
    result = cli("prepare", "--input", path, "--outdir", outdir, "--shard-size", "100")
    assert result.code == 1
    assert "record 5001 (ID 'bad'): invalid character '?' at position 5" in result.stderr
    assert sorted(p.name for p in outdir.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    ("target", "message"),
    [("missing.fa", "{p}: no such file"), ("adir", "{p}: is a directory, expected a FASTA file")],
)
def test_bad_paths(cli, tmp_path, target, message):
    (tmp_path / "adir").mkdir()
    path = tmp_path / target
    result = cli("prepare", "--input", path, "--outdir", tmp_path / "out")
    assert (result.code, result.stderr) == (1, f"virnucpro prepare: error: {message.format(p=path)}\n")


def test_output_path_that_is_a_file(cli, tmp_path):
    path = write(tmp_path / "in.fa", GOOD)
    blocker = write(tmp_path / "blocker", "")
    result = cli("prepare", "--input", path, "--outdir", blocker)
    assert (result.code, result.stderr) == (
        1,
        f"virnucpro prepare: error: {blocker}: output path exists and is not a directory\n",
    )


def test_output_directory_that_cannot_be_created(cli, tmp_path):
    path = write(tmp_path / "in.fa", GOOD)
    blocker = write(tmp_path / "blocker", "")
    result = cli("prepare", "--input", path, "--outdir", blocker / "sub")
    assert result.code == 1
    assert result.stderr.startswith(
        f"virnucpro prepare: error: {blocker / 'sub'}: output directory cannot be written ("
    )
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [("--chunk-size", "0"), ("--chunk-size", "abc"), ("--shard-size", "-3"), ("--shard-size", "1.5")],
)
def test_invalid_sizes(cli, tmp_path, option, value):
    path = write(tmp_path / "in.fa", GOOD)
    result = cli("prepare", "--input", path, "--outdir", tmp_path / "out", option, value)
    assert result.code == 2
    assert result.stderr == f"virnucpro prepare: error: argument {option}: expected a positive integer, got {value!r}\n"
    assert not (tmp_path / "out").exists()


def test_invalid_sizes_through_the_function(tmp_path):
    from virnucpro.errors import InputError
    from virnucpro.prepare import prepare

    path = write(tmp_path / "in.fa", GOOD)
    with pytest.raises(InputError, match=r"^--shard-size must be a positive integer, got 0$"):
        prepare(path, tmp_path / "out", shard_size=0)
    with pytest.raises(InputError, match=r"^--chunk-size must be a positive integer, got -1$"):
        prepare(path, tmp_path / "out", chunk_size=-1)
