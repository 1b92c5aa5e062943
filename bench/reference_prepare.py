"""A plain, record-by-record implementation of the original tool's prepare rules (reference-semantics.md §1-2).

Written for clarity, not speed: the benchmark measures it side by side with `virnucpro.prepare`, and the
property tests compare the two on random sequences. It follows the published algorithm step by step:
the chunk loop with its running overlap, a codon dictionary, and string slicing per frame.
"""

from __future__ import annotations

from collections.abc import Iterator

from virnucpro.translate import CODON_TABLE

FRAME_SUFFIXES = ("F1", "F2", "F3", "R1", "R2", "R3")


def reference_chunks(sequence: str, size: int) -> list[tuple[int, str]]:
    """(start, chunk) pairs: the published loop, overlap divided by the chunk count, zip() truncation included."""
    n = len(sequence)
    count = -(-n // size)
    overlap = count * size - n
    lower = int(overlap / count)
    extra = overlap - lower * (count - 1)
    shifts = [lower + 1] * extra + [lower] * (count - 1 - extra) + [0]
    chunks, moved = [], 0
    for position, shift in zip(range(0, n, size), shifts, strict=False):
        start = position - moved
        chunks.append((start, sequence[start : start + size]))
        moved += shift
    return chunks


def reference_reverse_complement(sequence: str) -> str:
    """Complement A C G T (either case), keep every other letter, reverse."""
    return sequence.translate(str.maketrans("ACGTacgt", "TGCAtgca"))[::-1]


def reference_translate(sequence: str, offset: int) -> str:
    """Translate codons from `offset`; a codon not in the standard table adds nothing."""
    return "".join(CODON_TABLE.get(sequence[i : i + 3], "") for i in range(offset, len(sequence) - 2, 3))


def reference_frames(chunk: str) -> list[tuple[str, str, str]]:
    """(suffix, nucleotide, protein) of every kept frame of an upper-case chunk."""
    strands = [chunk] * 3 + [reference_reverse_complement(chunk)] * 3
    kept = []
    for number, (suffix, strand) in enumerate(zip(FRAME_SUFFIXES, strands, strict=True)):
        offset = number % 3
        protein = reference_translate(strand, offset)
        if protein and "*" not in protein:
            kept.append((suffix, strand[offset : offset + 3 * len(protein) + 1], protein))
    return kept


def reference_prepare(records: list[tuple[str, str]], size: int) -> Iterator[tuple[str, int, int, str, list]]:
    """For each chunk of each (id, sequence) record: (chunk_id, start, end, chunk, kept frames)."""
    for record_id, sequence in records:
        for k, (start, chunk) in enumerate(reference_chunks(sequence, size), start=1):
            yield f"{record_id}_chunk_{k}", start, start + len(chunk), chunk, reference_frames(chunk.upper())
