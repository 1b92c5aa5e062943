"""Classification metrics of a labelled set, computed by scikit-learn as the original train.py computes them.

Frames: a row is called virus when P(virus) > P(others) (torch.max's argmax: a tie is index 0, others), as
`predict` calls it, and ranked by P(virus). Chunks (the unit the published tool reports): called virus when
max P(virus) >= max P(others) over the chunk's frames (ties count as virus), ranked by the difference of the
two maxima. Precision, recall and F1 are those of the virus class (sklearn's average='binary'); ROC AUC and
average precision rank by the score. A set with one class only has no ROC AUC (NaN).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc")


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    average_precision: float
    rows: int
    positives: int
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready: NaN becomes None."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def called_virus(probabilities: np.ndarray) -> np.ndarray:
    """[N] bool from [N, 2] probabilities: virus when index 1 is strictly larger (a tie goes to others)."""
    return probabilities[:, 1] > probabilities[:, 0]


def frame_metrics(labels: np.ndarray, probabilities: np.ndarray) -> Metrics:
    """Metrics of [N] labels (1 viral, 0 host) against [N, 2] softmax probabilities of frames."""
    return binary_metrics(labels, probabilities[:, 1], called_virus(probabilities))


def binary_metrics(labels: np.ndarray, score: np.ndarray, predicted: np.ndarray) -> Metrics:
    """Metrics of [N] labels (1 viral, 0 host) against calls (virus = True) and a score that ranks them."""
    from sklearn import metrics

    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted).astype(np.int64)
    score = np.asarray(score, dtype=np.float64)
    both = len(np.unique(labels)) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about undefined precision on one-class predictions
        tn, fp, fn, tp = metrics.confusion_matrix(labels, predicted, labels=[0, 1]).ravel().tolist()
        return Metrics(
            accuracy=float(metrics.accuracy_score(labels, predicted)),
            precision=float(metrics.precision_score(labels, predicted, zero_division=0)),
            recall=float(metrics.recall_score(labels, predicted, zero_division=0)),
            f1=float(metrics.f1_score(labels, predicted, zero_division=0)),
            roc_auc=float(metrics.roc_auc_score(labels, score)) if both else math.nan,
            average_precision=float(metrics.average_precision_score(labels, score)) if both else math.nan,
            rows=len(labels),
            positives=int(labels.sum()),
            true_positives=tp,
            false_positives=fp,
            true_negatives=tn,
            false_negatives=fn,
        )


@dataclass(frozen=True)
class Curves:
    """ROC (false/true positive rates) and precision-recall points, for plotting."""

    fpr: np.ndarray
    tpr: np.ndarray
    precision: np.ndarray
    recall: np.ndarray


def curves(labels: np.ndarray, score: np.ndarray) -> Curves | None:
    """The ROC and precision-recall curves of P(virus); None when the set has one class only."""
    from sklearn import metrics

    labels = np.asarray(labels, dtype=np.int64)
    if len(np.unique(labels)) != 2:
        return None
    fpr, tpr, _ = metrics.roc_curve(labels, score)
    precision, recall, _ = metrics.precision_recall_curve(labels, score)
    return Curves(fpr, tpr, precision, recall)
