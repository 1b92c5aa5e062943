"""Streaming FASTA reading (plain or gzip) with the original tool's record rules, and one-line FASTA writing.

Record rules follow Biopython's 'fasta' parser as the original tool used it: the ID is the first
whitespace-delimited word of the header (a bare '>' gives the ID ''), sequence lines are joined with
spaces, tabs and line ends removed, CRLF is accepted. Problems raise `InputError` naming file, record and cause.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from virnucpro.errors import InputError, record_error

GZIP_MAGIC = b"\x1f\x8b"
SEQUENCE_WHITESPACE = b" \t\r\n"
# IUPAC nucleotide codes (and U), either case, plus the gap characters '-' and '.'
NUCLEOTIDE_LETTERS = b"ACGTURYSWKMBDHVNacgturyswkmbdhvn-."
# the 20 standard amino acids, the IUPAC ambiguity codes B Z J X, U (Sec), O (Pyl)
PROTEIN_LETTERS = b"ACDEFGHIKLMNPQRSTVWYBZJXUO"


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


def _lines(handle: BinaryIO, path: Path) -> Iterator[bytes]:
    """Lines of a (possibly compressed) file; decompression and read errors become `InputError`."""
    try:
        yield from handle
    except EOFError:
        raise InputError(
            f"{path}: the gzip stream is truncated (the file ends before the compressed data does)"
        ) from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{path}: corrupt gzip data ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: read error ({exc.strerror or exc})") from None


def _before_first_header(line: bytes, line_number: int, path: Path) -> InputError:
    if b"\x00" in line:
        return InputError(f"{path}: binary data, not a FASTA file")
    if line.startswith(b"@"):
        return InputError(f"{path}: line {line_number} starts with '@': this looks like FASTQ, expected FASTA")
    return InputError(f"{path}: line {line_number}: text before the first FASTA header (a FASTA file starts with '>')")


def _record_id(header: bytes, number: int, path: Path) -> str:
    try:
        title = header[1:].decode("utf-8").rstrip()
    except UnicodeDecodeError:
        raise record_error(path, number, header[1:40].decode("utf-8", "replace"), "header is not UTF-8 text") from None
    words = title.split(None, 1)
    return words[0] if words else ""


def read_fasta(path: str | Path) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA or FASTA.gz file one at a time (memory holds one record)."""
    path = Path(path)
    with open_binary(path) as handle:
        number = 0
        record_id: str | None = None
        parts: list[bytes] = []
        for line_number, line in enumerate(_lines(handle, path), start=1):
            if line.startswith(b">"):
                if record_id is not None:
                    yield FastaRecord(number, record_id, b"".join(parts).translate(None, SEQUENCE_WHITESPACE))
                number += 1
                record_id = _record_id(line, number, path)
                parts = []
            elif record_id is not None:
                parts.append(line)
            elif line.strip():
                raise _before_first_header(line, line_number, path)
        if record_id is None:
            raise InputError(f"{path}: no FASTA records (the file is empty or has no '>' header)")
        yield FastaRecord(number, record_id, b"".join(parts).translate(None, SEQUENCE_WHITESPACE))


def check_letters(record: FastaRecord, path: str | Path, allowed: bytes, kind: str) -> None:
    """Raise `InputError` at the first character of `record` that is not in `allowed`."""
    leftover = record.sequence.translate(None, allowed)
    if not leftover:
        return
    bad = leftover[:1]
    position = record.sequence.index(bad) + 1
    shown = bad.decode("latin-1")
    problem = f"invalid character {shown!r} at position {position}: not {kind}"
    if kind.startswith("an IUPAC nucleotide") and not record.sequence.upper().translate(None, PROTEIN_LETTERS):
        problem += " (this looks like a protein sequence; the input must be DNA)"
    raise record_error(path, record.number, record.id, problem)


def check_nucleotides(record: FastaRecord, path: str | Path) -> None:
    """Accept IUPAC nucleotide codes, U, gaps ('-', '.') in either case; reject anything else (e.g. protein)."""
    check_letters(record, path, NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code")


def format_record(record_id: str, sequence: str) -> str:
    """A one-line FASTA record, as the original tool writes its identified files."""
    return f">{record_id}\n{sequence}\n"
