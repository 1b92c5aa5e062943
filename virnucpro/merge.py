"""The merge step: join DNABERT-S and ESM-2 features by ID into the original tool's merged layout.

Rows follow the DNABERT-S (.fna) order and are cat(dnabert, esm), float32 [N, 768 + 2560]. Unlike the
original, which looked IDs up but then paired rows by position (so one missing ID shifted every later
label), every ID must be present exactly once on both sides; anything else is an error naming them.
Memory stays at about one output's size: inputs are memory-mapped and copied into the output in blocks.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import torch

from virnucpro.errors import InputError
from virnucpro.features import load_features, save_features

log = logging.getLogger("virnucpro")

BLOCK_ROWS = 16384  # rows copied at a time
LISTED = 5


def _listed(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:LISTED])
    return shown + (f" and {len(ids) - LISTED} more" if len(ids) > LISTED else "")


def check_unique(ids: list[str], path: Path) -> None:
    if len(set(ids)) != len(ids):
        repeated = [name for name, count in Counter(ids).items() if count > 1]
        raise InputError(f"{path}: {len(repeated)} ID(s) occur more than once: {_listed(repeated)}")


def esm_row_order(dnabert_ids: list[str], esm_ids: list[str], dnabert_path: Path, esm_path: Path) -> torch.Tensor:
    """For each DNABERT-S row, the ESM-2 row with the same ID; every ID must be on both sides."""
    check_unique(dnabert_ids, dnabert_path)
    check_unique(esm_ids, esm_path)
    index = {name: row for row, name in enumerate(esm_ids)}
    missing = [name for name in dnabert_ids if name not in index]
    if missing:
        raise InputError(f"{len(missing)} ID(s) of {dnabert_path} are missing from {esm_path}: {_listed(missing)}")
    if len(esm_ids) != len(dnabert_ids):
        known = set(dnabert_ids)
        extra = [name for name in esm_ids if name not in known]
        raise InputError(f"{len(extra)} ID(s) of {esm_path} are missing from {dnabert_path}: {_listed(extra)}")
    return torch.tensor([index[name] for name in dnabert_ids], dtype=torch.long)


def merge_features(dnabert_path: str | Path, esm_path: str | Path, output_path: str | Path) -> int:
    """Write the merged features; return the number of rows."""
    dnabert_path, esm_path = Path(dnabert_path), Path(esm_path)
    dnabert_ids, dnabert = load_features(dnabert_path)
    esm_ids, esm = load_features(esm_path)
    order = esm_row_order(dnabert_ids, esm_ids, dnabert_path, esm_path)
    width = dnabert.shape[1]
    merged = torch.empty((len(dnabert_ids), width + esm.shape[1]), dtype=torch.float32)
    for start in range(0, len(dnabert_ids), BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        merged[rows, :width] = dnabert[rows]
        merged[rows, width:] = esm[order[rows]]
    save_features(output_path, dnabert_ids, merged)
    log.info("merge: %s rows of %d + %d features -> %s", f"{len(dnabert_ids):,}", width, esm.shape[1], output_path)
    return len(dnabert_ids)
