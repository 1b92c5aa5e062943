"""Six-frame translation and frame selection with the original tool's rules (reference-semantics.md §2), vectorised.

Rules: the chunk is upper-cased; frames F1-F3 read the chunk from offsets 0-2, R1-R3 read its reverse
complement (only A C G T are complemented; other letters stay as they are) from offsets 0-2. A codon with
any letter other than A C G T is skipped (adds nothing). A frame is kept when its protein is not empty and
has no stop. Its nucleotide is frame_seq[k : k + 3p + 1] for a protein of length p (one base more than
the codons, where that base exists).

Chunks are translated many at a time: a batch becomes a [B, W] array of base codes (0-3 for A C G T, 4 for
anything else, 4 also pads short rows), so a codon that runs past a chunk's end is skipped just like a
codon with an N in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FRAME_NAMES = ("F1", "F2", "F3", "R1", "R2", "R3")
INVALID = 4  # base code for anything that is not A, C, G or T (and for padding)
STOP = ord("*")

# the standard genetic code, codons in TCAG order
_BASES = "TCAG"
_AMINO_ACIDS = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE = {a + b + c: _AMINO_ACIDS[16 * i + 4 * j + k] for i, a in enumerate(_BASES)
               for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}  # fmt: skip

_BASE_CODE = np.full(256, INVALID, dtype=np.uint8)
for _code, _base in enumerate(b"ACGT"):
    _BASE_CODE[_base] = _code
# codon code = 25*a + 5*b + c over base codes 0-4; entry 0 means "skipped codon"
_CODON_AMINO_ACID = np.zeros(125, dtype=np.uint8)
for _codon, _aa in CODON_TABLE.items():
    _a, _b, _c = ("ACGT".index(x) for x in _codon)
    _CODON_AMINO_ACID[25 * _a + 5 * _b + _c] = ord(_aa)
_COMPLEMENT_CODE = np.array([3, 2, 1, 0, INVALID], dtype=np.uint8)  # A<->T, C<->G, others stay
COMPLEMENT = bytes.maketrans(b"ACGT", b"TGCA")


@dataclass(frozen=True, slots=True)
class KeptFrame:
    """A stop-free frame of a chunk: its suffix (F1..R3), nucleotide slice and protein."""

    name: str
    nucleotide: str
    protein: str


def reverse_complement(sequence: bytes) -> bytes:
    """Reverse complement of an upper-case sequence; letters other than A C G T are kept, not complemented."""
    return sequence.translate(COMPLEMENT)[::-1]


def _codes(chunks: Sequence[bytes], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Forward and reverse-complement base codes, [B, width] each, rows left-aligned and padded with INVALID."""
    lengths = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks))
    padded = b"".join(c.ljust(width, b"\0") for c in chunks)
    forward = _BASE_CODE[np.frombuffer(padded, dtype=np.uint8).reshape(len(chunks), width)]
    # reverse complement of row b: position j reads forward[b, len_b - 1 - j] (padding where that is < 0)
    source = lengths[:, None] - 1 - np.arange(width)[None, :]
    reverse = _COMPLEMENT_CODE[np.take_along_axis(forward, np.maximum(source, 0), axis=1)]
    reverse[source < 0] = INVALID
    return forward, reverse


def _frame_amino_acids(codes: np.ndarray, offset: int) -> np.ndarray:
    """[B, C] amino-acid bytes of the codons read from `offset` (0 where a codon is skipped)."""
    count = (codes.shape[1] - offset) // 3
    codons = codes[:, offset : offset + 3 * count].reshape(len(codes), count, 3)
    index = 25 * codons[:, :, 0] + 5 * codons[:, :, 1] + codons[:, :, 2]
    return _CODON_AMINO_ACID[index]


def kept_frames(chunks: Sequence[bytes]) -> list[list[KeptFrame]]:
    """For each upper-case chunk, its kept frames in the order F1, F2, F3, R1, R2, R3."""
    result: list[list[KeptFrame]] = [[] for _ in chunks]
    if not chunks:
        return result
    width = max(3, max(len(c) for c in chunks))
    forward, reverse = _codes(chunks, width)
    for frame_index, name in enumerate(FRAME_NAMES):
        strand, offset = (forward, frame_index) if frame_index < 3 else (reverse, frame_index - 3)
        amino = _frame_amino_acids(strand, offset)
        valid = amino != 0
        lengths = valid.sum(axis=1)
        keep = (lengths > 0) & ~(amino == STOP).any(axis=1)
        for row in np.flatnonzero(keep):
            protein = amino[row][valid[row]].tobytes().decode("ascii")
            chunk = chunks[row]
            frame_seq = chunk if frame_index < 3 else reverse_complement(chunk)
            nucleotide = frame_seq[offset : offset + 3 * len(protein) + 1].decode("ascii")
            result[row].append(KeptFrame(name, nucleotide, protein))
    return result
