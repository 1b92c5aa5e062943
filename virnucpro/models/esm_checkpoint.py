"""Load a fair-esm ESM-2 checkpoint safely, straight onto the target device in the target dtype.

A fair-esm checkpoint is `torch.save({'model': state_dict, 'cfg': {'model': Namespace(...)}, ...})`. It is
read with `weights_only=True` (only `argparse.Namespace` is allowed beyond tensors and containers) and
memory-mapped; the model is built on the 'meta' device and each tensor is moved once, already converted,
to the target device: no fp32 copy of a 3B model ever exists on the CPU.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path
from typing import Any

import torch

from virnucpro.errors import InputError
from virnucpro.models.esm2 import ESM2, ESM2Config
from virnucpro.models.weights import (
    assign_state,
    check_heads,
    check_int,
    check_layer_count,
    check_state,
    load_torch_file,
)

log = logging.getLogger("virnucpro")

PREFIX = re.compile(r"^(encoder\.sentence_encoder\.|encoder\.)")  # fair-esm strips these
# parts of the checkpoint an encoder does not use: language-model head, contact head, per-layer rotary buffers
IGNORED = re.compile(r"^(lm_head\.|contact_head\.)|\.rot_emb\.inv_freq$")
LAYER_KEY = r"^(?:encoder\.sentence_encoder\.|encoder\.)?layers\.(\d+)\."
# plausible sizes (ESM-2 15B: 48 layers, 5120 wide, 40 heads), with room to spare
SIZE_LIMITS = {"encoder_layers": 256, "encoder_embed_dim": 1 << 15, "encoder_attention_heads": 1024}


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's contents, read safely; it must hold a 'model' state dict."""
    data = load_torch_file(path, "a fair-esm checkpoint", allowed=[argparse.Namespace])
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise InputError(f"{path}: not a fair-esm ESM-2 checkpoint (no 'model' state dict)")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data["model"].items()):
        raise InputError(f"{path}: not a fair-esm ESM-2 checkpoint ('model' holds values other than tensors)")
    return data


def esm2_config(data: dict[str, Any], path: Path) -> ESM2Config:
    """The architecture from the checkpoint's cfg['model'] (a Namespace or a dict)."""
    cfg = data.get("cfg")
    model_cfg = cfg.get("model") if isinstance(cfg, dict) else None
    fields = vars(model_cfg) if isinstance(model_cfg, argparse.Namespace) else model_cfg
    names = tuple(SIZE_LIMITS)
    if not isinstance(fields, dict) or not all(n in fields for n in names):
        raise InputError(f"{path}: not an ESM-2 checkpoint (cfg['model'] lacks {', '.join(names)})")
    for name, high in SIZE_LIMITS.items():
        check_int(path, f"cfg['model'].{name}", fields[name], 1, high)
    check_heads(path, "encoder_embed_dim", fields["encoder_embed_dim"], "encoder_attention_heads",
                fields["encoder_attention_heads"])  # fmt: skip
    if fields["encoder_embed_dim"] // fields["encoder_attention_heads"] % 2:
        raise InputError(f"{path}: the attention head width is odd; rotary embeddings need an even one")
    return ESM2Config(
        num_layers=fields["encoder_layers"],
        embed_dim=fields["encoder_embed_dim"],
        attention_heads=fields["encoder_attention_heads"],
        token_dropout=bool(fields.get("token_dropout", True)),
    )


def encoder_state(state: dict[str, torch.Tensor], model: ESM2, path: Path) -> dict[str, torch.Tensor]:
    """Strip fair-esm's prefixes, drop unused heads, and check names and shapes against the model."""
    renamed = {PREFIX.sub("", name): tensor for name, tensor in state.items()}
    kept = {name: tensor for name, tensor in renamed.items() if not IGNORED.search(name)}
    check_state(kept, model, path, "an ESM-2 checkpoint of the architecture its cfg describes")
    return kept


def checked_esm2(path: Path) -> tuple[ESM2, dict[str, torch.Tensor]]:
    """The model on the meta device and its checked state (memory-mapped), sizes and layer count checked first."""
    data = read_checkpoint(path)
    config = esm2_config(data, path)
    check_layer_count(path, data["model"], LAYER_KEY, "cfg['model'].encoder_layers", config.num_layers)
    with torch.device("meta"):
        model = ESM2(config)
    return model, encoder_state(data["model"], model, path)


def check_esm2(path: str | Path) -> ESM2Config:
    """Check an ESM-2 checkpoint's configuration against its tensors' names and shapes; return the configuration.

    The checkpoint is memory-mapped: no tensor data is read, so this is cheap even for the 3B model."""
    model, _ = checked_esm2(Path(path))
    return model.config


def load_esm2(path: str | Path, device: torch.device, dtype: torch.dtype) -> ESM2:
    """An eval-mode ESM2 on `device` in `dtype`, loaded from a fair-esm checkpoint file."""
    path = Path(path)
    model, state = checked_esm2(path)
    config = model.config
    assign_state(model, state, device, dtype)
    log.debug(
        "ESM-2 %d layers, %d dim, %d heads from %s", config.num_layers, config.embed_dim, config.attention_heads, path
    )
    return model.eval()
