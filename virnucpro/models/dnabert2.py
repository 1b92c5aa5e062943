"""DNABERT-2 / DNABERT-S (Zhou et al. 2023, 2024) natively in PyTorch, with the hub checkpoints' parameter names.

A BERT encoder without position embeddings: attention carries an ALiBi bias (-slope_h * |i - j| per head),
the feed-forward block is a gated GELU unit, and every block is post-norm. This is the computation of the
hub's `bert_layers.BertModel` (MosaicBERT) for inference, on padded batches instead of its unpad/pad path:
padded keys get a -inf bias (the hub code adds -10000), which leaves the real tokens' results unchanged.

Attention runs through `F.scaled_dot_product_attention`; the hub code's explicit softmax is kept beside it
as the reference path (`eager=True`). Matrix products run in the dtype of the linear weights (bf16/fp16 on
GPUs); embeddings, LayerNorms and the residual stream stay fp32 (mixed precision).

Shapes: B batch, T tokens ([CLS] ... [SEP], padded), E hidden size, H heads, D = E / H, I intermediate size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

CONFIG_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")


@dataclass(frozen=True)
class DNABERT2Config:
    """The fields of DNABERT-2's config.json that the encoder uses.

    `hidden_act` is not among them: the hub code always uses the exact (erf) GELU, whatever the config says.
    Dropout probabilities do not matter for inference.
    """

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    alibi_starting_size: int = 512  # the hub code's first ALiBi table; it builds a larger one for longer inputs

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
    tokens gives the values the hub code gets by growing its table beyond alibi_starting_size."""
    position = torch.arange(length, device=device)
    distance = (position[None, :] - position[:, None]).abs()  # T, T
    slopes = torch.tensor(alibi_slopes(heads), device=device, dtype=torch.float32)
    return -slopes[:, None, None] * distance  # H, T, T


def attention_bias(heads: int, padding: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """ALiBi, and -inf on padded keys: padding [B, T] (True at padding) -> bias [B, H, T, T] in `dtype`.

    The rows are stored 8 elements apart (a [B, H, T, T8] buffer, sliced): the memory-efficient attention
    kernel needs aligned rows and would otherwise copy the bias in every layer.
    """
    batch, length = padding.shape
    aligned = -(-length // 8) * 8
    bias = torch.empty(batch, heads, length, aligned, device=padding.device, dtype=dtype)[..., :length]
    bias.copy_(alibi_bias(heads, length, padding.device).expand(batch, heads, length, length))
    return bias.masked_fill_(padding[:, None, None, :], float("-inf"))


def bert_layer(
    x: torch.Tensor, bias: torch.Tensor, heads: int, eps: float, p: dict[str, torch.Tensor], eager: bool = False
) -> torch.Tensor:
    """One post-norm block, x [B, T, E] fp32 -> [B, T, E] fp32:
    x = LN(x + dense(attention(Wqkv x))), then x = LN(x + wo(gelu(x W_gate) * (x W_up))).

    A plain function of the weights `p`, so that one compiled graph serves every layer.
    """
    batch, length, embed = x.shape
    dtype = p["attention.self.Wqkv.weight"].dtype  # the matrix-product precision
    qkv = F.linear(x.to(dtype), p["attention.self.Wqkv.weight"], p["attention.self.Wqkv.bias"])
    qkv = qkv.view(batch, length, 3, heads, embed // heads)  # (B, T, 3E) -> (B, T, 3, H, D)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, D)
    if eager:  # the hub code's PyTorch attention, kept as the reference
        scores = q @ k.transpose(-1, -2) / math.sqrt(embed // heads) + bias  # B, H, T, T
        attended = scores.softmax(dim=-1) @ v
    else:
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # B, H, T, D
    attended = attended.transpose(1, 2).reshape(batch, length, embed)  # (B, H, T, D) -> (B, T, E)
    out = F.linear(attended, p["attention.output.dense.weight"], p["attention.output.dense.bias"])
    x = F.layer_norm(out.float() + x, (embed,), p["attention.output.LayerNorm.weight"],
                     p["attention.output.LayerNorm.bias"], eps)  # fmt: skip
    hidden = F.linear(x.to(dtype), p["mlp.gated_layers.weight"])  # B, T, 2I
    gated, linear = hidden.chunk(2, dim=-1)  # 2 x (B, T, I): GELU on the first half, times the second
    out = F.linear(F.gelu(gated) * linear, p["mlp.wo.weight"], p["mlp.wo.bias"])
    return F.layer_norm(out.float() + x, (embed,), p["mlp.layernorm.weight"], p["mlp.layernorm.bias"], eps)


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


def holder(**children: nn.Module) -> nn.Module:
    """A module that only holds children under the hub code's names, so that checkpoint keys match."""
    module = nn.Module()
    for name, child in children.items():
        module.add_module(name, child)
    return module


def block_weights(config: DNABERT2Config) -> nn.Module:
    """One block's parameters under the hub's names; the computation is `bert_layer`."""
    hidden, intermediate, eps = config.hidden_size, config.intermediate_size, config.layer_norm_eps
    attention = holder(
        self=holder(Wqkv=nn.Linear(hidden, 3 * hidden)),
        output=holder(dense=nn.Linear(hidden, hidden), LayerNorm=nn.LayerNorm(hidden, eps=eps)),
    )
    mlp = holder(
        gated_layers=nn.Linear(hidden, 2 * intermediate, bias=False),
        wo=nn.Linear(intermediate, hidden),
        layernorm=nn.LayerNorm(hidden, eps=eps),
    )
    return holder(attention=attention, mlp=mlp)


class DNABERT2(nn.Module):
    """input_ids [B, T] and padding [B, T] (True at padding) -> last hidden states [B, T, E] in fp32."""

    def __init__(self, config: DNABERT2Config) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = holder(layer=nn.ModuleList(block_weights(config) for _ in range(config.num_hidden_layers)))
        self.run_layer: Callable[..., torch.Tensor] = bert_layer  # a compiled version replaces it on GPUs
        self._layer_weights: list[dict[str, torch.Tensor]] | None = None

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype of the matrix products (the linear weights' dtype)."""
        return self.encoder.layer[0].attention.self.Wqkv.weight.dtype

    def layer_weights(self) -> list[dict[str, torch.Tensor]]:
        """Each layer's parameters by name, gathered once (the model is frozen for inference)."""
        if self._layer_weights is None:
            self._layer_weights = [dict(layer.named_parameters()) for layer in self.encoder.layer]
        return self._layer_weights

    def forward(self, input_ids: torch.Tensor, padding: torch.Tensor, eager: bool = False) -> torch.Tensor:
        x = self.embeddings(input_ids).float()  # B, T, E
        bias = attention_bias(self.config.num_attention_heads, padding, self.compute_dtype)  # once, every layer
        run_layer = bert_layer if eager else self.run_layer
        for weights in self.layer_weights():
            x = run_layer(x, bias, self.config.num_attention_heads, self.config.layer_norm_eps, weights, eager)
        return x
