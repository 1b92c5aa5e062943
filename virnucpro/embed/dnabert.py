"""DNABERT-S nucleotide embeddings: the Encoder behind `virnucpro embed-dnabert`.

Tokens come from the model directory's tokenizer.json through transformers (BPE, [CLS] ... [SEP] added by
its template, no truncation, as in the original one-sequence call). The embedding is the mean of the last
hidden state over every real token, [CLS] and [SEP] included, padding excluded: batched, it equals the
original's `torch.mean(model(input_ids)[0], dim=1)` on one unpadded sequence.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from virnucpro.embed.defaults import DNABERT_BATCH_TOKENS
from virnucpro.embed.engine import padded_tokens
from virnucpro.embed.step import embed_file
from virnucpro.errors import InputError
from virnucpro.fasta import NUCLEOTIDE_LETTERS
from virnucpro.models.dnabert2 import DNABERT2
from virnucpro.models.dnabert_checkpoint import load_dnabert2

SPECIAL_TOKENS = {"unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                  "mask_token": "[MASK]"}  # fmt: skip


def load_tokenizer(model_dir: Path):
    """The directory's tokenizer.json as a transformers fast tokenizer (special tokens from tokenizer_config.json)."""
    from transformers import PreTrainedTokenizerFast

    path = model_dir / "tokenizer.json"
    if not path.is_file():
        raise InputError(f"{path}: no such file (a DNABERT-S model directory has tokenizer.json)")
    special = dict(SPECIAL_TOKENS)
    config_path = model_dir / "tokenizer_config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text())
        special.update({k: v for k, v in config.items() if k in SPECIAL_TOKENS and isinstance(v, str)})
    try:
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(path), **special)
    except Exception as exc:  # the tokenizers library raises its own exception types
        raise InputError(f"{path}: not a readable tokenizer ({str(exc).splitlines()[0]})") from None
    if tokenizer.pad_token_id is None:
        raise InputError(f"{path}: has no {special['pad_token']} token")
    return tokenizer


class DNABERTEncoder:
    """DNABERT-S on a device: tokenize DNA, embed padded batches, mean over real tokens."""

    def __init__(self, model: DNABERT2, tokenizer, device: torch.device) -> None:
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.dim = model.config.hidden_size
        self.dtype = model.encoder.layer[0].attention.self.Wqkv.weight.dtype  # the matrix-product precision
        self.pad_id = tokenizer.pad_token_id

    def tokenize(self, sequences: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(sequences), add_special_tokens=True, truncation=False)["input_ids"]

    def encode(self, batch: list[Sequence[int]]) -> torch.Tensor:
        lengths = [len(ids) for ids in batch]
        input_ids = padded_tokens(batch, self.pad_id, self.device)
        counts = torch.tensor(lengths, device=self.device)
        padding = torch.arange(input_ids.shape[1], device=self.device)[None, :] >= counts[:, None]  # B, T
        # mixed precision: matrix products in bf16/fp16, embeddings, LayerNorms and the residual stream in fp32
        # (keeping those in half precision costs an order of magnitude in accuracy; tests/test_dnabert.py)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            hidden = self.model(input_ids, padding)  # B, T, E
        weights = (~padding).to(torch.float32)
        return torch.einsum("bt,bte->be", weights, hidden.float()) / counts[:, None].to(torch.float32)


def embed_dnabert(
    input_path: str | Path,
    model_dir: str | Path,
    output_path: str | Path,
    device: str = "auto",
    precision: str = "auto",
    batch_tokens: int | None = None,
    verbose: bool = False,
) -> None:
    """Embed every sequence of a .fna shard with DNABERT-S; write {'ids', 'data'} in input order."""
    model_dir = Path(model_dir)

    def load(target: torch.device, dtype: torch.dtype) -> DNABERTEncoder:
        model = load_dnabert2(model_dir, target, dtype)
        return DNABERTEncoder(model, load_tokenizer(model_dir), target)

    embed_file(input_path, output_path, NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code", load, device, precision,
               batch_tokens, DNABERT_BATCH_TOKENS, verbose, "embed-dnabert")  # fmt: skip
