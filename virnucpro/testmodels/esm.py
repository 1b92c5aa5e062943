"""Small random ESM-2 checkpoints built by fair-esm itself, saved in fair-esm's checkpoint format.

The file holds {'model': state dict with fair-esm's 'encoder.sentence_encoder.' / 'encoder.' prefixes,
'cfg': {'model': Namespace(encoder_layers, encoder_embed_dim, encoder_attention_heads, token_dropout)}},
and a '<name>-contact-regression.pt' sibling holds the contact head, as for the published models, so
fair-esm's own `load_model_and_alphabet_local` reads it too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def build_esm2(num_layers: int, embed_dim: int, heads: int, seed: int, scale: float = 1.0):
    """A fair-esm ESM2 with seeded random weights; `scale` > 1 spreads embeddings to make tests sharper."""
    import esm

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = esm.model.esm2.ESM2(num_layers=num_layers, embed_dim=embed_dim, attention_heads=heads)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if name.endswith("bias") and "layer_norm" not in name:
                    parameter.normal_(0.0, 0.02)  # fair-esm zero-initialises biases; random ones test more
            model.embed_tokens.weight.mul_(scale)
    return model.eval()


def checkpoint_state(model: torch.nn.Module, dtype: torch.dtype = torch.float32) -> tuple[dict, dict]:
    """(model state, contact-regression state) with the key prefixes of the published checkpoint files."""
    model_state, regression_state = {}, {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().clone().to(dtype) if tensor.is_floating_point() else tensor.detach().clone()
        if name.startswith("contact_head.regression."):
            regression_state[name] = tensor
        elif name.startswith("lm_head."):
            model_state[f"encoder.{name}"] = tensor
        else:
            model_state[f"encoder.sentence_encoder.{name}"] = tensor
    return model_state, regression_state


def save_esm2_checkpoint(
    path: str | Path,
    num_layers: int = 2,
    embed_dim: int = 32,
    heads: int = 4,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    model: torch.nn.Module | None = None,
) -> Path:
    """Write a fair-esm-format ESM-2 checkpoint (and its contact-regression sibling); return its path."""
    path = Path(path)
    model = model if model is not None else build_esm2(num_layers, embed_dim, heads, seed)
    model_state, regression_state = checkpoint_state(model, dtype)
    cfg = argparse.Namespace(
        encoder_layers=model.num_layers,
        encoder_embed_dim=model.embed_dim,
        encoder_ffn_embed_dim=4 * model.embed_dim,
        encoder_attention_heads=model.attention_heads,
        token_dropout=model.token_dropout,
        arch="ESM-1b",
    )
    torch.save({"model": model_state, "cfg": {"model": cfg}}, path)
    torch.save({"model": regression_state}, path.with_name(f"{path.stem}-contact-regression.pt"))
    return path
