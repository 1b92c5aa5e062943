"""One embedding step over a shard file, shared by embed-dnabert and embed-esm.

read the shard -> load the model on the chosen device and precision -> embed in token-budget batches ->
write {'ids', 'data'} float32 atomically, in input order. The model plugs in through `Encoder`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import torch

from virnucpro.atomic import check_output_path
from virnucpro.embed.engine import embed_tokens, resolve_device, resolve_precision
from virnucpro.errors import VirnucproError, record_error
from virnucpro.fasta import check_letters, read_fasta
from virnucpro.features import save_features
from virnucpro.progress import Progress

log = logging.getLogger("virnucpro")


class Encoder(Protocol):
    """A loaded model: tokenizes sequences and encodes batches of token ids into pooled rows."""

    dim: int  # width of one embedding row

    def tokenize(self, sequences: Sequence[str]) -> list[list[int]]:
        """Token ids per sequence, special tokens included."""
        ...

    def encode(self, batch: list[Sequence[int]]) -> torch.Tensor:
        """[B, dim] pooled embeddings of one batch."""
        ...


DNA_LETTERS = b"ACGTUNacgtun"
DNA_LOOKING_LENGTH = 50  # a protein this long made of these letters only does not occur (p < 1e-25)


def read_shard(path: str | Path, letters: bytes, kind: str, refuse_dna: bool = False) -> tuple[list[str], list[str]]:
    """IDs and upper-case sequences of a shard FASTA; every record non-empty, letters valid, IDs unique.

    `refuse_dna`: a protein shard; a record of DNA_LOOKING_LENGTH or more letters, all A C G T U N, means
    the file is a nucleotide shard (.fna) given in place of the protein one (.faa).
    """
    path = Path(path)
    ids: list[str] = []
    sequences: list[str] = []
    seen: set[str] = set()
    for record in read_fasta(path):
        if not record.sequence:
            raise record_error(path, record.number, record.id, "empty sequence")
        check_letters(record, path, letters, kind)
        if (
            refuse_dna
            and len(record.sequence) >= DNA_LOOKING_LENGTH
            and not record.sequence.translate(None, DNA_LETTERS)
        ):
            raise record_error(
                path, record.number, record.id,
                "a nucleotide sequence, not a protein: give the protein shard (.faa), not the nucleotide one (.fna)",
            )  # fmt: skip
        if record.id in seen:
            raise record_error(path, record.number, record.id, "duplicate ID")
        seen.add(record.id)
        ids.append(record.id)
        sequences.append(record.sequence.decode("ascii").upper())
    return ids, sequences


def load_encoder(
    load: Callable[[torch.device, torch.dtype], Encoder], device: str, precision: str, label: str
) -> tuple[Encoder, torch.device]:
    """Resolve device and precision, then load the model once."""
    started = time.monotonic()
    target = resolve_device(device)
    dtype = resolve_precision(precision, target)
    encoder = load(target, dtype)
    log.debug("%s: model ready on %s (%s) in %.1f s", label, target, str(dtype).removeprefix("torch."),
              time.monotonic() - started)  # fmt: skip
    return encoder, target


def embed_sequences(
    encoder: Encoder,
    device: torch.device,
    ids: list[str],
    sequences: list[str],
    output_path: str | Path,
    batch_tokens: int,
    verbose: bool = False,
    label: str = "embed",
    kind: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Embed sequences (read by `read_shard`) with a loaded encoder; write the features file (recording `kind`).

    `progress` receives the work as it is done, and its owner reports the result; by default a progress line
    on stderr and a log line at the end.
    """
    started = time.monotonic()
    tokens = encoder.tokenize(sequences)
    own_progress = progress is None
    if progress is None:
        progress = Progress(label, unit="sequences", total=len(tokens), verbose=verbose)
    try:
        data = embed_tokens(tokens, encoder.encode, encoder.dim, batch_tokens, device, progress)
    finally:
        progress.close()
    if not torch.isfinite(data).all():
        raise VirnucproError(f"{label}: the model produced non-finite embeddings (NaN or inf); try --precision fp32")
    save_features(output_path, ids, data, kind)
    if own_progress:
        log.info("%s: %s in %.1f s -> %s", label, progress.rate_text(), time.monotonic() - started, output_path)


def embed_file(
    input_path: str | Path,
    output_path: str | Path,
    letters: bytes,
    kind: str,
    load: Callable[[torch.device, torch.dtype], Encoder],
    device: str = "auto",
    precision: str = "auto",
    batch_tokens: int | None = None,
    default_batch_tokens: tuple[int, int] = (16384, 2048),
    verbose: bool = False,
    label: str = "embed",
    features_kind: str | None = None,
) -> None:
    """Embed every sequence of a shard file with the model `load` returns; write the features file.

    The output path and the shard are checked before the model is loaded, so bad input fails fast. Without
    `batch_tokens`, the first of `default_batch_tokens` applies on GPUs and the second on the CPU.
    `features_kind` (DNABERT or ESM) is recorded in the output; an ESM-2 shard must not be DNA.
    """
    from virnucpro.features import ESM

    check_output_path(Path(output_path))
    ids, sequences = read_shard(input_path, letters, kind, refuse_dna=features_kind == ESM)
    encoder, target = load_encoder(load, device, precision, label)
    budget = batch_tokens or default_batch_tokens[0 if target.type == "cuda" else 1]
    embed_sequences(encoder, target, ids, sequences, output_path, budget, verbose, label, features_kind)
