"""Work units of `virnucpro run` and the order devices take them in, so that all devices finish together.

A unit is one (shard, model) pair: the DNABERT-S or the ESM-2 embedding of one shard. Its cost is an estimate
of its compute: tokens x the model's per-token work (layers x width^2, the size of its matrix products), so a
shard's ESM-2 3B unit weighs about fifty times its DNABERT-S unit, and shards of different sizes weigh what
they hold, not one each. Units are handed out largest first to whichever device is free (the longest-
processing-time rule): each device's last unit is among the smallest, so on equal devices the loads end
within one unit's cost of each other, and a slower device simply takes fewer units.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

MODEL_NAMES = {"dnabert": "DNABERT-S", "esm": "ESM-2"}
# DNABERT-2's BPE vocabulary: about 4.6 bp per token on genomic DNA (109 tokens per 500 bp)
BASES_PER_TOKEN = 4.6


@dataclass(frozen=True)
class EmbedJob:
    """One embedding to compute: a shard's sequences through one model, written to `output`."""

    shard_id: str
    model: str  # 'dnabert' or 'esm'
    source: Path  # the shard's .fna (DNABERT-S) or .faa (ESM-2)
    output: Path  # its .dnabert.pt / .esm.pt
    sequences: int
    tokens: int  # estimated
    cost: float  # tokens x per-token work of the model

    @property
    def name(self) -> str:
        """'shard_00003 ESM-2', as logs and errors name it."""
        return f"{self.shard_id} {MODEL_NAMES[self.model]}"


def per_token_work(layers: int, width: int) -> float:
    """Relative compute per token of a transformer encoder: its layers' matrix products."""
    return float(layers) * width * width


def estimated_tokens(model: str, sequences: int, residues: int) -> int:
    """Tokens of a shard for one model, from the manifest's counts (each frame is 3 bases per residue, plus
    one); both models add two special tokens per sequence."""
    if model == "esm":
        return residues + 2 * sequences
    bases = 3 * residues + sequences
    return round(bases / BASES_PER_TOKEN) + 2 * sequences


def make_job(
    shard_id: str, model: str, source: Path, output: Path, sequences: int, residues: int, work: float
) -> EmbedJob:
    """A unit with its token estimate and cost."""
    tokens = estimated_tokens(model, sequences, residues)
    return EmbedJob(shard_id, model, source, output, sequences, tokens, tokens * work)


def largest_first(units: Iterable[EmbedJob]) -> list[EmbedJob]:
    """The order units are handed out in: by cost, largest first (ties: shard order, then model)."""
    return sorted(units, key=lambda u: (-u.cost, u.shard_id, u.model))


def plan(units: Sequence[EmbedJob], workers: int) -> list[list[EmbedJob]]:
    """What each of `workers` equal devices computes when each takes the next unit as soon as it is free."""
    loads = [0.0] * workers
    assigned: list[list[EmbedJob]] = [[] for _ in range(workers)]
    for unit in largest_first(units):
        free = min(range(workers), key=lambda w: (loads[w], w))
        assigned[free].append(unit)
        loads[free] += unit.cost
    return assigned
