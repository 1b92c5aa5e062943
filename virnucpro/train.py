"""`virnucpro train`: fit the VirNucPro classifier on labelled merged features, by default with the original recipe.

The original train.py (reference-semantics.md §6): MLP 3328 -> 512 (Linear, BatchNorm1d, ReLU, Dropout 0.5) -> 2
with Xavier-uniform weights; cross-entropy; SGD lr 2e-4, momentum 0.9; StepLR(10, 0.85) stepped once per epoch;
batches of 32 rows, reshuffled every epoch; the random 90/10 split; up to 200 epochs, stopped when the test loss
has not improved for 5 epochs, and the best epoch's weights kept. Every number is a `Recipe` field (and a flag).

Unlike the original: the best weights are a copy (the original kept a live reference, so "best" was the last
epoch), the classifier is always saved (the original saved only when early stopping fired), the seed also
fixes torch's generator (same inputs and seed give identical weights on the CPU), a last batch of a single
row is skipped (BatchNorm cannot train on it; the original crashed), and the rows live in one memory-mapped
matrix from which a batch is one gather, instead of a per-row search over files.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from virnucpro import __version__
from virnucpro.atomic import atomic_path, atomic_write_text
from virnucpro.embed.engine import resolve_device
from virnucpro.errors import InputError
from virnucpro.labels import LabelledFile
from virnucpro.metrics import METRIC_NAMES, Metrics, frame_metrics
from virnucpro.models.classifier import EXPORT_FORMAT, MLPClassifier
from virnucpro.recipe import Recipe
from virnucpro.training_data import DataSummary, LabelledMatrix, Split, load_matrix, original_split, summarise

log = logging.getLogger("virnucpro")

EVAL_ROWS = 8192  # rows scored at a time in eval mode (BatchNorm uses running statistics: batch size is free)
DNABERT_DIM, ESM_DIM = 768, 2560


@dataclass
class Epoch:
    """One row of metrics.tsv."""

    epoch: int
    lr: float
    train_loss: float
    test_loss: float
    metrics: Metrics
    improved: bool


@dataclass
class TrainingResult:
    model: MLPClassifier
    history: list[Epoch]
    best_epoch: int
    stopped_early: bool
    test_labels: np.ndarray
    test_probabilities: np.ndarray  # [N_test, 2] of the kept (best) weights
    test_ids: list[str]
    summary: DataSummary
    device: str
    seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


def new_classifier(input_dim: int, recipe: Recipe) -> MLPClassifier:
    """The original's initialisation: nn.Linear's defaults, then Xavier-uniform weights (torch's global generator)."""
    model = MLPClassifier(input_dim, recipe.hidden_dim, 2)
    model.dropout.p = recipe.dropout
    nn.init.xavier_uniform_(model.hidden_layer.weight)
    nn.init.xavier_uniform_(model.output_layer.weight)
    return model


def score(model: MLPClassifier, features: torch.Tensor, device: torch.device) -> torch.Tensor:
    """[N, 2] float32 eval-mode logits on the CPU, EVAL_ROWS rows at a time."""
    model.eval()
    parts = []
    with torch.inference_mode():
        for start in range(0, len(features), EVAL_ROWS):
            parts.append(model(features[start : start + EVAL_ROWS].to(device, non_blocking=True)).float().cpu())
    return torch.cat(parts) if parts else torch.empty((0, 2))


def batch_mean_loss(logits: torch.Tensor, labels: torch.Tensor, batch_size: int) -> float:
    """The original's test loss: the mean over batches of `batch_size` rows of each batch's mean cross-entropy."""
    losses = F.cross_entropy(logits, labels, reduction="none")
    return float(torch.stack([part.mean() for part in losses.split(batch_size)]).mean()) if len(losses) else math.nan


class Trainer:
    """The epoch loop on one device, data resident there when it fits."""

    def __init__(self, matrix: LabelledMatrix, split: Split, recipe: Recipe, device: torch.device) -> None:
        self.recipe, self.device = recipe, device
        self.features = self._place(matrix.features)
        # on the CPU a batch is gathered by numpy: one memcpy per row, never torch's thread pool, whose start and
        # stop cost more than the copy itself (and stall for milliseconds when other processes hold the cores)
        self.array = self.features.numpy() if self.features.device.type == "cpu" else None
        self.labels = matrix.labels.to(device)
        self.train_rows = split.train.to(device)
        # scored every epoch: gathered once, where the features are
        self.test_features = self.features.index_select(0, split.test.to(self.features.device))
        self.test_labels = matrix.labels.index_select(0, split.test)
        self.generator = torch.Generator().manual_seed(recipe.seed)  # the per-epoch shuffles, on the CPU

    def _place(self, features: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cpu":
            return features
        try:
            return features.to(self.device)
        except torch.OutOfMemoryError:
            log.warning(
                "train: the %s features do not fit on %s: batches are copied from host memory",
                tuple(features.shape),
                self.device,
            )
            return features.pin_memory()

    def train_epoch(self, model: MLPClassifier, optimizer: torch.optim.Optimizer) -> float:
        """One pass over the training rows in a fresh random order; the mean of the batch losses."""
        model.train()
        order = self.train_rows[torch.randperm(len(self.train_rows), generator=self.generator).to(self.device)]
        size = self.recipe.batch_size
        ends = [*range(size, len(order), size), len(order)]
        if len(ends) > 1 and ends[-1] - ends[-2] == 1:
            ends.pop()  # a last batch of one row: BatchNorm cannot normalise it (the original crashes here)
        total = torch.zeros((), device=self.device)
        start = 0
        for end in ends:
            rows = order[start:end]
            start = end
            batch = self._gather(rows)
            loss = F.cross_entropy(model(batch), self.labels.index_select(0, rows))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        return float(total) / len(ends)

    def _gather(self, rows: torch.Tensor) -> torch.Tensor:
        """The feature rows of one batch, on the training device."""
        if self.array is None:
            return self.features.index_select(0, rows)
        gathered = torch.from_numpy(np.take(self.array, rows.cpu().numpy(), axis=0))
        return gathered.to(self.device, non_blocking=True)

    def evaluate(self, model: MLPClassifier) -> tuple[float, Metrics, np.ndarray]:
        logits = score(model, self.test_features, self.device)
        probabilities = torch.softmax(logits, dim=1).numpy()
        loss = batch_mean_loss(logits, self.test_labels, self.recipe.batch_size)
        return loss, frame_metrics(self.test_labels.numpy(), probabilities), probabilities


def fit(matrix: LabelledMatrix, recipe: Recipe, device: str = "auto") -> TrainingResult:
    """Train on the matrix's rows with the recipe; the model holds the best epoch's weights."""
    recipe.check()
    target = resolve_device(device)
    split = original_split(len(matrix.ids), recipe.test_fraction, recipe.seed)
    if len(split.test) == 0 or len(split.train) < 2:
        raise InputError(
            f"too few rows to train: {len(matrix.ids)} rows give {len(split.train)} training and "
            f"{len(split.test)} test rows (--test-fraction {recipe.test_fraction})"
        )
    summary = summarise(matrix, split, recipe.balance)
    started = time.monotonic()
    cuda = [target.index if target.index is not None else torch.cuda.current_device()] if target.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(recipe.seed)  # weights and dropout masks
        model = new_classifier(matrix.input_dim, recipe).to(target)
        optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=recipe.step_size, gamma=recipe.gamma)
        trainer = Trainer(matrix, split, recipe, target)
        history, best, best_state, stale, stopped = [], math.inf, None, 0, False
        log.info(
            "train: %s rows (%s viral, %s host) -> %s training, %s test rows on %s",
            f"{summary.rows:,}",
            f"{summary.viral_rows:,}",
            f"{summary.host_rows:,}",
            f"{summary.train_rows:,}",
            f"{summary.test_rows:,}",
            target,
        )
        for epoch in range(1, recipe.max_epochs + 1):
            tick = time.monotonic()
            lr = optimizer.param_groups[0]["lr"]
            train_loss = trainer.train_epoch(model, optimizer)
            test_loss, metrics, _ = trainer.evaluate(model)
            improved = best_state is None or test_loss < best - recipe.min_delta
            if improved:
                best, stale = test_loss, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            history.append(Epoch(epoch, lr, train_loss, test_loss, metrics, improved))
            log.info(
                "train: epoch %d/%d  loss %.4f  test loss %.4f  accuracy %.4f  F1 %.4f  ROC AUC %.4f  (%.1f s)",
                epoch,
                recipe.max_epochs,
                train_loss,
                test_loss,
                metrics.accuracy,
                metrics.f1,
                metrics.roc_auc,
                time.monotonic() - tick,
            )
            if stale >= recipe.patience:
                stopped = True
                break
            scheduler.step()
        assert best_state is not None
        model.load_state_dict(best_state)
        _, _, probabilities = trainer.evaluate(model)
    best_epoch = max(e.epoch for e in history if e.improved)
    log.info(
        "train: %s after epoch %d; kept the weights of epoch %d (test loss %.4f)",
        "stopped early" if stopped else "reached --max-epochs",
        history[-1].epoch,
        best_epoch,
        best,
    )
    return TrainingResult(
        model=model.cpu().eval(),
        history=history,
        best_epoch=best_epoch,
        stopped_early=stopped,
        test_labels=trainer.test_labels.numpy(),
        test_probabilities=probabilities,
        test_ids=[matrix.ids[i] for i in split.test.tolist()],
        summary=summary,
        device=str(target),
        seconds=time.monotonic() - started,
    )


# ---- outputs -------------------------------------------------------------------------------------------------

METRICS_HEADER = ("epoch", "lr", "train_loss", "test_loss", *METRIC_NAMES, "improved")


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.6g}"


