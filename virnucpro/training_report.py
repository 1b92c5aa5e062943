"""The HTML pages of `train` and `evaluate`: learning curves, ROC and precision-recall curves, tables.

Plots are drawn by matplotlib (Agg) as SVG and inlined, with the stylesheet of report.html: one self-contained
file that fetches nothing. Output is deterministic (fixed SVG ids, no dates), so a rerun writes the same page.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import asdict
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from virnucpro import __version__
from virnucpro.metrics import Metrics, curves
from virnucpro.report_html import OTHERS_COLOUR, VIRUS_COLOUR, asset

if TYPE_CHECKING:
    from virnucpro.evaluate import Evaluation
    from virnucpro.recipe import Recipe
    from virnucpro.train import Epoch, TrainingResult

METRIC_COLOURS = {
    "accuracy": "#1d2733",
    "precision": "#8e44ad",
    "recall": "#16a085",
    "f1": VIRUS_COLOUR,
    "roc_auc": OTHERS_COLOUR,
}


def _svg(figure) -> str:
    """A matplotlib figure as an inline <svg> element (no XML prolog, no date, stable ids)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float = 5.2, height: float = 3.4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.hashsalt": "virnucpro",
            "svg.fonttype": "none",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    figure, axes = plt.subplots(figsize=(width, height))
    axes.grid(True, color="#eef1f5")
    return figure, axes


def learning_curves(history: Sequence[Epoch], best_epoch: int) -> str:
    """Training and test loss per epoch; the kept epoch marked."""
    figure, axes = _figure()
    epochs = [e.epoch for e in history]
    axes.plot(epochs, [e.train_loss for e in history], color=OTHERS_COLOUR, marker=".", label="training loss")
    axes.plot(epochs, [e.test_loss for e in history], color=VIRUS_COLOUR, marker=".", label="test loss")
    axes.axvline(best_epoch, color="#7f8c8d", linestyle="--", linewidth=1, label=f"kept: epoch {best_epoch}")
    axes.set_xlabel("epoch")
    axes.set_ylabel("cross-entropy loss")
    axes.legend(frameon=False)
    return _svg(figure)


def metric_curves(history: Sequence[Epoch]) -> str:
    """Test-split accuracy, precision, recall, F1 and ROC AUC per epoch."""
    figure, axes = _figure()
    epochs = [e.epoch for e in history]
    for name, colour in METRIC_COLOURS.items():
        values = [getattr(e.metrics, name) for e in history]
        axes.plot(epochs, values, color=colour, marker=".", label=name.replace("roc_auc", "ROC AUC"))
    axes.set_xlabel("epoch")
    axes.set_ylabel("test split")
    axes.legend(frameon=False, ncol=2)
    return _svg(figure)


def roc_and_pr(labels: np.ndarray, score: np.ndarray, metrics: Metrics) -> str:
    """The ROC and precision-recall curves side by side, or a note when the set has one class only."""
    found = curves(labels, score)
    if found is None:
        return "<p><b>The set has one class only</b>: no ROC or precision-recall curve.</p>"
    roc, roc_axes = _figure(4.2, 3.6)
    roc_axes.plot(found.fpr, found.tpr, color=VIRUS_COLOUR, label=f"ROC AUC {metrics.roc_auc:.4f}")
    roc_axes.plot([0, 1], [0, 1], color="#9aa7b4", linestyle="--", linewidth=1, label="chance")
    roc_axes.set_xlabel("false positive rate")
    roc_axes.set_ylabel("true positive rate")
    roc_axes.legend(frameon=False, loc="lower right")
    pr, pr_axes = _figure(4.2, 3.6)
    pr_axes.plot(
        found.recall, found.precision, color=OTHERS_COLOUR, label=f"average precision {metrics.average_precision:.4f}"
    )
    pr_axes.axhline(
        metrics.positives / max(metrics.rows, 1), color="#9aa7b4", linestyle="--", linewidth=1, label="viral share"
    )
    pr_axes.set_xlabel("recall (virus)")
    pr_axes.set_ylabel("precision (virus)")
    pr_axes.set_ylim(0, 1.02)
    pr_axes.legend(frameon=False, loc="lower left")
    return f'<div class="plots"><figure>{_svg(roc)}</figure><figure>{_svg(pr)}</figure></div>'


