"""Streaming FASTA reading (plain, gzip, bzip2 or xz) with the original tool's record rules, and one-line writing.

Record rules follow Biopython's 'fasta' parser as the original tool used it: the ID is the first
whitespace-delimited word of the header (a bare '>' gives the ID ''), sequence lines are joined with
spaces and tabs removed. Line ends are read as Python's text mode (which Biopython used) reads them: LF, CRLF
and a lone CR (old Mac files) all end a line. A UTF-8 byte-order mark at the start is skipped. Problems raise
`InputError` naming file, record and cause; compressions we do not read (zstd, zip, ...) are named, with the
command that converts them.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import itertools
import lzma
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from virnucpro.errors import InputError, record_error

BLOCK_SIZE = 1 << 22  # bytes read at a time
UTF8_BOM = b"\xef\xbb\xbf"
# compressed formats read through the standard library: magic bytes -> (name, opener)
READABLE_COMPRESSIONS = {
    b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    b"BZh": ("bzip2", lambda raw: bz2.BZ2File(raw, mode="rb")),
    b"\xfd7zXZ\x00": ("xz", lambda raw: lzma.LZMAFile(raw, mode="rb")),  # noqa: SIM115 - closed by the caller
}
# formats we recognise but do not read: magic bytes -> (name, how to convert)
UNREADABLE_COMPRESSIONS = {
    b"\x28\xb5\x2f\xfd": ("zstd-compressed", "zstd -dc FILE | gzip > FILE.gz"),
    b"\x04\x22\x4d\x18": ("lz4-compressed", "lz4 -dc FILE | gzip > FILE.gz"),
    b"PK\x03\x04": ("a zip archive", "unzip -p FILE | gzip > FILE.gz"),
    b"7z\xbc\xaf\x27\x1c": ("a 7-Zip archive", "7z x -so FILE | gzip > FILE.gz"),
}
COMPRESSED_SUFFIXES = (".gz", ".bgz", ".bz2", ".xz")  # stripped from the input name for the default prefix
SEQUENCE_WHITESPACE = b" \t\n"  # line ends are LF by the time sequence lines are joined
# IUPAC nucleotide codes (and U), either case, the gap characters '-' and '.', and X (a masked base, as
# RepeatMasker -x writes it): the original skips every codon that holds anything but A, C, G, T
NUCLEOTIDE_LETTERS = b"ACGTURYSWKMBDHVNXacgturyswkmbdhvnx-."
# the 20 standard amino acids, the IUPAC ambiguity codes B Z J X, U (Sec), O (Pyl)
PROTEIN_LETTERS = b"ACDEFGHIKLMNPQRSTVWYBZJXUO"
PROTEIN_ONLY_LETTERS = b"EFILPQJOZ"  # amino-acid codes that are no nucleotide code: they mark a protein


@dataclass(frozen=True, slots=True)
class FastaRecord:
    """One FASTA record: 1-based position in the file, ID (first word of the header) and sequence bytes."""

    number: int
    id: str
    sequence: bytes


def open_binary(path: str | Path) -> tuple[BinaryIO, str]:
    """Open a file for buffered binary reading, decompressing gzip, bzip2 or xz (detected by their magic bytes).

    Returns the handle and the name of the compression ('' for a plain file).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a FASTA file")
    try:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
        head = raw.peek(8)[:8]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    for magic, (name, convert) in UNREADABLE_COMPRESSIONS.items():
        if head.startswith(magic):
            raw.close()
            raise InputError(f"{path}: {name}, which is not read directly; convert it with: {convert}")
    for magic, (name, opener) in READABLE_COMPRESSIONS.items():
        if head.startswith(magic):
            return io.BufferedReader(opener(raw), buffer_size=1 << 20), name
    return raw, ""


@contextlib.contextmanager
def read_errors(path: Path, compression: str = "") -> Iterator[None]:
    """Read and decompression errors of a file opened by `open_binary`, as one-line `InputError`s."""
    kind = compression or "file"
    try:
        yield
    except EOFError:
        raise InputError(
            f"{path}: the {kind} stream is truncated (the file ends before the compressed data does)"
        ) from None
    except (gzip.BadGzipFile, zlib.error, lzma.LZMAError) as exc:
        raise InputError(f"{path}: corrupt {kind} data ({exc})") from None
    except OSError as exc:
        if compression and not exc.errno:  # bz2 reports bad data as a plain OSError
            raise InputError(f"{path}: corrupt {kind} data ({exc})") from None
        raise InputError(f"{path}: read error ({exc.strerror or exc})") from None


