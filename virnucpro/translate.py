"""Six-frame translation and frame selection with the original tool's rules (reference-semantics.md §2), vectorised.

Rules: the chunk is upper-cased; frames F1-F3 read the chunk from offsets 0-2, R1-R3 read its reverse
complement (only A C G T are complemented; other letters stay as they are) from offsets 0-2. A codon with
any letter other than A C G T is skipped (adds nothing). A frame is kept when its protein is not empty and
has no stop. Its nucleotide is frame_seq[k : k + 3p + 1] for a protein of length p (one base more than
the codons, where that base exists).

Chunks are translated many at a time: a batch becomes a [B, W] array of base codes (0-3 for A C G T, 4 for
anything else, 4 also pads short rows), so a codon that runs past a chunk's end is skipped just like a
codon with an N in it. Lookups go through `bytes.translate`, which is much faster than numpy fancy indexing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

FRAME_NAMES = ("F1", "F2", "F3", "R1", "R2", "R3")
INVALID = 4  # base code for anything that is not A, C, G or T (and for padding)
STOP = ord("*")

# the standard genetic code, codons in TCAG order
_BASES = "TCAG"
_AMINO_ACIDS = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE = {a + b + c: _AMINO_ACIDS[16 * i + 4 * j + k] for i, a in enumerate(_BASES)
               for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}  # fmt: skip

# byte -> base code, as bytes.translate tables (the padding byte 0 becomes INVALID)
_BASE_CODE = bytes(b"ACGT".index(b) if b in b"ACGT" else INVALID for b in range(256))
_COMPLEMENT_BASE_CODE = bytes(b"TGCA".index(b) if b in b"ACGT" else INVALID for b in range(256))
COMPLEMENT = bytes.maketrans(b"ACGT", b"TGCA")


def _amino_acid_byte(codon_code: int) -> int:
    """The amino acid of codon code 25a + 5b + c (base codes 0-4) as a byte; 0 for a skipped codon."""
    bases = (codon_code // 25, codon_code // 5 % 5, codon_code % 5)
    if max(bases) >= INVALID:
        return 0
    return ord(CODON_TABLE["".join("ACGT"[b] for b in bases)])


# translate tables over codon codes
_CODON_AMINO_ACID = bytes(_amino_acid_byte(code) if code < 125 else 0 for code in range(256))
_CODON_IS_STOP = bytes(int(code < 125 and _amino_acid_byte(code) == STOP) for code in range(256))


class KeptFrame(NamedTuple):
    """A stop-free frame of a chunk: its suffix (F1..R3), nucleotide slice and protein (ASCII bytes)."""

    name: str
    nucleotide: bytes
    protein: bytes


def reverse_complement(sequence: bytes) -> bytes:
    """Reverse complement of an upper-case sequence; letters other than A C G T are kept, not complemented."""
    return sequence.translate(COMPLEMENT)[::-1]


def _strand_codes(chunks: Sequence[bytes], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Base codes of both strands, [B, width] each, every row left-aligned and padded with INVALID.

    The reverse strand is the right-aligned rows complemented and read backwards as one buffer, which puts
    its padding on the right and reverses the row order (undone by a view).
    """
    rows = len(chunks)
    forward = b"".join(c.ljust(width, b"\0") for c in chunks).translate(_BASE_CODE)
    backward = b"".join(c.rjust(width, b"\0") for c in chunks).translate(_COMPLEMENT_BASE_CODE)[::-1]
    forward_codes = np.frombuffer(forward, dtype=np.uint8).reshape(rows, width)
    reverse_codes = np.frombuffer(backward, dtype=np.uint8).reshape(rows, width)[::-1]
    return forward_codes, reverse_codes


def _codon_codes(codes: np.ndarray) -> bytes:
    """Codon code 25a + 5b + c of the codon starting at every position, rows of width - 2 bytes."""
    index = codes[:, :-2] * np.uint8(25)  # fits in uint8: at most 124
    index += codes[:, 1:-1] * np.uint8(5)
    index += codes[:, 2:]
    return index.tobytes()


def kept_frames(chunks: Sequence[bytes]) -> list[list[KeptFrame]]:
    """For each upper-case chunk, its kept frames in the order F1, F2, F3, R1, R2, R3."""
    result: list[list[KeptFrame]] = [[] for _ in chunks]
    if not chunks:
        return result
    width = max(3, max(len(c) for c in chunks))
    row_width = width - 2  # one codon start per position
    for strand_index, codes in enumerate(_strand_codes(chunks, width)):
        codon_codes = _codon_codes(codes)
        stops = np.frombuffer(codon_codes.translate(_CODON_IS_STOP), dtype=np.bool_).reshape(len(chunks), row_width)
        for offset in range(3):
            name = FRAME_NAMES[3 * strand_index + offset]
            for row in np.flatnonzero(~stops[:, offset::3].any(axis=1)).tolist():  # no stop read from this offset
                start = row * row_width
                # this frame's codons, skipped ones (and any running into the padding) removed
                codons = codon_codes[start + offset : start + row_width : 3]
                protein = codons.translate(_CODON_AMINO_ACID).replace(b"\0", b"")
                if protein:
                    frame_seq = chunks[row] if strand_index == 0 else reverse_complement(chunks[row])
                    nucleotide = frame_seq[offset : offset + 3 * len(protein) + 1]
                    result[row].append(KeptFrame(name, nucleotide, protein))
    return result
