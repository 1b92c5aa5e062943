"""ESM-2 (Lin et al., Science 2023) as an embedding encoder, with fair-esm's parameter names.

The same computation as fair-esm's `esm.model.esm2.ESM2` up to the final layer norm, written for inference:
scaled-dot-product attention, rotary tables built once per batch and shared by every layer, the erf GELU,
no attention weights, no language-model or contact heads. Parameter names match fair-esm's state dict
(after its 'encoder.sentence_encoder.' prefix is stripped), so checkpoints load without renaming.

Shapes: B batch, T tokens (BOS + residues + EOS, padded), E embed_dim, H heads, D = E / H.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# fair-esm's "ESM-1b" alphabet indices, which every ESM-2 checkpoint uses
CLS_IDX, PADDING_IDX, EOS_IDX, MASK_IDX = 0, 1, 2, 32
VOCAB_SIZE = 33
TOKEN_DROPOUT_TRAIN_RATIO = 0.15 * 0.8  # fair-esm rescales embeddings by (1 - this) when no token is masked


@dataclass(frozen=True)
class ESM2Config:
    """Architecture hyper-parameters, as in a fair-esm checkpoint's cfg['model']."""

    num_layers: int
    embed_dim: int
    attention_heads: int
    token_dropout: bool = True

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.attention_heads


def rotary_tables(length: int, head_dim: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """cos and sin tables [T, D] of the rotary embedding, computed in fp32 as fair-esm does, then cast."""
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(length, device=device, dtype=torch.float32), inv_freq)  # T, D/2
    angles = torch.cat((angles, angles), dim=-1)  # T, D
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x_i, x_{i+D/2}) of x [B, H, T, D] by position-dependent angles."""
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-second, first), dim=-1) * sin


def transformer_layer(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    mask: torch.Tensor | None,
    heads: int,
    p: dict[str, torch.Tensor],
) -> torch.Tensor:
    """One pre-norm block, x [B, T, E] -> [B, T, E]: x + attn(LN(x)), then x + fc2(gelu(fc1(LN(x)))).

    A plain function of the weights `p`, so one compiled graph serves every layer.
    """
    batch, length, embed = x.shape
    h = F.layer_norm(x, (embed,), p["self_attn_layer_norm.weight"], p["self_attn_layer_norm.bias"])
    q, k, v = (
        F.linear(h, p[f"self_attn.{name}.weight"], p[f"self_attn.{name}.bias"])
        .view(batch, length, heads, embed // heads)
        .transpose(1, 2)  # (B, T, E) -> (B, H, T, D)
        for name in ("q_proj", "k_proj", "v_proj")
    )
    q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
    # fair-esm scales q by D^-0.5 before the rotation; the rotation is linear, so SDPA's own scaling is the same
    attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # B, H, T, D
    attn = attn.transpose(1, 2).reshape(batch, length, embed)  # (B, H, T, D) -> (B, T, E)
    x = x + F.linear(attn, p["self_attn.out_proj.weight"], p["self_attn.out_proj.bias"])
    h = F.layer_norm(x, (embed,), p["final_layer_norm.weight"], p["final_layer_norm.bias"])
    # fair-esm writes the erf GELU out by hand; F.gelu is the same function, fused
    h = F.gelu(F.linear(h, p["fc1.weight"], p["fc1.bias"]))
    return x + F.linear(h, p["fc2.weight"], p["fc2.bias"])


class SelfAttention(nn.Module):
    """Holds the attention weights under fair-esm's names (its MultiheadAttention without rotary buffers)."""

    def __init__(self, config: ESM2Config) -> None:
        super().__init__()
        self.q_proj = nn.Linear(config.embed_dim, config.embed_dim)
        self.k_proj = nn.Linear(config.embed_dim, config.embed_dim)
        self.v_proj = nn.Linear(config.embed_dim, config.embed_dim)
        self.out_proj = nn.Linear(config.embed_dim, config.embed_dim)


class TransformerLayer(nn.Module):
    """Holds one block's weights under fair-esm's names; the computation is `transformer_layer`."""

    def __init__(self, config: ESM2Config) -> None:
        super().__init__()
        self.self_attn = SelfAttention(config)
        self.self_attn_layer_norm = nn.LayerNorm(config.embed_dim)
        self.fc1 = nn.Linear(config.embed_dim, 4 * config.embed_dim)
        self.fc2 = nn.Linear(4 * config.embed_dim, config.embed_dim)
        self.final_layer_norm = nn.LayerNorm(config.embed_dim)


class ESM2(nn.Module):
    """ESM-2 encoder: tokens [B, T] -> final-layer representations [B, T, E] after the last layer norm."""

    def __init__(self, config: ESM2Config) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(VOCAB_SIZE, config.embed_dim, padding_idx=PADDING_IDX)
        self.layers = nn.ModuleList(TransformerLayer(config) for _ in range(config.num_layers))
        self.emb_layer_norm_after = nn.LayerNorm(config.embed_dim)
        self.run_layer: Callable[..., torch.Tensor] = transformer_layer  # a compiled version replaces it on GPUs
        self._layer_weights: list[dict[str, torch.Tensor]] | None = None

    def layer_weights(self) -> list[dict[str, torch.Tensor]]:
        """Each layer's parameters by name, gathered once (the model is frozen for inference)."""
        if self._layer_weights is None:
            self._layer_weights = [dict(layer.named_parameters()) for layer in self.layers]
        return self._layer_weights

    def forward(self, tokens: torch.Tensor, padded: bool | None = None) -> torch.Tensor:
        """`padded`: whether any row is padded, when the caller knows (saves a device-to-host sync)."""
        padding = tokens.eq(PADDING_IDX)  # B, T
        x = self.embed_tokens(tokens)  # B, T, E
        if self.config.token_dropout:
            masked = tokens.eq(MASK_IDX)
            x = x.masked_fill(masked.unsqueeze(-1), 0.0)
            observed = masked.sum(-1).to(x.dtype) / (~padding).sum(-1).to(x.dtype)  # B
            x = x * ((1 - TOKEN_DROPOUT_TRAIN_RATIO) / (1 - observed))[:, None, None]
        x = x.masked_fill(padding.unsqueeze(-1), 0.0)
        cos, sin = rotary_tables(tokens.shape[1], self.config.head_dim, x.device, x.dtype)  # once per batch
        # keys to attend to, broadcast over heads and queries: (B, T) -> (B, 1, 1, T); None when nothing is padded
        padded = bool(padding.any()) if padded is None else padded
        mask = ~padding[:, None, None, :] if padded else None
        for weights in self.layer_weights():
            x = self.run_layer(x, cos, sin, mask, self.config.attention_heads, weights)
        return self.emb_layer_norm_after(x)
