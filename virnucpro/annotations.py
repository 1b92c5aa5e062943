"""Annotated proteins of a GenBank file (RefSeq `X.genomic.gbff[.gz]`), read with Biopython, one record at a time.

The original's `create_refseq_pro_list` (reference-semantics.md §6): for every GenBank record, the `/translation`
of each `CDS` feature, keyed by the record's `id` (ACCESSION.VERSION); a CDS without `/translation` contributes
an empty string, which only the empty protein is a substring of, so it never lets a frame through; a record that
occurs twice keeps its last copy. Only the proteins are kept in memory (the record sequences are dropped as soon
as each record is parsed), joined per record into one string, so the substring test against all of a record's
proteins is one search.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from virnucpro.errors import InputError
from virnucpro.fasta import open_binary, read_errors

# joins a record's proteins: no kept frame contains it (frames are made of the 20 amino-acid letters only)
PROTEIN_SEPARATOR = b"|"


@dataclass
class AnnotatedProteins:
    """The proteins of each GenBank record, and counts for prepare.json."""

    path: Path
    proteins: dict[str, bytes] = field(default_factory=dict)  # record id -> its translations joined by '|'
    records: int = 0
    cds: int = 0
    cds_without_translation: int = 0
    records_without_translation: list[str] = field(default_factory=list)  # no CDS, or none with /translation
    duplicate_records: list[str] = field(default_factory=list)
    parser_warnings: list[str] = field(default_factory=list)

    def lookup(self, record_id: str) -> bytes | None:
        """The joined proteins of a record; None when the file has no record with this ID."""
        return self.proteins.get(record_id)

    @property
    def translations(self) -> int:
        return self.cds - self.cds_without_translation


def _text(path: Path) -> tuple[io.TextIOWrapper, str]:
    """The file as text (gzip, bzip2 or xz detected by their magic bytes), and its compression; bytes that are not
    UTF-8 never stop the read."""
    handle, compression = open_binary(path)
    return io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline=None), compression


def _not_genbank(path: Path) -> InputError:
    """The error for a file in which Biopython finds no GenBank record, with a hint where one is obvious."""
    try:
        handle, compression = open_binary(path)
        with handle, read_errors(path, compression):
            head = handle.read(4096)
    except InputError:
        head = b""
    first = head.lstrip()[:1]
    if b"\x00" in head:
        hint = "binary data"
    elif first == b">":
        hint = "this looks like FASTA: --annotations takes the GenBank file (X.genomic.gbff), --input the FASTA"
    elif not first:
        hint = "the file is empty"
    else:
        hint = "no record starts with a LOCUS line"
    return InputError(f"{path}: not a GenBank file ({hint})")


def _records(path: Path, notes: list[str]) -> Iterator[object]:
    """Biopython's GenBank records; read, decompression and parser failures become one-line `InputError`s.

    A truncated file (Biopython's "Premature end of file" warning) is an error; Biopython's other warnings
    (a feature location it cannot parse, ...) are collected in `notes`, one line each.
    """
    from Bio import BiopythonParserWarning, SeqIO

    stream, compression = _text(path)
    with stream as handle, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BiopythonParserWarning)
        iterator = SeqIO.parse(handle, "genbank")
        number = 0
        while True:
            try:
                with read_errors(path, compression):
                    record = next(iterator, None)
            except ValueError as exc:
                text = " ".join(str(exc).split()) or type(exc).__name__
                raise InputError(f"{path}: GenBank record {number + 1}: {text}") from None
            if record is None:
                return
            number += 1
            for warning in caught:
                text = " ".join(str(warning.message).split())
                if "Premature end of file" in text:
                    raise InputError(f"{path}: GenBank record {number} ({record.id!r}) is truncated: {text}")
                notes.append(f"{path.name}: GenBank record {number} ({record.id!r}): {text}")
            caught.clear()
            yield record


def read_annotations(path: str | Path) -> AnnotatedProteins:
    """Every record's CDS translations. Raises `InputError` when the file is unreadable or not GenBank."""
    path = Path(path)
    result = AnnotatedProteins(path)
    for record in _records(path, result.parser_warnings):
        result.records += 1
        translations = []
        for feature in record.features:  # type: ignore[attr-defined]
            if feature.type == "CDS":
                result.cds += 1
                protein = feature.qualifiers.get("translation", [""])[0]
                if protein:
                    translations.append(protein.encode("ascii", "replace"))
                else:
                    result.cds_without_translation += 1
        record_id = record.id  # type: ignore[attr-defined]
        if record_id in result.proteins:
            result.duplicate_records.append(record_id)
        if not translations:
            result.records_without_translation.append(record_id)
        result.proteins[record_id] = PROTEIN_SEPARATOR.join(translations)
    if result.records == 0:
        raise _not_genbank(path)
    return result