def metrics_table(history: Sequence[Epoch]) -> str:
    """metrics.tsv: one row per epoch (no times, so a rerun writes the same file)."""
    lines = ["\t".join(METRICS_HEADER)]
    for e in history:
        values = [getattr(e.metrics, name) for name in METRIC_NAMES]
        lines.append(
            "\t".join(
                [
                    str(e.epoch),
                    _number(e.lr),
                    _number(e.train_loss),
                    _number(e.test_loss),
                    *map(_number, values),
                    "yes" if e.improved else "no",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def feature_dims(input_dim: int) -> str:
    """'768,2560' for the published DNABERT-S + ESM-2 3B vector; otherwise only the total is known."""
    return f"{DNABERT_DIM},{ESM_DIM}" if input_dim == DNABERT_DIM + ESM_DIM else str(input_dim)


def classifier_metadata(result: TrainingResult, recipe: Recipe, chunk_size: int | None) -> dict[str, str]:
    """The safetensors metadata (str -> str): what `predict` needs, and how the classifier was made."""
    best = next(e for e in result.history if e.epoch == result.best_epoch)
    metadata = {
        "format": EXPORT_FORMAT,
        "input_dim": str(result.model.input_dim),
        "hidden_dim": str(result.model.hidden_layer.out_features),
        "bn1_eps": repr(result.model.bn1.eps),
        "feature_dims": feature_dims(result.model.input_dim),
        "classes": "0=others,1=virus",
        "recipe": json.dumps(asdict(recipe), sort_keys=True),
        "data": json.dumps(_data_for_metadata(result.summary), sort_keys=True),
        "best_epoch": str(result.best_epoch),
        "test_metrics": json.dumps({"test_loss": best.test_loss, **best.metrics.as_dict()}, sort_keys=True),
        "trained_by": f"virnucpro train {__version__}",
    }
    if chunk_size:
        metadata["chunk_size"] = str(chunk_size)
    return metadata


def _data_for_metadata(summary: DataSummary) -> dict[str, object]:
    data = asdict(summary)
    data.pop("files")  # per-file rows are in training.json; the metadata stays small
    return data


@dataclass(frozen=True)
class TrainOutputs:
    outdir: Path

    @property
    def classifier(self) -> Path:
        return self.outdir / "classifier.safetensors"

    @property
    def metrics(self) -> Path:
        return self.outdir / "metrics.tsv"

    @property
    def summary(self) -> Path:
        return self.outdir / "training.json"

    @property
    def report(self) -> Path:
        return self.outdir / "training_report.html"

    def pth(self, chunk_size: int | None) -> Path:
        """The published whole-module format, named like the published files so its chunk size is known."""
        return self.outdir / (f"{chunk_size}_model.pth" if chunk_size else "model.pth")


def save_classifier(model: MLPClassifier, path: Path, metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file

    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)


def write_outputs(result: TrainingResult, recipe: Recipe, outdir: Path, chunk_size: int | None, pth: bool) -> None:
    from virnucpro.testmodels.classifier import save_published_style
    from virnucpro.training_report import training_report

    outputs = TrainOutputs(outdir)
    metadata = classifier_metadata(result, recipe, chunk_size)
    save_classifier(result.model, outputs.classifier, metadata)
    if pth:
        with atomic_path(outputs.pth(chunk_size)) as tmp:
            save_published_style(result.model, tmp)
    atomic_write_text(outputs.metrics, metrics_table(result.history))
    best = next(e for e in result.history if e.epoch == result.best_epoch)
    summary = {
        "classifier": outputs.classifier.name,
        "chunk_size": chunk_size,
        "input_dim": result.model.input_dim,
        "feature_dims": metadata["feature_dims"],
        "recipe": asdict(recipe),
        "data": asdict(result.summary),
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "test": {"test_loss": best.test_loss, **best.metrics.as_dict()},
        "device": result.device.split(":")[0],
        "virnucpro_version": __version__,
    }
    atomic_write_text(outputs.summary, json.dumps(summary, indent=2) + "\n")
    atomic_write_text(outputs.report, training_report(result, recipe, chunk_size))


def train(
    files: Sequence[LabelledFile],
    outdir: str | Path,
    recipe: Recipe | None = None,
    device: str = "auto",
    chunk_size: int | None = None,
    pth: bool = False,
) -> TrainingResult:
    """Load, balance and split the labelled rows, train, and write the classifier, metrics and report."""
    recipe = recipe or Recipe()
    recipe.check()
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"{outdir}: output path exists and is not a directory")
    outdir.mkdir(parents=True, exist_ok=True)
    labels = {f.label for f in files}
    if labels != {0, 1}:
        missing = "viral" if 1 not in labels else "host"
        raise InputError(f"training needs viral and host files: no {missing} file is given")
    backing = outdir / f".features-{time.monotonic_ns()}.npy"
    matrix = load_matrix(files, backing, recipe.balance, recipe.seed)
    try:
        if int(matrix.labels.sum()) == 0 or int(matrix.labels.sum()) == len(matrix.ids):
            missing = "viral" if int(matrix.labels.sum()) == 0 else "host"
            raise InputError(f"training needs viral and host rows: the {missing} files hold no rows")
        if recipe.balance and 2 * int(matrix.labels.sum()) > len(matrix.ids):
            log.warning(
                "train: fewer host rows (%d) than viral rows (%d): the classes are not balanced",
                len(matrix.ids) - int(matrix.labels.sum()),
                int(matrix.labels.sum()),
            )
        result = fit(matrix, recipe, device)
    finally:
        matrix.close()
    write_outputs(result, recipe, outdir, chunk_size, pth)
    log.info("train: %d epochs in %.1f s -> %s", len(result.history), result.seconds, TrainOutputs(outdir).classifier)
    return result
