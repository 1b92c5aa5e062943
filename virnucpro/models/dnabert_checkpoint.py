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
from virnucpro.models.weights import (
    assign_state,
    check_heads,
    check_int,
    check_layer_count,
    check_state,
    few,
    load_torch_file,
)

log = logging.getLogger("virnucpro")

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
MAX_CONFIG_BYTES = 1 << 20  # a config.json is a few hundred bytes
# plausible sizes (DNABERT-S: vocab 4096, hidden 768, 12 layers, 12 heads, intermediate 3072), with room to spare
SIZE_LIMITS = {"vocab_size": 1 << 20, "hidden_size": 1 << 15, "num_hidden_layers": 256, "num_attention_heads": 1024,
               "intermediate_size": 1 << 17, "type_vocab_size": 1024, "alibi_starting_size": 1 << 20}  # fmt: skip
LAYER_KEY = r"^(?:bert\.)?encoder\.layer\.(\d+)\."


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
    values = read_json(path, "a DNABERT-S model directory has config.json")
    if not isinstance(values, dict):
        raise InputError(f"{path}: not a model configuration")
    model_type = values.get("model_type", "bert")
    if model_type != "bert" or "alibi_starting_size" not in values:
        raise InputError(
            f"{path}: not a DNABERT-2/DNABERT-S configuration (model_type {model_type!r}, "
            f"{'has' if 'alibi_starting_size' in values else 'no'} alibi_starting_size)"
        )
    missing = [name for name in CONFIG_FIELDS if name not in values]
    if missing:
        raise InputError(f"{path}: lacks the field(s) {', '.join(missing)}")
    for name, high in SIZE_LIMITS.items():
        if name in values or name in CONFIG_FIELDS:
            check_int(path, name, values[name], 1, high)
    check_heads(path, "hidden_size", values["hidden_size"], "num_attention_heads", values["num_attention_heads"])
    eps = values.get("layer_norm_eps", 1e-12)
    if type(eps) not in (int, float) or not 0 < eps < 1:
        raise InputError(f"{path}: layer_norm_eps is {eps!r}; expected a number between 0 and 1")
    return DNABERT2Config.from_dict(values)


def read_json(path: Path, why: str) -> Any:
    """A small JSON file's content; a missing, huge, binary or malformed file is one `InputError`."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise InputError(f"{path}: {path.stat().st_size:,} bytes: too large for a configuration file")
        return json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file ({why})") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a JSON file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: not a configuration (nested too deeply)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def weights_file(model_dir: Path) -> Path:
    """model.safetensors, or else pytorch_model.bin (what the loader reads)."""
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise InputError(f"{model_dir}: has neither {' nor '.join(WEIGHT_FILES)}")


def read_weight_shapes(model_dir: Path) -> tuple[dict[str, tuple[int, ...]], Path]:
    """Name -> shape of every tensor in the weights file, from the safetensors header alone (no tensor is read)
    or from a memory-mapped torch file."""
    path = weights_file(model_dir)
    if path.name == "pytorch_model.bin":
        state = load_torch_file(path, "model weights")
        if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
            raise InputError(f"{path}: not a state dict of tensors")
        return {str(name): tuple(t.shape) for name, t in state.items()}, path
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}, path  # noqa: SIM118
    except Exception as exc:  # safetensors raises several types for damaged files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as model weights ({reason})") from None


def read_weights(model_dir: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """The state dict from model.safetensors or pytorch_model.bin (weights only, memory-mapped)."""
    path = weights_file(model_dir)
    if path.name == "pytorch_model.bin":
        return load_torch_file(path, "model weights"), path
    from safetensors.torch import load_file

    try:
        return load_file(path), path
    except Exception as exc:  # safetensors raises several types for damaged files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as model weights ({reason})") from None


def encoder_state(state: dict[str, Any], model: DNABERT2, path: Path) -> dict[str, Any]:
    """Map either key layout onto the model's names; check names and shapes (one error lists every bad key).

    The values may be tensors or shapes (from `read_weight_shapes`)."""
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


def meta_model(config: DNABERT2Config, state: dict[str, Any], path: Path) -> tuple[DNABERT2, dict[str, Any]]:
    """The model on the meta device and the state mapped onto its names, once the layer count is checked."""
    check_layer_count(path, state, LAYER_KEY, "num_hidden_layers", config.num_hidden_layers)
    with torch.device("meta"):
        model = DNABERT2(config)
    return model, encoder_state(state, model, path)


def check_dnabert2(model_dir: str | Path) -> DNABERT2Config:
    """Check a DNABERT-S directory's configuration against its weights' names and shapes without reading any
    weights (the safetensors header is enough); return the configuration."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    shapes, path = read_weight_shapes(model_dir)
    meta_model(config, shapes, path)
    return config


def load_dnabert2(model_dir: str | Path, device: torch.device, dtype: torch.dtype) -> DNABERT2:
    """An eval-mode DNABERT2 on `device` in `dtype` from a Hugging Face-layout directory."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    state, path = read_weights(model_dir)
    model, kept = meta_model(config, state, path)
    assign_state(model, kept, device, dtype, keep_fp32=is_fp32_parameter)
    log.debug("DNABERT-2 encoder %s from %s", config, path)
    return model.eval()
