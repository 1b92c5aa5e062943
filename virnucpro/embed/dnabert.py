"""DNABERT-S nucleotide embeddings: the Encoder behind `virnucpro embed-dnabert`.

Tokens come from the model directory's tokenizer.json through transformers (BPE, [CLS] ... [SEP] added by
its template, no truncation, as in the original one-sequence call). The embedding is the mean of the last
hidden state over every real token, [CLS] and [SEP] included, padding excluded: batched, it equals the
original's `torch.mean(model(input_ids)[0], dim=1)` on one unpadded sequence.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from virnucpro.embed.defaults import DNABERT_BATCH_TOKENS
from virnucpro.embed.engine import attention_backends, padded_tokens
from virnucpro.embed.step import embed_file
from virnucpro.errors import InputError
from virnucpro.fasta import NUCLEOTIDE_LETTERS
from virnucpro.features import DNABERT
from virnucpro.models.dnabert2 import DNABERT2, bert_layer
from virnucpro.models.dnabert_checkpoint import load_dnabert2

log = logging.getLogger("virnucpro")

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
        try:
            config = json.loads(config_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{config_path}: not valid JSON ({exc})") from None
        if isinstance(config, dict):
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

    def __init__(self, model: DNABERT2, tokenizer, device: torch.device, compile_layers: bool | None = None) -> None:
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.dim = model.config.hidden_size
        self.pad_id = tokenizer.pad_token_id
        self.backend = tokenizer.backend_tokenizer
        self.backend.no_truncation()  # as in the original call: a tokenizer.json setting would not apply there
        self.backend.no_padding()
        if compile_layers if compile_layers is not None else device.type == "cuda":
            model.run_layer = torch.compile(bert_layer, dynamic=True)  # one graph for every layer and length
            log.debug("DNABERT-2 layers will be compiled with torch.compile on first use")
        self.attention_backends = attention_backends(device)

    def tokenize(self, sequences: Sequence[str]) -> list[list[int]]:
        """[CLS] ... [SEP] token ids per sequence, as `tokenizer(sequence)` gives them, no truncation.

        The whole list goes to the tokenizer's Rust backend in one call: that is what the transformers call
        does for a list, minus building attention masks and token types nobody reads.
        """
        encodings = self.backend.encode_batch_fast(list(sequences), add_special_tokens=True)
        return [encoding.ids for encoding in encodings]

    def encode(self, batch: list[Sequence[int]]) -> torch.Tensor:
        input_ids = padded_tokens(batch, self.pad_id, self.device)  # B, T
        # [PAD] only comes from padding: the tokenizer emits it for the literal text "[PAD]", never for DNA letters
        padding = input_ids.eq(self.pad_id)  # B, T; built on the device, so no host synchronisation
        with self.attention_backends():
            hidden = self.model(input_ids, padding)  # B, T, E in fp32
        real = (~padding).to(torch.float32)  # every real token, [CLS] and [SEP] included
        return torch.einsum("bt,bte->be", real, hidden) / real.sum(dim=1, keepdim=True)


def load_dnabert_encoder(
    model_dir: str | Path, device: torch.device, dtype: torch.dtype, compile_layers: bool | None = None
) -> DNABERTEncoder:
    """The model and tokenizer of a DNABERT-S directory, ready on `device`; layers compiled on GPUs by default."""
    model_dir = Path(model_dir)
    model = load_dnabert2(model_dir, device, dtype)
    return DNABERTEncoder(model, load_tokenizer(model_dir), device, compile_layers)


def embed_dnabert(
    input_path: str | Path,
    model_dir: str | Path,
    output_path: str | Path,
    device: str = "auto",
    precision: str = "auto",
    batch_tokens: int | None = None,
    verbose: bool = False,
    compile_layers: bool | None = None,
) -> None:
    """Embed every sequence of a .fna shard with DNABERT-S; write {'ids', 'data'} in input order.

    `compile_layers`: torch.compile the layer function (default: on GPUs only).
    """

    def load(target: torch.device, dtype: torch.dtype) -> DNABERTEncoder:
        return load_dnabert_encoder(model_dir, target, dtype, compile_layers)

    embed_file(input_path, output_path, NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code", load, device, precision,
               batch_tokens, DNABERT_BATCH_TOKENS, verbose, "embed-dnabert", DNABERT)  # fmt: skip
