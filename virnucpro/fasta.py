"""Streaming FASTA reading (plain or gzip) with the original tool's record rules, and one-line FASTA writing.

Record rules follow Biopython's 'fasta' parser as the original tool used it: the ID is the first
whitespace-delimited word of the header (a bare '>' gives the ID ''), sequence lines are joined with
spaces, tabs and line ends removed, CRLF is accepted. Problems raise `InputError` naming file, record and cause.
"""

from __future__ import annotations

import gzip
import io
import itertools
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from virnucpro.errors import InputError, record_error

GZIP_MAGIC = b"\x1f\x8b"
BLOCK_SIZE = 1 << 22  # bytes read at a time
TRUNCATED_GZIP = "the gzip stream is truncated (the file ends before the compressed data does)"
SEQUENCE_WHITESPACE = b" \t\r\n"
# IUPAC nucleotide codes (and U), either case, plus the gap characters '-' and '.'
NUCLEOTIDE_LETTERS = b"ACGTURYSWKMBDHVNacgturyswkmbdhvn-."
# the 20 standard amino acids, the IUPAC ambiguity codes B Z J X, U (Sec), O (Pyl)
PROTEIN_LETTERS = b"ACDEFGHIKLMNPQRSTVWYBZJXUO"
PROTEIN_ONLY_LETTERS = b"EFILPQJOZ"  # amino-acid codes that are no nucleotide code: they mark a protein


@dataclass(frozen=True, slots=True)
class FastaRecord:
    """One FASTA record: 1-based position in the file, ID (first word of the header) and sequence bytes."""

    number: int
    id: str
    sequence: bytes


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file for buffered binary reading, decompressing gzip (detected by its magic bytes)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a FASTA file")
    try:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 20)
    return raw


def _blocks(handle: BinaryIO, path: Path, size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Blocks of a (possibly compressed) file; decompression and read errors become `InputError`."""
    try:
        while block := handle.read(size):
            yield block
    except EOFError:
        raise InputError(
            f"{path}: the gzip stream is truncated (the file ends before the compressed data does)"
        ) from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{path}: corrupt gzip data ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: read error ({exc.strerror or exc})") from None


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
    try:
        title = header[1:].decode("utf-8")
    except UnicodeDecodeError:
        shown = header[1:].decode("utf-8", "replace").split(None, 1)
        raise record_error(path, number, shown[0] if shown else "", "header is not UTF-8 text") from None
    words = title.split(None, 1)  # split(None) also drops leading and trailing whitespace, as Biopython's id does
    return words[0] if words else ""


def read_fasta(path: str | Path) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA or FASTA.gz file one at a time (memory holds one record)."""
    path = Path(path)
    with open_binary(path) as handle:
        for number, raw in enumerate(_raw_records(_blocks(handle, path), path), start=1):
            header, _, body = raw.partition(b"\n")
            yield FastaRecord(number, _record_id(header, number, path), _join_lines(body))


def _join_lines(body: bytes) -> bytes:
    """Sequence lines joined, with spaces, tabs and carriage returns removed (a fast path for plain LF files)."""
    if b"\r" in body or b" " in body or b"\t" in body:
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
    """Accept IUPAC nucleotide codes, U, gaps ('-', '.') in either case; reject anything else (e.g. protein)."""
    check_letters(record, path, NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code")


def format_record(record_id: str, sequence: str) -> str:
    """A one-line FASTA record, as the original tool writes its identified files."""
    return f">{record_id}\n{sequence}\n"
