"""Embedding and merged-feature files: `torch.save({'ids': list[str], 'data': FloatTensor[N, D]})`.

This is the original tool's merged-file layout, readable with `torch.load(path, weights_only=True)`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from virnucpro.atomic import atomic_torch_save
from virnucpro.errors import InputError


def save_features(path: str | Path, ids: list[str], data: torch.Tensor) -> None:
    """Write `ids` and their float32 rows `data` [N, D] atomically."""
    if data.dim() != 2 or data.shape[0] != len(ids):
        raise ValueError(f"features for {len(ids)} ids must be a [N, D] tensor, got {tuple(data.shape)}")
    atomic_torch_save({"ids": list(ids), "data": data.detach().to("cpu", torch.float32).contiguous()}, path)


def load_features(path: str | Path, expect_dim: int | None = None) -> tuple[list[str], torch.Tensor]:
    """Read a features file safely (no arbitrary unpickling) and check its structure."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise InputError(
            f"{path}: not a readable features file ({type(exc).__name__}: {exc})".splitlines()[0]
        ) from None
    if not isinstance(obj, dict) or "ids" not in obj or "data" not in obj:
        raise InputError(f"{path}: not a features file: expected a dict with 'ids' and 'data'")
    ids, data = obj["ids"], obj["data"]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InputError(f"{path}: 'ids' must be a list of strings")
    if not isinstance(data, torch.Tensor) or data.dim() != 2 or data.shape[0] != len(ids):
        shape = tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__
        raise InputError(f"{path}: 'data' must be a [N, D] tensor with one row per id ({len(ids)} ids, data {shape})")
    if data.dtype != torch.float32:
        raise InputError(f"{path}: 'data' must be float32, found {data.dtype}")
    if expect_dim is not None and data.shape[1] != expect_dim:
        raise InputError(f"{path}: expected {expect_dim} features per row, found {data.shape[1]}")
    return ids, data