def _blocks(handle: BinaryIO, path: Path, compression: str = "", size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Blocks of a (possibly compressed) file with every line end turned into LF, a leading UTF-8 BOM dropped.

    Decompression and read errors become `InputError`.
    """
    carry = b""  # a CR at the end of a block: whether it is half of a CRLF shows in the next block
    first = True
    with read_errors(path, compression):
        while block := handle.read(size):
            if first:
                block, first = block.removeprefix(UTF8_BOM), False
            block = carry + block
            carry = b""
            if block.endswith(b"\r"):
                block, carry = block[:-1], b"\r"
            if b"\r" in block:
                block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if block:
                yield block
    if carry:
        yield b"\n"


def _raw_records(blocks: Iterable[bytes], path: Path) -> Iterator[bytes]:
    """The text of each record, from its '>' to just before the next line that starts with '>'.

    Works on large blocks instead of lines (wrapped FASTA has tens of millions of short lines); a record
    longer than a block is assembled from pieces in linear time.
    """
    pieces: list[bytes] | None = None  # the current record's pieces; None before the first header
    preamble_lines = 0
    after_newline = True  # the file start counts as a line start
    for block in blocks:
        starts = [i + 1 for i in _find_all(block, b"\n>")]
        if after_newline and block.startswith(b">"):
            starts.insert(0, 0)
        after_newline = block.endswith(b"\n")
        edges = [*starts, len(block)]
        head = block[: edges[0]]
        if pieces is None:
            _check_preamble(head, preamble_lines, path)
            preamble_lines += head.count(b"\n")
        elif head:
            pieces.append(head)
        for begin, end in itertools.pairwise(edges):
            if pieces is not None:
                yield b"".join(pieces)
            pieces = [block[begin:end]]
    if pieces is None:
        raise InputError(f"{path}: no FASTA records (the file is empty or has no '>' header)")
    yield b"".join(pieces)


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    position = data.find(needle)
    while position >= 0:
        yield position
        position = data.find(needle, position + 1)


def _check_preamble(text: bytes, lines_before: int, path: Path) -> None:
    """Only blank lines may come before the first header."""
    for line_number, line in enumerate(text.splitlines(), start=lines_before + 1):
        if line.strip():
            raise _before_first_header(line, line_number, path)


def _before_first_header(line: bytes, line_number: int, path: Path) -> InputError:
    if b"\x00" in line:
        return InputError(f"{path}: binary data, not a FASTA file")
    if line.startswith(b"@"):
        return InputError(f"{path}: line {line_number} starts with '@': this looks like FASTQ, expected FASTA")
    return InputError(f"{path}: line {line_number}: text before the first FASTA header (a FASTA file starts with '>')")


def _record_id(header: bytes, number: int, path: Path) -> str:
    if b"\x00" in header:
        shown = header[1:].split(b"\x00", 1)[0].decode("utf-8", "replace").split(None, 1)
        raise record_error(path, number, shown[0] if shown else "", "the header holds a NUL byte (binary data)")
    try:
        title = header[1:].decode("utf-8")
    except UnicodeDecodeError:
        shown = header[1:].decode("utf-8", "replace").split(None, 1)
        raise record_error(path, number, shown[0] if shown else "", "header is not UTF-8 text") from None
    words = title.split(None, 1)  # split(None) also drops leading and trailing whitespace, as Biopython's id does
    return words[0] if words else ""


def read_fasta(path: str | Path) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file (plain or compressed) one at a time (memory holds one record)."""
    path = Path(path)
    handle, compression = open_binary(path)
    with handle:
        for number, raw in enumerate(_raw_records(_blocks(handle, path, compression), path), start=1):
            header, _, body = raw.partition(b"\n")
            yield FastaRecord(number, _record_id(header, number, path), _join_lines(body))


def _join_lines(body: bytes) -> bytes:
    """Sequence lines joined, with spaces and tabs removed (a fast path for lines without them)."""
    if b" " in body or b"\t" in body:
        return body.translate(None, SEQUENCE_WHITESPACE)
    return body.replace(b"\n", b"")


def check_letters(record: FastaRecord, path: str | Path, allowed: bytes, kind: str) -> None:
    """Raise `InputError` at the first character of `record` that is not in `allowed`."""
    leftover = record.sequence.translate(None, allowed)
    if not leftover:
        return
    bad = leftover[:1]
    position = record.sequence.index(bad) + 1
    shown = bad.decode("latin-1")
    problem = f"invalid character {shown!r} at position {position}: not {kind}"
    upper = record.sequence.upper()
    if allowed is NUCLEOTIDE_LETTERS and not upper.translate(None, PROTEIN_LETTERS) and looks_like_protein(upper):
        problem += " (this looks like a protein sequence; the input must be DNA)"
    raise record_error(path, record.number, record.id, problem)


def looks_like_protein(sequence: bytes) -> bool:
    """True when an upper-case sequence holds amino-acid codes that no nucleotide alphabet uses."""
    return len(sequence.translate(None, PROTEIN_ONLY_LETTERS)) < len(sequence)


def check_nucleotides(record: FastaRecord, path: str | Path) -> None:
    """Accept IUPAC nucleotide codes, U, X (masked), gaps ('-', '.') in either case; reject anything else."""
    check_letters(record, path, NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code")


def format_record(record_id: str, sequence: str) -> str:
    """A one-line FASTA record, as the original tool writes its identified files."""
    return f">{record_id}\n{sequence}\n"
