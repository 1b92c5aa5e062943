"""A small classifier saved exactly the way the published VirNucPro models are: a whole pickled module.

The original train.py defines `MLPClassifier` in `__main__` and calls `torch.save(model, path)`, so the
pickle names the class `__main__.MLPClassifier`. This builder reproduces that: the class is presented under
that name while saving, and the weights are seeded random values with non-trivial BatchNorm statistics.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from virnucpro.models.classifier import MLPClassifier


def build_classifier(input_dim: int = 3328, hidden_dim: int = 512, seed: int = 0) -> MLPClassifier:
    """Seeded random weights (Xavier like the original), and BatchNorm running statistics that are not 0/1."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        model = MLPClassifier(input_dim, hidden_dim, 2)
        torch.nn.init.xavier_uniform_(model.hidden_layer.weight)
        torch.nn.init.xavier_uniform_(model.output_layer.weight)
        model.bn1.running_mean.normal_(0.0, 0.1)
        model.bn1.running_var.uniform_(0.5, 1.5)
        model.bn1.num_batches_tracked.fill_(1000)
        model.output_layer.bias.copy_(torch.tensor([-0.25, 0.25]))  # so the demo shows both calls
    return model.eval()


class _PublishedName:
    """Present MLPClassifier as `__main__.MLPClassifier` while pickling, as the published files name it."""

    def __enter__(self) -> None:
        self.main = sys.modules["__main__"]
        self.previous = getattr(self.main, "MLPClassifier", None)
        self.module, self.qualname = MLPClassifier.__module__, MLPClassifier.__qualname__
        self.main.MLPClassifier = MLPClassifier  # type: ignore[attr-defined]
        MLPClassifier.__module__ = "__main__"

    def __exit__(self, *exc: object) -> None:
        MLPClassifier.__module__ = self.module
        if self.previous is None:
            del self.main.MLPClassifier  # type: ignore[attr-defined]
        else:
            self.main.MLPClassifier = self.previous  # type: ignore[attr-defined]


def save_published_style(model: MLPClassifier, path: str | Path) -> Path:
    """torch.save the whole module, as the original training script does."""
    path = Path(path)
    with _PublishedName():
        torch.save(model, path)
    return path
