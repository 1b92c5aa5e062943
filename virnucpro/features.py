"""Embedding and merged-feature files: `torch.save({'ids': list[str], 'data': FloatTensor[N, D]})`.

This is the original tool's merged-file layout, readable with `torch.load(path, weights_only=True)`. What a file
holds (DNABERT-S or ESM-2 embeddings, or merged rows, and their widths) is recorded in the zip archive's comment
as JSON: the loaded object stays exactly the contract's dict, and merge can refuse swapped inputs whatever the
models' widths. Files without the comment (written by other tools) are still read.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import torch

from virnucpro.atomic import atomic_path, torch_save
from virnucpro.errors import InputError

FORMAT = "virnucpro-features"
DNABERT, ESM, MERGED = "DNABERT-S", "ESM-2", "merged"
KIND_NOUNS = {DNABERT: "DNABERT-S embeddings", ESM: "ESM-2 embeddings", MERGED: "merged features"}
END_RECORD = b"PK\x05\x06"  # the zip end-of-central-directory record: 22 bytes, then the comment
END_RECORD_SIZE = 22


def save_features(path: str | Path, ids: list[str], data: torch.Tensor, kind: str | None = None) -> None:
    """Write `ids` and their float32 rows `data` [N, D] atomically; `kind` (DNABERT, ESM) is recorded."""
    if data.dim() != 2 or data.shape[0] != len(ids):
        raise ValueError(f"features for {len(ids)} ids must be a [N, D] tensor, got {tuple(data.shape)}")
    with atomic_path(path) as tmp:
        torch_save({"ids": list(ids), "data": data.detach().to("cpu", torch.float32).contiguous()}, tmp)
        if kind is not None:
            write_metadata(tmp, {"kind": kind, "dim": int(data.shape[1])})


def write_metadata(path: Path, metadata: dict[str, Any]) -> None:
    """Set the zip comment of a file torch.save has just written (it writes none) to `metadata` as JSON."""
    comment = json.dumps({"format": FORMAT, **metadata}, sort_keys=True).encode()
    with open(path, "r+b") as handle:
        handle.seek(-END_RECORD_SIZE, 2)
        end = handle.read(END_RECORD_SIZE)
        if end[:4] != END_RECORD or end[20:22] != b"\0\0":
            raise ValueError(f"{path}: torch.save did not end the archive as expected")
        handle.seek(-2, 2)
        handle.write(struct.pack("<H", len(comment)) + comment)


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata `write_metadata` recorded; {} when the file has none (or is no zip archive)."""
    try:
        with zipfile.ZipFile(path) as archive:
            comment = archive.comment
        metadata = json.loads(comment) if comment else {}
    except Exception:  # zipfile raises many types for damaged archives; no readable record is no record
        return {}
    return metadata if isinstance(metadata, dict) and metadata.get("format") == FORMAT else {}


def file_kind(path: Path) -> str | None:
    """DNABERT, ESM or MERGED as the file records it; None when it does not say."""
    kind = read_metadata(path).get("kind")
    return kind if kind in KIND_NOUNS else None


def check_kind(path: Path, expected: str, option: str) -> None:
    """Refuse a file that records another kind than `expected` (e.g. ESM-2 embeddings given as --dnabert)."""
    kind = file_kind(path)
    if kind is not None and kind != expected:
        hint = " (are --dnabert and --esm swapped?)" if {kind, expected} == {DNABERT, ESM} else ""
        raise InputError(f"{path}: holds {KIND_NOUNS[kind]}, but {option} needs {KIND_NOUNS[expected]}{hint}")


def load_features(path: str | Path, expect_dim: int | None = None) -> tuple[list[str], torch.Tensor]:
    """Read a features file safely (no arbitrary unpickling) and check its structure."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: is a directory, expected a features file" if path.is_dir() else f"{path}: no such file"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        text = " ".join(str(exc).split()) or "no detail"
        raise InputError(f"{path}: not a readable features file ({type(exc).__name__}: {text[:200]})") from None
    if not isinstance(obj, dict) or "ids" not in obj or "data" not in obj:
        raise InputError(f"{path}: not a features file: expected a dict with 'ids' and 'data'")
    ids, data = obj["ids"], obj["data"]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InputError(f"{path}: 'ids' must be a list of strings")
    broken = next((i for i in ids if "\t" in i or "\n" in i or "\r" in i), None)
    if broken is not None:
        raise InputError(f"{path}: ID {broken!r} holds a tab or line break (no FASTA ID can)")
    if not isinstance(data, torch.Tensor) or data.dim() != 2 or data.shape[0] != len(ids):
        shape = tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__
        raise InputError(f"{path}: 'data' must be a [N, D] tensor with one row per id ({len(ids)} ids, data {shape})")
    if data.dtype != torch.float32:
        raise InputError(f"{path}: 'data' must be float32, found {data.dtype}")
    if expect_dim is not None and data.shape[1] != expect_dim:
        raise InputError(f"{path}: expected {expect_dim} features per row, found {data.shape[1]}")
    return ids, data


def check_finite(rows: torch.Tensor, ids: list[str], first_row: int, path: Path) -> None:
    """Refuse rows holding NaN or infinity, naming the first such row's ID (`ids[first_row]` is that of rows[0])."""
    if bool(torch.isfinite(rows.sum(dim=1)).all()):  # a NaN or infinity makes its row's sum non-finite
        return
    finite = torch.isfinite(rows).all(dim=1)  # only now the exact test (a sum can also overflow)
    if bool(finite.all()):
        return
    bad = int((~finite).nonzero()[0, 0])
    what = "NaN" if bool(rows[bad].isnan().any()) else "infinity"
    raise InputError(f"{path}: the row of ID {ids[first_row + bad]!r} holds {what}: not a valid feature vector")
