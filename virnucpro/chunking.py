"""Where the original tool cuts a sequence into chunks (reference-semantics.md §1), as a closed form.

The original spreads an overlap R = nc*L - n over the gaps but divides by nc instead of nc-1: every gap
overlaps by lo or lo+1 bases (lo = R // nc, the first `need` gaps by lo+1), and when `need` exceeds the
number of gaps every gap takes lo+1, so the last chunk comes out shorter than L. Chunk i starts at
i*L minus the overlaps of the gaps before it; every chunk is seq[start:start+L].
"""

from __future__ import annotations

import numpy as np


def chunk_starts(n: int, size: int) -> np.ndarray:
    """0-based start offsets of the chunks of a sequence of length `n` >= 1 for chunk size `size`."""
    if n < 1 or size < 1:
        raise ValueError(f"need n >= 1 and size >= 1, got n={n}, size={size}")
    count = -(-n // size)  # ceil(n / size)
    overlap = count * size - n
    lo = overlap // count
    need = overlap - lo * (count - 1)  # gaps (from the first) that overlap by lo + 1
    i = np.arange(count, dtype=np.int64)
    return i * size - ((lo + 1) * np.minimum(i, need) + lo * np.maximum(i - need, 0))


def chunk_bounds(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the chunks, 0-based half-open; the last chunk always ends at `n`."""
    starts = chunk_starts(n, size)
    return starts, np.minimum(starts + size, n)
