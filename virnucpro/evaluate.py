"""`virnucpro evaluate`: a classifier's metrics and curves on a labelled held-out set of merged features.

Any classifier `predict` loads (the published 300_model.pth / 500_model.pth, an export, one from `train`).
Frames are scored exactly as `predict` scores them (eval mode, 256-row windows over the files in order);
metrics are given per frame (the classifier's own unit, as train.py logs them) and per chunk (the published
tool's unit: virus when max P(virus) >= max P(others) over the chunk's frames). Files stream one at a time.

Outputs in DIR: evaluation.json (metrics, confusion counts, per-file rows), evaluation_scores.tsv (one row per
frame: the prediction_results columns plus the file and its label), evaluation_report.html.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from virnucpro import __version__
from virnucpro.atomic import atomic_path, atomic_write_text
from virnucpro.embed.engine import resolve_device
from virnucpro.errors import InputError
from virnucpro.features import load_features
from virnucpro.labels import LabelledFile
from virnucpro.metrics import Metrics, binary_metrics, frame_metrics
from virnucpro.models.classifier import classifier_metadata, load_classifier
from virnucpro.predict import HEADER, check_chunk_size, merged_batches, probabilities, table_rows

log = logging.getLogger("virnucpro")


@dataclass
class Evaluation:
    ids: list[str]
    labels: np.ndarray  # [N] 1 viral, 0 host
    probabilities: np.ndarray  # [N, 2] P(others), P(virus)
    frames: Metrics
    chunk_labels: np.ndarray
    chunk_score: np.ndarray  # max P(virus) - max P(others) per chunk
    chunks: Metrics
    per_file: list[dict[str, object]]


def chunk_view(ids: Sequence[str], labels: np.ndarray, scores: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per chunk (ID without its 2-character frame suffix): its label and max P(virus) - max P(others)."""
    index: dict[str, int] = {}
    keys = np.fromiter((index.setdefault(name[:-2], len(index)) for name in ids), dtype=np.int64, count=len(ids))
    n = len(index)
    best_virus, best_others = np.full(n, -np.inf), np.full(n, -np.inf)
    np.maximum.at(best_virus, keys, scores[:, 1].astype(np.float64))
    np.maximum.at(best_others, keys, scores[:, 0].astype(np.float64))
    chunk_labels = np.full(n, -1, dtype=np.int64)
    chunk_labels[keys] = labels
    mixed = np.flatnonzero(np.bincount(keys, weights=labels, minlength=n) % np.maximum(np.bincount(keys), 1))
    if len(mixed):
        name = next(k for k, v in index.items() if v == mixed[0])
        raise InputError(f"{path}: chunk {name!r} has frames in both a viral and a host file")
    return chunk_labels, best_virus - best_others


def score_files(files: Sequence[LabelledFile], classifier: Path, device: str, scores_out: Path) -> Evaluation:
    """Score every frame, write evaluation_scores.tsv, and compute frame and chunk metrics."""
    target = resolve_device(device)
    model = load_classifier(classifier, target)
    counts = [len(load_features(f.path)[0]) for f in files]  # memory-mapped: only the ID lists are read
    if sum(counts) == 0:
        raise InputError("the merged files hold no rows: nothing to evaluate")
    labels = np.repeat([f.label for f in files], counts).astype(np.int64)
    owner = np.repeat(np.arange(len(files)), counts)
    suffixes = [f"\t{f.path.name}\t{f.label_name}\n" for f in files]
    ids: list[str] = []
    parts: list[np.ndarray] = []
    with atomic_path(scores_out) as tmp, open(tmp, "w", encoding="utf-8") as out:
        out.write(HEADER.rstrip("\n") + "\tfile\tlabel\n")
        for batch_ids, rows in merged_batches([f.path for f in files], model.input_dim, classifier):
            scored = probabilities(model, rows, target)
            owners = owner[len(ids) : len(ids) + len(batch_ids)].tolist()
            lines = table_rows(batch_ids, scored).splitlines()
            out.write("".join(line + suffixes[o] for line, o in zip(lines, owners, strict=True)))
            ids += batch_ids
            parts.append(scored)
    scores = np.concatenate(parts)
    chunk_labels, chunk_score = chunk_view(ids, labels, scores, files[0].path)
    per_file = [
        {"file": f.path.name, "label": f.label_name, "group": f.group, "rows": n}
        for f, n in zip(files, counts, strict=True)
    ]
    return Evaluation(
        ids=ids,
        labels=labels,
        probabilities=scores,
        frames=frame_metrics(labels, scores),
        chunk_labels=chunk_labels,
        chunk_score=chunk_score,
        chunks=binary_metrics(chunk_labels, chunk_score, chunk_score >= 0),
        per_file=per_file,
    )


@dataclass(frozen=True)
class EvaluateOutputs:
    outdir: Path

    @property
    def summary(self) -> Path:
        return self.outdir / "evaluation.json"

    @property
    def scores(self) -> Path:
        return self.outdir / "evaluation_scores.tsv"

    @property
    def report(self) -> Path:
        return self.outdir / "evaluation_report.html"


def evaluate(
    files: Sequence[LabelledFile],
    classifier: str | Path,
    outdir: str | Path,
    device: str = "auto",
    chunk_size: int | None = None,
) -> Evaluation:
    """Score the labelled merged files with the classifier; write the metrics, per-frame scores and the report."""
    from virnucpro.training_report import evaluation_report

    classifier, outdir = Path(classifier), Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"{outdir}: output path exists and is not a directory")
    check_chunk_size(classifier, chunk_size)
    outdir.mkdir(parents=True, exist_ok=True)
    outputs = EvaluateOutputs(outdir)
    result = score_files(files, classifier, device, outputs.scores)
    metadata = classifier_metadata(classifier)
    summary = {
        "classifier": classifier.name,
        "classifier_metadata": metadata,
        "frames": result.frames.as_dict(),
        "chunks": result.chunks.as_dict(),
        "files": result.per_file,
        "virnucpro_version": __version__,
    }
    atomic_write_text(outputs.summary, json.dumps(summary, indent=2) + "\n")
    atomic_write_text(outputs.report, evaluation_report(result, classifier.name, metadata))
    log.info(
        "evaluate: %s frames in %s chunks: frame ROC AUC %.4f, F1 %.4f; chunk ROC AUC %.4f, F1 %.4f -> %s",
        f"{len(result.ids):,}",
        f"{len(result.chunk_labels):,}",
        result.frames.roc_auc,
        result.frames.f1,
        result.chunks.roc_auc,
        result.chunks.f1,
        outputs.summary,
    )
    return result
