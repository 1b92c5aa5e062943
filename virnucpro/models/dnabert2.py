"""DNABERT-2 / DNABERT-S (Zhou et al. 2023, 2024) natively in PyTorch, with the hub checkpoints' parameter names.

A BERT encoder without position embeddings: attention carries an ALiBi bias (-slope_h * |i - j| per head),
the feed-forward block is a gated GELU unit, and every block is post-norm. This is the computation of the
hub's `bert_layers.BertModel` (MosaicBERT) for inference, on padded batches instead of its unpad/pad path:
padded keys get a large negative bias, which leaves the real tokens' results unchanged. Attention runs
through `F.scaled_dot_product_attention`; an explicit softmax path is kept beside it as the reference.

Shapes: B batch, T tokens ([CLS] ... [SEP], padded), E hidden size, H heads, D = E / H, I intermediate size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

CONFIG_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")


@dataclass(frozen=True)
class DNABERT2Config:
    """The fields of DNABERT-2's config.json that the encoder uses."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    alibi_starting_size: int = 512

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DNABERT2Config:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def alibi_slopes(heads: int) -> list[float]:
    """ALiBi slopes: a geometric sequence for 2^n heads; otherwise the 2^n below plus every other of 2^(n+1)."""

    def power_of_two(n: int) -> list[float]:
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(heads).is_integer():
        return power_of_two(heads)
    below = 2 ** math.floor(math.log2(heads))
    return power_of_two(below) + alibi_slopes(2 * below)[0::2][: heads - below]


def alibi_bias(heads: int, length: int, device: torch.device) -> torch.Tensor:
    """[H, T, T] bias -slope_h * |i - j| in fp32. It depends only on |i - j|, so building it for exactly T
    tokens gives the values the reference gets by growing its cached table beyond alibi_starting_size."""
    position = torch.arange(length, device=device)
    distance = (position[None, :] - position[:, None]).abs()  # T, T
    slopes = torch.tensor(alibi_slopes(heads), device=device, dtype=torch.float32)
    return -slopes[:, None, None] * distance  # H, T, T


def attention_bias(heads: int, padding: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """ALiBi, and -inf on padded keys: padding [B, T] -> bias [B, H, T, T] in `dtype`.

    The reference adds -10000 to padded keys; both give them zero attention weight.
    """
    batch, length = padding.shape
    bias = alibi_bias(heads, length, padding.device).to(dtype).expand(batch, heads, length, length)
    return bias.masked_fill(padding[:, None, None, :], float("-inf"))


class Embeddings(nn.Module):
    """Token and token-type embeddings, then LayerNorm (no position embeddings: ALiBi handles order)."""

    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        # every token has token type 0, as in the original one-sequence call
        return self.LayerNorm(self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0])


class SelfAttention(nn.Module):
    """Fused query/key/value projection and ALiBi attention."""

    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.heads = config.num_attention_heads
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, eager: bool = False) -> torch.Tensor:
        batch, length, embed = x.shape
        qkv = self.Wqkv(x).view(batch, length, 3, self.heads, embed // self.heads)  # (B, T, 3E) -> (B, T, 3, H, D)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, D)
        if eager:  # the reference computation, kept for tests
            scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias  # B, H, T, T
            out = scores.softmax(dim=-1) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # B, H, T, D
        return out.transpose(1, 2).reshape(batch, length, embed)  # (B, H, T, D) -> (B, T, E)


class SelfOutput(nn.Module):
    """Output projection, residual, post-LayerNorm."""

    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, attended: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(attended) + residual)


class Attention(nn.Module):
    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.self = SelfAttention(config)  # the hub's attribute name, kept so checkpoint keys match
        self.output = SelfOutput(config)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, eager: bool = False) -> torch.Tensor:
        return self.output(self.self(x, bias, eager), x)


class GatedMLP(nn.Module):
    """x -> LN(x + wo(gelu(x W_gate) * (x W_up))), the gate and up projections fused in `gated_layers`."""

    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.intermediate = config.intermediate_size
        self.gated_layers = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.gated_layers(x)  # B, T, 2I
        gated, linear = hidden[..., : self.intermediate], hidden[..., self.intermediate :]
        return self.layernorm(self.wo(F.gelu(gated) * linear) + x)


class Layer(nn.Module):
    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.mlp = GatedMLP(config)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, eager: bool = False) -> torch.Tensor:
        return self.mlp(self.attention(x, bias, eager))


class Encoder(nn.Module):
    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))


class DNABERT2(nn.Module):
    """input_ids [B, T] and padding [B, T] (True at padding) -> last hidden states [B, T, E]."""

    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)

    def forward(self, input_ids: torch.Tensor, padding: torch.Tensor, eager: bool = False) -> torch.Tensor:
        x = self.embeddings(input_ids)
        compute_dtype = self.encoder.layer[0].attention.self.Wqkv.weight.dtype  # x stays fp32 under autocast
        bias = attention_bias(self.config.num_attention_heads, padding, compute_dtype)  # once per batch, every layer
        for layer in self.encoder.layer:
            x = layer(x, bias, eager)
        return x
