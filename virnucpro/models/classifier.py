"""The VirNucPro classifier (an MLP over the 3328-d DNABERT-S + ESM-2 vector) and safe ways to load it.

Architecture, with the published attribute names: hidden_layer Linear(3328, 512) -> bn1 BatchNorm1d(512) ->
ReLU (functional) -> Dropout(0.5) -> output_layer Linear(512, 2). Index 0 is "others", index 1 is "virus".

The published 300_model.pth / 500_model.pth are whole modules pickled by `torch.save(model)` from the training
script's `__main__`. They are read with torch's weights-only unpickler, which refuses every global that is not
allow-listed. The allow-list maps the four names such a file holds (`__main__.MLPClassifier` and its Linear,
BatchNorm1d and Dropout layers) to inert records that only keep the pickled attributes: no module code runs
while reading. The weights are then taken from the records' parameter and buffer dicts, checked against the
architecture and loaded into a fresh `MLPClassifier`. Anything else in the file is refused, never executed.
`export-classifier` writes the same weights as a safetensors file with metadata, which `predict` reads too.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import struct
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from virnucpro.errors import InputError

OTHERS, VIRUS = 0, 1
EXPORT_FORMAT = "virnucpro-classifier"
PUBLISHED_CHUNK_SIZES = (300, 500)


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


# ---- reading the published pickle -------------------------------------------------------------------------


class PickledModule:
    """What the unpickler builds for an allow-listed module class: its pickled attributes, nothing else.

    Creating one takes no arguments and restoring its state only stores a dict, so a file cannot make the
    unpickler run module code (an `nn.Module.__setstate__`, a constructor with huge sizes, hooks).
    """

    pickled_name: ClassVar[str]

    def __init__(self, *args: object) -> None:
        if args:  # torch.save never calls a module class; a crafted file could, with huge layer sizes
            raise pickle.UnpicklingError(f"{self.pickled_name} is called with arguments")
        self.attributes: dict[str, Any] = {}

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"{self.pickled_name}: unexpected pickled state {type(state).__name__}")
        self.attributes = state


class PickledMLPClassifier(PickledModule):
    pickled_name = "__main__.MLPClassifier"


class PickledLinear(PickledModule):
    pickled_name = "torch.nn.modules.linear.Linear"


class PickledBatchNorm1d(PickledModule):
    pickled_name = "torch.nn.modules.batchnorm.BatchNorm1d"


class PickledDropout(PickledModule):
    pickled_name = "torch.nn.modules.dropout.Dropout"


RECORDS = (PickledMLPClassifier, PickledLinear, PickledBatchNorm1d, PickledDropout)
# the layers of a published classifier: attribute name -> record type
LAYERS = {"hidden_layer": PickledLinear, "bn1": PickledBatchNorm1d, "output_layer": PickledLinear,
          "dropout": PickledDropout}  # fmt: skip


def _refusal(path: Path, exc: Exception) -> InputError:
    """One line for an exception of torch.load: a refusal by the weights-only unpickler, or a broken file."""
    text = str(exc)
    found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([^\s,]+)", text)
    if found:
        return InputError(
            f"{path}: refused: the file references {found.group(1)}, which a VirNucPro classifier never "
            "contains (nothing in it was executed)"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not isinstance(exc, pickle.UnpicklingError):
        if "Invalid magic number" in text:
            return InputError(f"{path}: neither a torch checkpoint nor a safetensors file")
        reason = lines[0].split(". ")[0] if lines else type(exc).__name__
        return InputError(f"{path}: not a readable torch checkpoint ({reason})")
    # torch puts the unpickler's own message between paragraphs of advice
    found = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
    reason = found.group(1).strip() if found else lines[-1] if lines else type(exc).__name__
    return InputError(f"{path}: refused: not a plain pickled VirNucPro classifier ({reason})")


def _unpickle(path: Path) -> object:
    """torch.load with only the published classifier's names allowed, each mapped to an inert record."""
    allowed = [(record, record.pickled_name) for record in RECORDS]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # the weights-only unpickler raises UnpicklingError; broken archives other types
        raise _refusal(path, exc) from None


def _tensors(record: PickledModule, key: str, path: Path, layer: str) -> dict[str, torch.Tensor]:
    values = record.attributes.get(key, {})
    if not isinstance(values, dict):
        raise InputError(f"{path}: not a VirNucPro classifier ({layer}: {key} is a {type(values).__name__})")
    tensors = {}
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, torch.Tensor):
            raise InputError(f"{path}: not a VirNucPro classifier ({layer}.{name} is not a tensor)")
        tensors[name] = value.detach()
    return tensors


def state_from_records(root: object, path: Path) -> tuple[dict[str, torch.Tensor], float]:
    """The state dict and BatchNorm eps of an unpickled published classifier (or of a plain state dict)."""
    if isinstance(root, dict) and root and all(isinstance(v, torch.Tensor) for v in root.values()):
        return {str(name): tensor.detach() for name, tensor in root.items()}, 1e-5  # torch.save(model.state_dict())
    if not isinstance(root, PickledMLPClassifier):
        kind = root.pickled_name if isinstance(root, PickledModule) else type(root).__name__
        raise InputError(f"{path}: holds a {kind}, not a VirNucPro classifier")
    modules = root.attributes.get("_modules")
    if not isinstance(modules, dict) or set(modules) != set(LAYERS):
        names = sorted(modules) if isinstance(modules, dict) else []
        raise InputError(f"{path}: not a VirNucPro classifier (layers {names}, expected {sorted(LAYERS)})")
    if _tensors(root, "_parameters", path, "MLPClassifier") or _tensors(root, "_buffers", path, "MLPClassifier"):
        raise InputError(f"{path}: not a VirNucPro classifier (weights outside its layers)")
    state: dict[str, torch.Tensor] = {}
    for layer, kind in LAYERS.items():
        record = modules[layer]
        if type(record) is not kind:
            raise InputError(f"{path}: not a VirNucPro classifier ({layer} is not a {kind.pickled_name})")
        for key in ("_parameters", "_buffers"):
            state.update({f"{layer}.{name}": t for name, t in _tensors(record, key, path, layer).items()})
    eps = modules["bn1"].attributes.get("eps", 1e-5)
    if type(eps) is not float or not 0 < eps < 1:
        raise InputError(f"{path}: not a VirNucPro classifier (bn1.eps is {eps!r})")
    return state, eps


