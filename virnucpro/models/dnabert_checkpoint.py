"""Load DNABERT-2 / DNABERT-S weights from a Hugging Face-layout directory, without running any code from it.

The directory holds config.json, model.safetensors or pytorch_model.bin, and tokenizer.json. Two key layouts
are accepted: a plain BertModel (`embeddings.*`, `encoder.*`, optionally `pooler.*`) and a masked-LM
checkpoint (`bert.`-prefixed keys, optionally `bert.pooler.*`, plus a `cls.*` head). The pooler and the MLM
head are not used for embeddings and are skipped; anything else missing or unexpected is one error that
lists the keys.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from virnucpro.errors import InputError
from virnucpro.models.dnabert2 import CONFIG_FIELDS, DNABERT2, DNABERT2Config
from virnucpro.models.weights import assign_state, check_state, few, load_torch_file

log = logging.getLogger("virnucpro")

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def is_fp32_parameter(name: str) -> bool:
    """Embeddings and LayerNorms stay fp32 under bf16/fp16 (standard mixed precision): rounding them is what
    moves a post-norm encoder's output most, and they are a small share of the weights."""
    return name.startswith("embeddings.") or "LayerNorm" in name or "layernorm" in name


def read_config(model_dir: Path) -> DNABERT2Config:
    """config.json -> DNABERT2Config; configs of other architectures are refused."""
    if not model_dir.is_dir():
        raise InputError(
            f"{model_dir}: no such directory" if not model_dir.exists() else f"{model_dir}: not a directory"
        )
    path = model_dir / "config.json"
    try:
        values: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (a DNABERT-S model directory has config.json)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(values, dict):
        raise InputError(f"{path}: not a model configuration")
    model_type = values.get("model_type", "bert")
    if model_type != "bert" or "alibi_starting_size" not in values:
        raise InputError(
            f"{path}: not a DNABERT-2/DNABERT-S configuration (model_type {model_type!r}, "
            f"{'has' if 'alibi_starting_size' in values else 'no'} alibi_starting_size)"
        )
    missing = [name for name in CONFIG_FIELDS if not isinstance(values.get(name), int)]
    if missing:
        raise InputError(f"{path}: lacks integer field(s) {', '.join(missing)}")
    return DNABERT2Config.from_dict(values)


def read_weights(model_dir: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """The state dict from model.safetensors or pytorch_model.bin (weights only, memory-mapped)."""
    for name in WEIGHT_FILES:
        path = model_dir / name
        if not path.is_file():
            continue
        if name == "pytorch_model.bin":
            return load_torch_file(path, "model weights"), path
        from safetensors.torch import load_file

        try:
            return load_file(path), path
        except Exception as exc:  # safetensors raises several types for damaged files
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{path}: cannot be read as model weights ({reason})") from None
    raise InputError(f"{model_dir}: has neither {' nor '.join(WEIGHT_FILES)}")


def encoder_state(state: dict[str, Any], model: DNABERT2, path: Path) -> dict[str, torch.Tensor]:
    """Map either key layout onto the model's names; check names and shapes (one error lists every bad key)."""
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a state dict")
    what = "a DNABERT-2/DNABERT-S checkpoint"
    if any(name.startswith("bert.") for name in state):  # BertForMaskedLM: the encoder under 'bert.', a 'cls.' head
        stray = sorted(name for name in state if not name.startswith(("bert.", "cls.")))
        kept = {name.removeprefix("bert."): t for name, t in state.items() if name.startswith("bert.")}
    else:  # BertModel
        stray, kept = [], dict(state)
    kept = {name: t for name, t in kept.items() if not name.startswith("pooler.")}
    if stray:  # keys of neither layout beside the 'bert.' ones
        expected = model.state_dict()
        missing = sorted(set(expected) - set(kept))
        unexpected = sorted(stray + [name for name in kept if name not in expected])
        raise InputError(f"{path}: not {what}: missing keys {few(missing)}; unexpected keys {few(unexpected)}")
    check_state(kept, model, path, what)
    return kept


def load_dnabert2(model_dir: str | Path, device: torch.device, dtype: torch.dtype) -> DNABERT2:
    """An eval-mode DNABERT2 on `device` in `dtype` from a Hugging Face-layout directory."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    state, path = read_weights(model_dir)
    with torch.device("meta"):
        model = DNABERT2(config)
    kept = encoder_state(state, model, path)
    assign_state(model, kept, device, dtype, keep_fp32=is_fp32_parameter)
    log.debug("DNABERT-2 encoder %s from %s", config, path)
    return model.eval()
