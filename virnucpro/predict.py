"""The predict step: score merged features with the classifier, in the original tool's table format.

prediction_results.tsv: header `Sequence_ID  Prediction  score1  score2` (tab-separated), one row per kept
frame in merged-file order; score1 = P(others), score2 = P(virus) from an eval-mode softmax, written as
`str(numpy.float32)` like the original; Prediction is `virus` when index 1 wins (ties go to index 0, as
torch.max does). Merged files are read one at a time (memory-mapped), so any number of shards streams through.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from virnucpro.atomic import atomic_path
from virnucpro.embed.engine import resolve_device
from virnucpro.errors import InputError
from virnucpro.features import load_features
from virnucpro.models.classifier import OTHERS, VIRUS, MLPClassifier, load_classifier, published_chunk_size

log = logging.getLogger("virnucpro")

HEADER = "Sequence_ID\tPrediction\tscore1\tscore2\n"
BATCH_ROWS = 8192


def probabilities(model: MLPClassifier, data: torch.Tensor, device: torch.device) -> np.ndarray:
    """[N, 2] float32 softmax probabilities, computed in batches."""
    parts = []
    with torch.inference_mode():
        for start in range(0, data.shape[0], BATCH_ROWS):
            logits = model(data[start : start + BATCH_ROWS].to(device))
            parts.append(torch.softmax(logits, dim=1).float().cpu())
    return torch.cat(parts).numpy() if parts else np.zeros((0, 2), dtype=np.float32)


def table_rows(ids: Sequence[str], scores: np.ndarray) -> str:
    """The original's rows: ID, label, then the two probabilities as str(numpy.float32)."""
    labels = np.where(scores[:, VIRUS] > scores[:, OTHERS], "virus", "others")
    others = map(str, scores[:, OTHERS].astype(np.float32))  # str(np.float32), not f-string formatting (float64)
    virus = map(str, scores[:, VIRUS].astype(np.float32))
    return "".join(f"{n}\t{label}\t{o}\t{v}\n" for n, label, o, v in zip(ids, labels, others, virus, strict=True))


def check_chunk_size(classifier_path: Path, chunk_size: int | None) -> None:
    """Warn when the classifier was published for another chunk size than the input was cut into."""
    trained = published_chunk_size(classifier_path)
    if chunk_size and trained and trained != chunk_size:
        log.warning(
            "%s was trained on %d bp chunks but the input was cut into %d bp chunks: scores will be unreliable",
            classifier_path.name, trained, chunk_size,
        )  # fmt: skip


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
    seen: set[str] = set()
    rows = 0
    with atomic_path(output_path) as tmp, open(tmp, "w") as out:
        out.write(HEADER)
        for merged_path in map(Path, merged_paths):
            ids, data = load_features(merged_path)
            if data.shape[0] and data.shape[1] != model.input_dim:
                raise InputError(
                    f"{merged_path}: {data.shape[1]} features per row, but {classifier_path} expects {model.input_dim}"
                )
            repeated = [name for name in ids if name in seen]
            seen.update(ids)
            if repeated or len(seen) != rows + len(ids):
                shown = ", ".join(map(repr, (repeated or ids)[:5]))
                raise InputError(f"{merged_path}: sequence IDs occur more than once across the merged files: {shown}")
            out.write(table_rows(ids, probabilities(model, data, target)))
            rows += len(ids)
    log.info("predict: %s frames from %d merged file(s) -> %s", f"{rows:,}", len(merged_paths), output_path)
    return rows
