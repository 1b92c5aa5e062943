"""The VirNucPro classifier (an MLP over the 3328-d DNABERT-S + ESM-2 vector) and safe ways to load it.

Architecture, with the published attribute names: hidden_layer Linear(3328, 512) -> bn1 BatchNorm1d(512) ->
ReLU -> Dropout(0.5) -> output_layer Linear(512, 2). Index 0 is "others", index 1 is "virus".

The published 300_model.pth / 500_model.pth are whole modules pickled with `torch.save(model)` from a
training script's `__main__`. They are read with torch's weights-only unpickler, which refuses every
global that is not allow-listed: here `__main__.MLPClassifier` is mapped to the class below, and only the
torch layers it contains are added; anything else in the file is refused and never executed.
`export-classifier` writes the same weights as a safetensors file, which `predict` reads too.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from virnucpro.errors import InputError

OTHERS, VIRUS = 0, 1
EXPORT_FORMAT = "virnucpro-classifier"
PUBLISHED_CLASS = "__main__.MLPClassifier"


class MLPClassifier(nn.Module):
    """x [B, input_dim] -> logits [B, num_class]."""

    def __init__(self, input_dim: int = 3328, hidden_dim: int = 512, num_class: int = 2) -> None:
        super().__init__()
        self.hidden_layer = nn.Linear(input_dim, hidden_dim)
        self.bn1 = nn.BatchNorm1d(hidden_dim)
        self.output_layer = nn.Linear(hidden_dim, num_class)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.hidden_layer(x)))
        return self.output_layer(self.dropout(x))

    @property
    def input_dim(self) -> int:
        return self.hidden_layer.in_features


# what a pickled MLPClassifier may reference beyond tensors and containers (torch allows those by default)
ALLOWED_GLOBALS = [
    (MLPClassifier, PUBLISHED_CLASS),
    nn.Linear,
    nn.BatchNorm1d,
    nn.Dropout,
    nn.ReLU,
    set,
]


def architecture_from_state(state: dict[str, torch.Tensor], path: Path) -> MLPClassifier:
    """An MLPClassifier shaped like `state` (its input, hidden and class sizes)."""
    try:
        hidden_dim, input_dim = state["hidden_layer.weight"].shape
        num_class = state["output_layer.weight"].shape[0]
    except (KeyError, ValueError, AttributeError):
        raise InputError(f"{path}: not a VirNucPro classifier (no hidden_layer/output_layer weights)") from None
    return MLPClassifier(input_dim, hidden_dim, num_class)


def _load_pickled_module(path: Path) -> dict[str, torch.Tensor]:
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # the weights-only unpickler raises UnpicklingError; corrupt archives other types
        text = str(exc)
        found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([^\s,]+)", text)
        if found:
            raise InputError(
                f"{path}: refused: the file references {found.group(1)}, which a VirNucPro classifier never "
                "contains (nothing in it was executed)"
            ) from None
        reason = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as a classifier ({reason})") from None
    if isinstance(obj, MLPClassifier):
        return obj.state_dict()
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj  # a plain state dict saved with torch.save(model.state_dict())
    raise InputError(f"{path}: holds a {type(obj).__name__}, not a VirNucPro classifier")


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - not a dict
    except Exception as exc:  # safetensors raises several types for foreign files
        raise InputError(f"{path}: neither a torch checkpoint nor a safetensors file ({exc})") from None
    if metadata.get("format") != EXPORT_FORMAT:
        raise InputError(f"{path}: a safetensors file, but not one written by `virnucpro export-classifier`")
    return state


def load_classifier(path: str | Path, device: torch.device | str = "cpu") -> MLPClassifier:
    """The classifier in eval mode (BatchNorm running statistics, no dropout), from either file format."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    state = _load_pickled_module(path) if zipfile.is_zipfile(path) else _load_safetensors(path)
    model = architecture_from_state(state, path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not fit the classifier ({str(exc).splitlines()[0]})") from None
    return model.to(device).eval()


def export_classifier(source: str | Path, target: str | Path) -> None:
    """Write a classifier's weights (any accepted format) as a weights-only safetensors file."""
    from safetensors.torch import save_file

    from virnucpro.atomic import atomic_path

    model = load_classifier(source)
    metadata = {"format": EXPORT_FORMAT, "input_dim": str(model.input_dim)}
    size = published_chunk_size(Path(source))
    if size:
        metadata["chunk_size"] = str(size)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    with atomic_path(target) as tmp:
        save_file(state, str(tmp), metadata=metadata)


def published_chunk_size(path: Path) -> int | None:
    """The chunk size a classifier was trained for, where its file tells: '300_model.pth', or export metadata."""
    found = re.search(r"(?<!\d)(300|500)_model", path.name)
    if found:
        return int(found.group(1))
    if path.suffix == ".safetensors" and path.is_file():
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                size = (handle.metadata() or {}).get("chunk_size")
            return int(size) if size else None
        except Exception:  # an unreadable file is reported when it is loaded
            return None
    return None
