"""The merge step: join DNABERT-S and ESM-2 features by ID into the original tool's merged layout.

Rows follow the DNABERT-S (.fna) order and are cat(dnabert, esm), float32 [N, 768 + 2560]. Unlike the
original, which looked IDs up but then paired rows by position (so one missing ID shifted every later
label), every ID must be present exactly once on both sides; anything else is an error naming them.

Memory stays bounded whatever the shard size: the inputs are memory-mapped, and the output is written in
place. torch.save first writes the file's structure without the tensor bytes (`skip_data`), then the rows are
written into the tensor's record block by block with ordinary writes (not through a shared memory map: on a full
disk a write fails with ENOSPC where a mapped page would kill the process with SIGBUS), and the zip CRC of the
record is set at the end. The result is an ordinary torch.save file (`torch.load(path, weights_only=True)`, zip
tools find no error in it).

Inputs are checked before anything is written: each must record the right kind (DNABERT-S or ESM-2; swapped
files are refused), and every row must be finite (a NaN or infinity names its file and ID).
"""

from __future__ import annotations

import logging
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import torch

from virnucpro.atomic import atomic_path, torch_save
from virnucpro.errors import InputError
from virnucpro.features import DNABERT, ESM, MERGED, check_finite, check_kind, file_kind, load_features, write_metadata

log = logging.getLogger("virnucpro")

BLOCK_ROWS = 1024  # rows written at a time: 13.6 MB of merged rows (and 10.5 MB of gathered ESM-2 rows)
LISTED = 5
PUBLISHED_WIDTHS = {DNABERT: 768, ESM: 2560}  # DNABERT-S and ESM-2 3B, for files that do not record their kind


def _listed(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:LISTED])
    return shown + (f" and {len(ids) - LISTED} more" if len(ids) > LISTED else "")


def check_unique(ids: list[str], path: Path) -> None:
    if len(set(ids)) != len(ids):
        repeated = [name for name, count in Counter(ids).items() if count > 1]
        raise InputError(f"{path}: {len(repeated)} ID(s) occur more than once: {_listed(repeated)}")


def esm_row_order(dnabert_ids: list[str], esm_ids: list[str], dnabert_path: Path, esm_path: Path) -> torch.Tensor:
    """For each DNABERT-S row, the ESM-2 row with the same ID; every ID must be on both sides, once."""
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


def _set_record_crc(path: Path, record: str, crc: int) -> None:
    """Write `crc` for the zip member named `record` wherever the archive keeps it (torch writes it last)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(record)
        central = archive.start_dir  # type: ignore[attr-defined]  # offset of the central directory
        members = archive.infolist()
    packed = struct.pack("<I", crc)
    with open(path, "r+b") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        if info.flag_bits & 0x08:  # a data descriptor follows the data: [signature] crc sizes
            handle.seek(info.header_offset + 30 + name_length + extra_length + info.compress_size)
            descriptor = handle.read(4)
            handle.seek(-4 if descriptor != b"PK\x07\x08" else 0, 1)
        else:
            handle.seek(info.header_offset + 14)
        handle.write(packed)
        for member in members:  # central directory entries, in order
            handle.seek(central)
            entry = handle.read(46)
            if entry[:4] != b"PK\x01\x02":
                raise ValueError(f"{path}: unexpected zip central directory")
            name_length, extra_length, comment_length = struct.unpack("<HHH", entry[28:34])
            if member is info:
                handle.seek(central + 16)
                handle.write(packed)
                return
            central += 46 + name_length + extra_length + comment_length


def _tensor_record(path: Path, size: int) -> tuple[str, int]:
    """The zip member holding the (only) tensor's bytes, and the file offset where those bytes start."""
    with zipfile.ZipFile(path) as archive:
        (info,) = (i for i in archive.infolist() if i.filename.split("/", 1)[1] == "data/0")
    if info.compress_type != zipfile.ZIP_STORED or info.file_size != size:
        raise ValueError(f"{path}: unexpected tensor record {info.filename} ({info.file_size} bytes, expected {size})")
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    return info.filename, info.header_offset + 30 + name_length + extra_length