# ---- the exported safetensors file --------------------------------------------------------------------------


def _is_safetensors(path: Path) -> bool:
    """A safetensors file starts with the little-endian length of a JSON header, then '{'."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    return len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] < path.stat().st_size


def _safetensors_metadata(path: Path) -> dict[str, str]:
    with open(path, "rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        try:
            header = json.loads(handle.read(size))
        except ValueError:
            return {}
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], float]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - not a dict
    except Exception as exc:  # safetensors raises several types for broken files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable safetensors file ({reason})") from None
    if metadata.get("format") != EXPORT_FORMAT:
        raise InputError(
            f"{path}: a safetensors file, but not one written by `virnucpro export-classifier` or `virnucpro train`"
        )
    try:
        eps = float(metadata.get("bn1_eps", "1e-05"))
    except ValueError:
        raise InputError(f"{path}: bad bn1_eps in the metadata: {metadata['bn1_eps']!r}") from None
    return state, eps


# ---- loading, exporting -------------------------------------------------------------------------------------


def _read_state(path: Path) -> tuple[dict[str, torch.Tensor], float]:
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    if _is_safetensors(path):
        return _load_safetensors(path)
    with open(path, "rb") as handle:
        torch_file = handle.read(2) in (b"PK", b"\x80\x02")  # a zip archive, or torch's legacy pickle format
    if not torch_file:
        raise InputError(f"{path}: neither a torch checkpoint nor a safetensors file")
    return state_from_records(_unpickle(path), path)


def architecture_from_state(state: dict[str, torch.Tensor], path: Path) -> MLPClassifier:
    """An MLPClassifier shaped like `state` (its input and hidden sizes; always two classes)."""
    try:
        hidden_dim, input_dim = state["hidden_layer.weight"].shape
        num_class = state["output_layer.weight"].shape[0]
    except (KeyError, ValueError):
        raise InputError(f"{path}: not a VirNucPro classifier (no 2-d hidden_layer/output_layer weights)") from None
    if num_class != 2:
        raise InputError(f"{path}: the classifier has {num_class} classes; VirNucPro's has 2 (others, virus)")
    return MLPClassifier(input_dim, hidden_dim, num_class)


def load_classifier(path: str | Path, device: torch.device | str = "cpu") -> MLPClassifier:
    """The classifier in eval mode (BatchNorm running statistics, no dropout), from either file format."""
    path = Path(path)
    state, eps = _read_state(path)
    model = architecture_from_state(state, path)
    model.bn1.eps = eps
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        reason = " ".join(str(exc).split())
        raise InputError(f"{path}: weights do not fit the classifier ({reason})") from None
    broken = [
        name for name, tensor in state.items() if tensor.is_floating_point() and not bool(tensor.isfinite().all())
    ]
    if broken:
        raise InputError(f"{path}: the classifier's {', '.join(sorted(broken))} hold NaN or infinity")
    return model.to(device).eval()


def export_classifier(source: str | Path, target: str | Path, chunk_size: int | None = None) -> dict[str, str]:
    """Write a classifier's weights (any accepted format) as a weights-only safetensors file; return its metadata.

    The metadata records the input size, BatchNorm eps and the chunk size the classifier was trained on
    (given, or told by the source: '300_model.pth', or the source's own metadata).
    """
    from safetensors.torch import save_file

    from virnucpro.atomic import atomic_path

    source = Path(source)
    model = load_classifier(source)
    chunk_size = chunk_size or published_chunk_size(source)
    metadata = {"format": EXPORT_FORMAT, "input_dim": str(model.input_dim), "bn1_eps": repr(model.bn1.eps)}
    if chunk_size:
        metadata["chunk_size"] = str(chunk_size)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    with atomic_path(target) as tmp:
        try:
            save_file(state, str(tmp), metadata=metadata)
        except Exception as exc:  # safetensors reports I/O errors as its own type, with the OS error code in the text
            found = re.search(r"os error (\d+)", str(exc))
            if not found:
                raise
            code = int(found.group(1))
            raise OSError(code, os.strerror(code)) from None
    return metadata


def classifier_metadata(path: str | Path) -> dict[str, str]:
    """What a classifier file says about itself: the safetensors metadata of an export or a `train` output
    (chunk size, feature dims, recipe, data summary); for a published pickle, its chunk size if its name tells."""
    path = Path(path)
    if path.is_file() and _is_safetensors(path):
        return dict(_safetensors_metadata(path))
    size = published_chunk_size(path)
    return {"format": "whole pickled module", **({"chunk_size": str(size)} if size else {})}


def published_chunk_size(path: str | Path) -> int | None:
    """The chunk size a classifier was trained on, where its file tells: '300_model.pth', or export metadata."""
    path = Path(path)
    found = re.search(r"(?<!\d)(300|500)_model", path.name)
    if found:
        return int(found.group(1))
    if path.is_file() and _is_safetensors(path):
        size = _safetensors_metadata(path).get("chunk_size", "")
        return int(size) if size.isdigit() else None
    return None
