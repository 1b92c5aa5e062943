"""The predict step: score merged features with the classifier, in the original tool's table format.

prediction_results.tsv: header `Sequence_ID  Prediction  score1  score2` (tab-separated), one row per kept
frame in merged-file order; score1 = P(others), score2 = P(virus) from an eval-mode softmax, written as
`str(numpy.float32)` like the original; Prediction is `virus` when index 1 wins (ties go to index 0, as
torch.max does). Merged files are read one at a time (memory-mapped), so any number of shards streams through.
Rows are scored in windows of 256 consecutive rows across file boundaries: the batches of the original's
DataLoader, so a device computes each row exactly as the original did on it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from virnucpro.atomic import atomic_path
from virnucpro.embed.engine import resolve_device
from virnucpro.errors import InputError
from virnucpro.features import KIND_NOUNS, MERGED, check_finite, file_kind, load_features
from virnucpro.models.classifier import OTHERS, VIRUS, MLPClassifier, load_classifier, published_chunk_size

log = logging.getLogger("virnucpro")

HEADER = "Sequence_ID\tPrediction\tscore1\tscore2\n"
BATCH_ROWS = 256  # the original's DataLoader batch size
CHECK_ROWS = 4096  # rows checked for NaN and infinity at a time, before anything is scored


def probabilities(model: MLPClassifier, rows: torch.Tensor, device: torch.device) -> np.ndarray:
    """[B, 2] float32 softmax probabilities of one batch of rows."""
    with torch.inference_mode():
        return torch.softmax(model(rows.to(device)), dim=1).float().cpu().numpy()


def table_rows(ids: Sequence[str], scores: np.ndarray) -> str:
    """The original's rows: ID, label, then the two probabilities as str(numpy.float32)."""
    labels = np.where(scores[:, VIRUS] > scores[:, OTHERS], "virus", "others")  # a tie is index 0, like torch.max
    others = map(str, scores[:, OTHERS].astype(np.float32))  # str(np.float32), not float64 formatting
    virus = map(str, scores[:, VIRUS].astype(np.float32))
    return "".join(f"{n}\t{label}\t{o}\t{v}\n" for n, label, o, v in zip(ids, labels, others, virus, strict=True))


def check_chunk_size(classifier_path: str | Path, chunk_size: int | None) -> None:
    """Warn when the classifier was trained on another chunk size than the input was cut into (where both are
    known: --chunk-size, and the classifier's name '300_model.pth' / '500_model.pth' or export metadata)."""
    trained = published_chunk_size(classifier_path)
    if chunk_size and trained and trained != chunk_size:
        log.warning(
            "%s was trained on %d bp chunks but the input was cut into %d bp chunks: scores will be unreliable "
            "(use the %d bp classifier, or prepare with --chunk-size %d)",
            Path(classifier_path).name, trained, chunk_size, chunk_size, trained,
        )  # fmt: skip


def check_new_ids(ids: list[str], seen: set[str], path: Path) -> None:
    """Add `ids` to `seen`; an ID seen before (in this file or an earlier one) is an error naming the first few."""
    repeated = []
    for name in ids:
        if name in seen:
            repeated.append(name)
        seen.add(name)
    if repeated:
        shown = ", ".join(map(repr, list(dict.fromkeys(repeated))[:5]))
        raise InputError(f"{path}: sequence IDs occur more than once across the merged files: {shown}")


def merged_batches(
    merged_paths: Sequence[Path], input_dim: int, classifier: Path
) -> Iterator[tuple[list[str], torch.Tensor]]:
    """(ids, rows) in windows of BATCH_ROWS consecutive rows over all files in order; one file open at a time.

    Checks each file's kind and width against the classifier, that no ID occurs twice across the files, and
    that every row is finite.
    """
    seen: set[str] = set()
    pending_ids: list[str] = []  # the start of a window that the next file completes
    pending: list[torch.Tensor] = []
    for path in merged_paths:
        ids, data = load_features(path)
        kind = file_kind(path)
        if kind not in (None, MERGED):
            raise InputError(f"{path}: holds {KIND_NOUNS[kind]}; predict needs merged features (virnucpro merge)")
        if len(ids) and data.shape[1] != input_dim:
            raise InputError(f"{path}: {data.shape[1]} features per row, but {classifier} expects {input_dim}")
        check_new_ids(ids, seen, path)
        for start in range(0, len(ids), CHECK_ROWS):
            check_finite(data[start : start + CHECK_ROWS], ids, start, path)
        begin = 0
        if pending_ids:
            begin = BATCH_ROWS - len(pending_ids)
            pending_ids, pending = pending_ids + ids[:begin], [*pending, data[:begin]]
            if len(pending_ids) < BATCH_ROWS:
                continue
            yield pending_ids, torch.cat(pending)
            pending_ids, pending = [], []
        full_end = begin + (len(ids) - begin) // BATCH_ROWS * BATCH_ROWS
        for start in range(begin, full_end, BATCH_ROWS):
            yield ids[start : start + BATCH_ROWS], data[start : start + BATCH_ROWS]
        if full_end < len(ids):
            pending_ids, pending = ids[full_end:], [data[full_end:]]
    if pending_ids:
        yield pending_ids, torch.cat(pending)


def predict(
    merged_paths: Sequence[str | Path],
    classifier_path: str | Path,
    output_path: str | Path,
    device: str = "auto",
    chunk_size: int | None = None,
) -> int:
    """Write prediction_results.tsv for all merged files, in the given order; return the number of rows."""
    classifier_path = Path(classifier_path)
    check_chunk_size(classifier_path, chunk_size)
    target = resolve_device(device)
    model = load_classifier(classifier_path, target)
    rows = 0
    with atomic_path(output_path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER)
        for ids, data in merged_batches([Path(p) for p in merged_paths], model.input_dim, classifier_path):
            out.write(table_rows(ids, probabilities(model, data, target)))
            rows += len(ids)
    log.info("predict: %s frames from %d merged file(s) on %s -> %s", f"{rows:,}", len(merged_paths), target,
             output_path)  # fmt: skip
    return rows
