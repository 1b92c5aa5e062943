"""Labelled feature rows for training and evaluation: which rows, in which order, in one memory-mapped matrix.

Balancing (the original's features_extract.py, at row instead of 10,000-row-file granularity): all viral rows,
and as many host rows as viral rows, spread evenly over the host groups; a group with fewer rows than its
share gives the rest to the others. The host rows of a group are drawn at random (seeded), then kept in
file order. Rows are ordered viral files first, then host files (the original's `viral_list + other_list`),
and split by the original's rule: `random.seed(seed)`-shuffled row numbers, the first `int(N * fraction)`
are the test rows.

The chosen rows are copied once, file by file, into one float32 matrix backed by a file (np.memmap), so the
training loop gathers a batch from one array in one call instead of searching files row by row.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from virnucpro.errors import InputError
from virnucpro.features import load_features
from virnucpro.labels import LabelledFile

log = logging.getLogger("virnucpro")


@dataclass
class FileRows:
    """The rows used from one labelled file."""

    file: LabelledFile
    available: int
    rows: np.ndarray  # sorted row numbers in the file


@dataclass
class LabelledMatrix:
    """Chosen rows of all files: features [N, D] (memory-mapped), labels [N], ids [N], per-file counts."""

    features: torch.Tensor
    labels: torch.Tensor
    ids: list[str]
    files: list[FileRows]
    backing: Path | None = None

    @property
    def input_dim(self) -> int:
        return int(self.features.shape[1])

    def close(self) -> None:
        """Drop the memory map and remove its file."""
        self.features = torch.empty(0)
        if self.backing is not None:
            self.backing.unlink(missing_ok=True)
            self.backing = None


def file_sizes(files: Sequence[LabelledFile]) -> list[tuple[int, int]]:
    """(rows, width) of every file, read from the memory-mapped tensors; all widths must agree."""
    sizes = []
    width = None
    for labelled in files:
        ids, data = load_features(labelled.path)
        rows, dim = (len(ids), int(data.shape[1])) if len(ids) else (0, width or 0)
        if rows and width is not None and dim != width:
            raise InputError(f"{labelled.path}: {dim} features per row, but {files[0].path} has {width}")
        if rows:
            width = dim
        sizes.append((rows, dim))
    return sizes


def share_out(total: int, capacities: list[int]) -> list[int]:
    """Split `total` as evenly as possible over groups of the given sizes (a full group leaves its rest to others)."""
    quotas = [0] * len(capacities)
    left, open_groups = min(total, sum(capacities)), [i for i, c in enumerate(capacities) if c > 0]
    while left > 0 and open_groups:
        each, extra = divmod(left, len(open_groups))
        for rank, i in enumerate(open_groups):
            quotas[i] += min(each + (rank < extra), capacities[i] - quotas[i])
        left = min(total, sum(capacities)) - sum(quotas)
        open_groups = [i for i in open_groups if quotas[i] < capacities[i]]
    return quotas


def choose_rows(files: Sequence[LabelledFile], counts: Sequence[int], balance: bool, seed: int) -> list[FileRows]:
    """The rows of each file to use: all of them, or (balance) every viral row and an even host sample."""
    chosen = [FileRows(f, n, np.arange(n, dtype=np.int64)) for f, n in zip(files, counts, strict=True)]
    viral = sum(n for f, n in zip(files, counts, strict=True) if f.label == 1)
    if not balance:
        return chosen
    groups = sorted({f.group for f in files if f.label == 0})
    members = {g: [i for i, f in enumerate(files) if f.label == 0 and f.group == g] for g in groups}
    capacities = [sum(counts[i] for i in members[g]) for g in groups]
    rng = random.Random(seed)
    for group, quota in zip(groups, share_out(viral, capacities), strict=True):
        # one draw over the group's rows, numbered file after file
        picked = np.sort(np.array(rng.sample(range(sum(counts[i] for i in members[group])), quota), dtype=np.int64))
        offset = 0
        for i in members[group]:
            inside = picked[(picked >= offset) & (picked < offset + counts[i])] - offset
            chosen[i].rows = inside
            offset += counts[i]
    return chosen


def ordered(files: Sequence[LabelledFile]) -> list[int]:
    """File positions with viral files first, then host files, each in the given order."""
    return [i for i, f in enumerate(files) if f.label == 1] + [i for i, f in enumerate(files) if f.label == 0]


def load_matrix(
    files: Sequence[LabelledFile], backing: Path | None, balance: bool = False, seed: int = 42
) -> LabelledMatrix:
    """The chosen rows of `files` (viral first) copied into one float32 matrix (file-backed when `backing`)."""
    sizes = file_sizes(files)
    picks = choose_rows(files, [rows for rows, _ in sizes], balance, seed)
    order = [picks[i] for i in ordered(files)]
    total = sum(len(p.rows) for p in order)
    width = max((dim for rows, dim in sizes if rows), default=0)
    if backing is not None and total:
        backing.parent.mkdir(parents=True, exist_ok=True)
        array = np.lib.format.open_memmap(backing, mode="w+", dtype=np.float32, shape=(total, width))
        features = torch.from_numpy(array)
    else:
        features = torch.empty((total, width), dtype=torch.float32)
        backing = None
    labels = torch.empty(total, dtype=torch.int64)
    ids: list[str] = []
    start = 0
    for pick in order:
        if not len(pick.rows):
            continue
        file_ids, data = load_features(pick.file.path)
        end = start + len(pick.rows)
        features[start:end] = (
            torch.from_numpy(np.take(data.numpy(), pick.rows, axis=0)) if len(pick.rows) < len(file_ids) else data
        )
        labels[start:end] = pick.file.label
        ids += [file_ids[i] for i in pick.rows.tolist()]
        start = end
    return LabelledMatrix(features, labels, ids, order, backing)


@dataclass(frozen=True)
class Split:
    train: torch.Tensor  # row numbers of the matrix
    test: torch.Tensor


def original_split(rows: int, test_fraction: float, seed: int) -> Split:
    """train.py's split: shuffle range(rows) with random.seed(seed); the first int(rows * fraction) are test rows."""
    indices = list(range(rows))
    random.Random(seed).shuffle(indices)
    cut = int(rows * test_fraction)
    return Split(torch.tensor(indices[cut:], dtype=torch.int64), torch.tensor(indices[:cut], dtype=torch.int64))


@dataclass
class DataSummary:
    """What the classifier was trained on, for the metadata and the report."""

    files: list[dict[str, object]] = field(default_factory=list)
    groups: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: int = 0
    viral_rows: int = 0
    host_rows: int = 0
    train_rows: int = 0
    test_rows: int = 0
    balanced: bool = True


def summarise(matrix: LabelledMatrix, split: Split | None, balanced: bool) -> DataSummary:
    summary = DataSummary(balanced=balanced, rows=len(matrix.ids))
    for pick in matrix.files:
        f = pick.file
        summary.files.append(
            {
                "file": f.path.name,
                "label": f.label_name,
                "group": f.group,
                "rows": pick.available,
                "used": len(pick.rows),
            }
        )
        group = summary.groups.setdefault(f.group, {"files": 0, "rows": 0, "used": 0})
        group["files"] += 1
        group["rows"] += pick.available
        group["used"] += len(pick.rows)
    summary.viral_rows = int(matrix.labels.sum())
    summary.host_rows = summary.rows - summary.viral_rows
    if split is not None:
        summary.train_rows, summary.test_rows = len(split.train), len(split.test)
    return summary
