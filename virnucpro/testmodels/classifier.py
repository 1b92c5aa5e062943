"""A small classifier saved exactly the way the published VirNucPro models are: a whole pickled module.

The original train.py defines `MLPClassifier` at the top level of the script it runs and calls
`torch.save(model, path)`, so the pickle names the class `__main__.MLPClassifier` and holds the module's whole
`__dict__` (its Linear, BatchNorm1d and Dropout layers, parameters, buffers and hook dicts). This builder writes
the same pickle: `PublishedMLPClassifier` has our architecture and attribute order and calls itself
`__main__.MLPClassifier`; while saving it is also reachable under that name, as pickle checks. Weights are
seeded random values with non-trivial BatchNorm statistics, so eval mode differs visibly from train mode.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from virnucpro.models.classifier import MLPClassifier


class PublishedMLPClassifier(MLPClassifier):
    """MLPClassifier under the name the published files give it."""


PublishedMLPClassifier.__module__ = "__main__"
PublishedMLPClassifier.__qualname__ = PublishedMLPClassifier.__name__ = "MLPClassifier"


def build_classifier(input_dim: int = 3328, hidden_dim: int = 512, seed: int = 0) -> MLPClassifier:
    """Seeded random weights (Xavier like the original), and BatchNorm running statistics that are not 0/1."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        model = PublishedMLPClassifier(input_dim, hidden_dim, 2)
        torch.nn.init.xavier_uniform_(model.hidden_layer.weight)
        torch.nn.init.xavier_uniform_(model.output_layer.weight)
        model.bn1.running_mean.normal_(0.0, 0.1)
        model.bn1.running_var.uniform_(0.5, 1.5)
        model.bn1.num_batches_tracked.fill_(1000)
        model.output_layer.bias.copy_(torch.tensor([-0.25, 0.25]))  # so the demo shows both calls
    return model.eval()


@contextlib.contextmanager
def _reachable_from_main() -> Iterator[None]:
    """pickle looks the class up under the name it writes; make `__main__.MLPClassifier` find it."""
    main = sys.modules["__main__"]
    missing = object()
    previous = getattr(main, "MLPClassifier", missing)
    main.MLPClassifier = PublishedMLPClassifier  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if previous is missing:
            del main.MLPClassifier  # type: ignore[attr-defined]
        else:
            main.MLPClassifier = previous  # type: ignore[attr-defined]


def save_published_style(model: MLPClassifier, path: str | Path) -> Path:
    """torch.save the whole module as the original training script does (any MLPClassifier's weights)."""
    path = Path(path)
    if type(model) is not PublishedMLPClassifier:
        published = PublishedMLPClassifier(model.input_dim, model.hidden_layer.out_features, 2)
        published.load_state_dict(model.state_dict())
        published.bn1.eps = model.bn1.eps
        model = published.train(model.training)
    with _reachable_from_main():
        torch.save(model, path)
    return path
