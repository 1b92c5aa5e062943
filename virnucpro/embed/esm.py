"""ESM-2 protein embeddings: the Encoder behind `virnucpro embed-esm`.

Tokens are fair-esm's: BOS, one token per residue, EOS; padding to the batch's longest. The embedding is the
mean of the final layer's representation (after the last layer norm) over residues, BOS, EOS and padding
excluded. Long proteins follow the original tool exactly: the whole protein goes through the model (ESM-2's
rotary positions have no length limit) and the mean covers its first 1,024 residues, the original's
`truncation_seq_length`. Proteins from 300/500 bp chunks have at most 167 residues, so this never applies
to pipeline shards; it keeps hand-made inputs identical to the original's results.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from virnucpro.embed.defaults import ESM_BATCH_TOKENS
from virnucpro.embed.engine import attention_backends, padded_tokens
from virnucpro.embed.step import embed_file
from virnucpro.fasta import PROTEIN_LETTERS
from virnucpro.features import ESM
from virnucpro.models.esm2 import CLS_IDX, EOS_IDX, ESM2, PADDING_IDX, transformer_layer
from virnucpro.models.esm_checkpoint import load_esm2

log = logging.getLogger("virnucpro")

POOLED_RESIDUES = 1024  # the original's truncation_seq_length: residues averaged per protein
ESM_LETTERS = PROTEIN_LETTERS + b"-."  # fair-esm's alphabet also has gap tokens


def token_table() -> np.ndarray:
    """Byte -> token index, from fair-esm's own ESM-1b alphabet (unknown letters map to <unk>)."""
    import esm

    alphabet = esm.data.Alphabet.from_architecture("ESM-1b")
    assert (alphabet.cls_idx, alphabet.padding_idx, alphabet.eos_idx) == (CLS_IDX, PADDING_IDX, EOS_IDX)
    table = np.full(256, alphabet.unk_idx, dtype=np.int64)
    for letter in ESM_LETTERS:
        table[letter] = alphabet.get_idx(chr(letter))
    return table


class ESMEncoder:
    """ESM-2 on a device: tokenize proteins, embed padded batches, pool over residues."""

    def __init__(self, model: ESM2, device: torch.device, compile_layers: bool) -> None:
        self.model, self.device = model, device
        self.dim = model.config.embed_dim
        self.table = token_table()
        if compile_layers:
            enable_compile(model)
        self.attention_backends = attention_backends(device)

    def tokenize(self, sequences: Sequence[str]) -> list[np.ndarray]:
        table = self.table
        return [
            np.concatenate(([CLS_IDX], table[np.frombuffer(s.encode("ascii"), dtype=np.uint8)], [EOS_IDX]))
            for s in sequences
        ]

    def encode(self, batch: list[Sequence[int]]) -> torch.Tensor:
        lengths = [len(t) for t in batch]
        longest = max(lengths)
        tokens_t = padded_tokens(batch, PADDING_IDX, self.device)
        with self.attention_backends():
            hidden = self.model(tokens_t, padded=min(lengths) != longest)  # B, T, E
        # residues are positions 1 .. len-2 (BOS first, EOS last); the original averages at most 1,024 of them
        residues = torch.tensor([min(n - 2, POOLED_RESIDUES) for n in lengths], device=self.device)
        positions = torch.arange(longest, device=self.device)
        weights = ((positions >= 1) & (positions <= residues[:, None])).to(torch.float32)  # B, T
        summed = torch.einsum("bt,bte->be", weights, hidden.float())
        return summed / residues[:, None].to(torch.float32)


def enable_compile(model: ESM2) -> None:
    """Compile the layer function once (dynamic shapes, shared by every layer)."""
    model.run_layer = torch.compile(transformer_layer, dynamic=True)
    log.debug("ESM-2 layers will be compiled with torch.compile on first use")


def load_esm_encoder(
    model_path: str | Path, device: torch.device, dtype: torch.dtype, compile_layers: bool | None = None
) -> ESMEncoder:
    """An ESM-2 checkpoint ready on `device`; its layer function compiled on GPUs by default."""
    use_compile = device.type == "cuda" if compile_layers is None else compile_layers
    return ESMEncoder(load_esm2(model_path, device, dtype), device, use_compile)


def embed_esm(
    input_path: str | Path,
    model_path: str | Path,
    output_path: str | Path,
    device: str = "auto",
    precision: str = "auto",
    batch_tokens: int | None = None,
    compile_layers: bool | None = None,
    verbose: bool = False,
) -> None:
    """Embed every protein of a .faa shard with an ESM-2 checkpoint; write {'ids', 'data'} in input order."""

    def load(target: torch.device, dtype: torch.dtype) -> ESMEncoder:
        return load_esm_encoder(model_path, target, dtype, compile_layers)

    embed_file(input_path, output_path, ESM_LETTERS, "an amino-acid code", load, device, precision, batch_tokens,
               ESM_BATCH_TOKENS, verbose, "embed-esm", ESM)  # fmt: skip