def write_features_in_blocks(
    path: Path, ids: list[str], dim: int, fill: Callable[[torch.Tensor, slice], None], metadata: dict[str, object]
) -> None:
    """torch.save({'ids': ids, 'data': rows}) of float32 rows [len(ids), dim] that `fill(block, rows)` computes
    BLOCK_ROWS at a time into `block`; each block is written at its place in the file. Nothing else is held."""
    with torch.serialization.skip_data():
        torch_save({"ids": ids, "data": torch.empty(len(ids), dim)}, path)  # never touched: nothing resident
    row_bytes = dim * 4
    record, offset = _tensor_record(path, len(ids) * row_bytes)
    buffer = torch.empty(min(BLOCK_ROWS, len(ids)), dim)
    crc = 0
    with open(path, "r+b") as handle:
        for start in range(0, len(ids), BLOCK_ROWS):
            rows = slice(start, min(start + BLOCK_ROWS, len(ids)))
            block = buffer[: rows.stop - start]
            fill(block, rows)
            data = block.numpy()  # whole rows of a contiguous tensor: contiguous bytes
            handle.seek(offset + start * row_bytes)
            handle.write(data)
            crc = zlib.crc32(data, crc)
    _set_record_crc(path, record, crc)
    write_metadata(path, metadata)


def check_widths(dnabert_path: Path, dnabert_width: int, esm_path: Path, esm_width: int) -> None:
    """Files that do not record their kind: refuse the published models' widths given the other way round."""
    if file_kind(dnabert_path) or file_kind(esm_path):
        return
    if (dnabert_width, esm_width) == (PUBLISHED_WIDTHS[ESM], PUBLISHED_WIDTHS[DNABERT]):
        raise InputError(
            f"{dnabert_path} has {dnabert_width} features per row (ESM-2 3B's width) and {esm_path} {esm_width} "
            "(DNABERT-S's): are --dnabert and --esm swapped?"
        )


def merge_features(dnabert_path: str | Path, esm_path: str | Path, output_path: str | Path) -> int:
    """Write the merged features; return the number of rows."""
    dnabert_path, esm_path = Path(dnabert_path), Path(esm_path)
    dnabert_ids, dnabert = load_features(dnabert_path)
    esm_ids, esm = load_features(esm_path)
    check_kind(dnabert_path, DNABERT, "--dnabert")
    check_kind(esm_path, ESM, "--esm")
    width = dnabert.shape[1]
    check_widths(dnabert_path, width, esm_path, esm.shape[1])
    order = esm_row_order(dnabert_ids, esm_ids, dnabert_path, esm_path)
    gathered = torch.empty(min(BLOCK_ROWS, len(esm_ids)), esm.shape[1])  # ESM rows of one block, reused

    def fill(block: torch.Tensor, rows: slice) -> None:  # block [B, width + esm width] = cat(dnabert, esm by ID)
        block[:, :width] = dnabert[rows]
        check_finite(block[:, :width], dnabert_ids, rows.start, dnabert_path)
        esm_rows = gathered[: block.shape[0]]
        torch.index_select(esm, 0, order[rows], out=esm_rows)
        check_finite(esm_rows, dnabert_ids, rows.start, esm_path)
        block[:, width:] = esm_rows

    metadata = {"kind": MERGED, "dim": width + esm.shape[1], "columns": {DNABERT: width, ESM: esm.shape[1]}}
    with atomic_path(output_path) as tmp:
        write_features_in_blocks(tmp, dnabert_ids, width + esm.shape[1], fill, metadata)
    log.info("merge: %s rows of %d + %d features -> %s", f"{len(dnabert_ids):,}", dnabert.shape[1], esm.shape[1],
             output_path)  # fmt: skip
    return len(dnabert_ids)