def _value(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return escape(str(value))


def key_values(rows: Sequence[tuple[str, object]]) -> str:
    body = "".join(f'<tr><td class="id">{escape(k)}</td><td>{_value(v)}</td></tr>' for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def rows_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_value(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def metric_cards(metrics: Metrics) -> str:
    shown = [
        ("accuracy", metrics.accuracy),
        ("precision", metrics.precision),
        ("recall", metrics.recall),
        ("F1", metrics.f1),
        ("ROC AUC", metrics.roc_auc),
        ("average precision", metrics.average_precision),
    ]
    return (
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{_value(v)}</b>{escape(k)}</div>' for k, v in shown)
        + "</div>"
    )


def confusion(metrics: Metrics) -> str:
    return rows_table(
        ["", "called virus", "called others"],
        [
            ["viral", metrics.true_positives, metrics.false_negatives],
            ["host", metrics.false_positives, metrics.true_negatives],
        ],
    )


def page(title: str, intro: str, body: str) -> str:
    style = (
        asset("report.css") + ".plots{display:flex;flex-wrap:wrap;gap:1rem}.plots figure{margin:0}"
        "table.kv{width:auto}table.kv td{text-align:left}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{style}</style></head><body>
<h1>{escape(title)}</h1>
<p class="muted">{intro}</p>
{body}
<p class="muted">virnucpro {escape(__version__)}</p>
</body></html>
"""


def training_report(result: TrainingResult, recipe: Recipe, chunk_size: int | None) -> str:
    """training_report.html of `virnucpro train`."""
    best = next(e for e in result.history if e.epoch == result.best_epoch)
    data = result.summary
    stop = (
        f"stopped early after epoch {result.history[-1].epoch} (no better test loss for {recipe.patience} epochs)"
        if result.stopped_early
        else f"ran all {recipe.max_epochs} epochs"
    )
    intro = (
        f"{data.train_rows:,} training and {data.test_rows:,} test rows of {result.model.input_dim} features"
        f"{f', {chunk_size} bp chunks' if chunk_size else ''}; {stop}; the classifier keeps the weights of epoch "
        f"{result.best_epoch}, the lowest test loss."
    )
    files = [[f["file"], f["label"], f["group"], f["rows"], f["used"]] for f in data.files]
    groups = [[g, v["files"], v["rows"], v["used"]] for g, v in sorted(data.groups.items())]
    body = (
        f"<h2>Test split, kept weights (epoch {result.best_epoch})</h2>{metric_cards(best.metrics)}"
        f"{confusion(best.metrics)}"
        f"<h2>Learning curves</h2><div class='plots'><figure>{learning_curves(result.history, result.best_epoch)}"
        f"</figure><figure>{metric_curves(result.history)}</figure></div>"
        f"<h2>ROC and precision-recall (test split)</h2>"
        f"{roc_and_pr(result.test_labels, result.test_probabilities[:, 1], best.metrics)}"
        f"<h2>Data</h2><p class='muted'>{'Balanced' if data.balanced else 'Not balanced'}: {data.viral_rows:,} viral "
        f"and {data.host_rows:,} host rows used.</p>"
        f"{rows_table(['group', 'files', 'rows', 'used'], groups)}"
        f"<h3>Files</h3>{rows_table(['file', 'label', 'group', 'rows', 'used'], files)}"
        f"<h2>Recipe</h2>{key_values([(k, str(v)) for k, v in asdict(recipe).items()])}"
        f"<h2>Epochs</h2>{epochs_table(result.history)}"
    )
    return page("VirNucPro training report", intro, body)


def epochs_table(history: Sequence[Epoch]) -> str:
    rows = [
        [
            e.epoch,
            f"{e.lr:.4g}",
            e.train_loss,
            e.test_loss,
            e.metrics.accuracy,
            e.metrics.precision,
            e.metrics.recall,
            e.metrics.f1,
            e.metrics.roc_auc,
            "yes" if e.improved else "",
        ]
        for e in history
    ]
    return rows_table(
        ["epoch", "lr", "training loss", "test loss", "accuracy", "precision", "recall", "F1", "ROC AUC", "improved"],
        rows,
    )


def evaluation_report(result: Evaluation, classifier: str, metadata: dict[str, str]) -> str:
    """evaluation_report.html of `virnucpro evaluate`."""
    frames, chunks = result.frames, result.chunks
    intro = (
        f"{escape(classifier)} on {frames.rows:,} labelled frames ({frames.positives:,} viral) in "
        f"{chunks.rows:,} chunks ({chunks.positives:,} viral). Frames: virus when P(virus) &gt; P(others); "
        "chunks: virus when max P(virus) &ge; max P(others) over the chunk's frames (the published rule)."
    )
    files = [[f["file"], f["label"], f["group"], f["rows"]] for f in result.per_file]
    shown = {
        k: v
        for k, v in metadata.items()
        if k in ("format", "chunk_size", "input_dim", "feature_dims", "best_epoch", "trained_by")
    }
    body = (
        f"<h2>Frames</h2>{metric_cards(frames)}{confusion(frames)}"
        f"{roc_and_pr(result.labels, result.probabilities[:, 1], frames)}"
        f"<h2>Chunks</h2>{metric_cards(chunks)}{confusion(chunks)}"
        f"{roc_and_pr(result.chunk_labels, result.chunk_score, chunks)}"
        f"<h2>Files</h2>{rows_table(['file', 'label', 'group', 'frames'], files)}"
        f"<h2>Classifier</h2>{key_values(list(shown.items()))}"
    )
    return page("VirNucPro evaluation report", intro, body)
