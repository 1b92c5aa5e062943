"""The embedding engine shared by DNABERT-S and ESM-2.

It owns what both models need and nothing model-specific: device and precision choice, length-sorted
token-budget batches, halving a batch on GPU out-of-memory, progress, and restoring input order.
A model plugs in as an `encode` callable: token-id lists in, one pooled float32 row per sequence out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from functools import partial

import numpy as np
import torch

from virnucpro.errors import DeviceError, InputError, VirnucproError
from virnucpro.progress import Progress

log = logging.getLogger("virnucpro")

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# encode(batch of token-id lists) -> [B, D] pooled embeddings (any float dtype, any device)
Encode = Callable[[list[Sequence[int]]], torch.Tensor]


def resolve_device(spec: str) -> torch.device:
    """'auto' picks the first GPU when there is one, else the CPU; 'cuda[:N]' must exist."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise InputError(f"--device {spec!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise InputError(f"--device {spec!r}: expected auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise DeviceError(f"--device {spec}: CUDA was asked for but no CUDA GPU is available")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"--device {spec}: only {torch.cuda.device_count()} CUDA GPU(s) are visible")
    return device


def resolve_precision(spec: str, device: torch.device) -> torch.dtype:
    """'auto' is bf16 on GPUs of compute capability 8 or newer, fp16 on older GPUs and fp32 on the CPU."""
    if spec == "auto":
        if device.type != "cuda":
            return torch.float32
        major, _ = torch.cuda.get_device_capability(device)
        return torch.bfloat16 if major >= 8 else torch.float16
    if spec not in PRECISIONS:
        raise InputError(f"--precision {spec!r}: expected auto, fp32, bf16 or fp16")
    return PRECISIONS[spec]


def token_budget_batches(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Group indices, sorted by length, so each batch's padded size (count x longest) stays within `budget`.

    A sequence longer than the budget forms a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[index]  # sorted ascending: the newcomer is the longest
        if current and longest * (len(current) + 1) > budget:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def attention_backends(device: torch.device):
    """A context choosing SDPA kernels: on CUDA the memory-efficient kernel first (fastest with a padding mask,
    where the default dispatcher picks a slower one), then flash and cuDNN for unmasked batches."""
    if device.type != "cuda":
        return nullcontext
    from torch.nn.attention import SDPBackend, sdpa_kernel

    order = [SDPBackend.EFFICIENT_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH]
    return partial(sdpa_kernel, order, set_priority=True)


def padded_tokens(batch: list[Sequence[int]], pad_id: int, device: torch.device) -> torch.Tensor:
    """Token lists -> [B, T] int64 on `device`, right-padded with `pad_id` (pinned, asynchronous copy to GPUs)."""
    tokens = np.full((len(batch), max(len(ids) for ids in batch)), pad_id, dtype=np.int64)
    for row, ids in enumerate(batch):
        tokens[row, : len(ids)] = ids
    host = torch.from_numpy(tokens)
    if device.type == "cuda":
        host = host.pin_memory()
    return host.to(device, non_blocking=True)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a CUDA (or other accelerator) out-of-memory error."""
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def embed_tokens(
    tokens: Sequence[Sequence[int]],
    encode: Encode,
    dim: int,
    batch_tokens: int,
    device: torch.device,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Embed every token list and return [N, dim] float32 on the CPU, rows in input order.

    On out-of-memory a batch is split in half and retried, and later batches use the smaller budget.
    """
    if batch_tokens < 1:
        raise InputError(f"--batch-tokens must be a positive integer, got {batch_tokens}")
    lengths = [len(t) for t in tokens]
    out = torch.empty((len(tokens), dim), dtype=torch.float32, device=device)
    pending = token_budget_batches(lengths, batch_tokens)[::-1]  # a stack: pop() takes the next batch
    while pending:
        batch = pending.pop()
        try:
            with torch.inference_mode():
                rows = encode([tokens[i] for i in batch])
                index = torch.tensor(batch)
                if device.type == "cuda":  # pinned and asynchronous: the host does not wait for the GPU per batch
                    index = index.pin_memory()
                out[index.to(device, non_blocking=True)] = rows.to(torch.float32)
        except (torch.OutOfMemoryError, RuntimeError) as exc:
            if not is_out_of_memory(exc):
                raise
            padded = max(lengths[i] for i in batch) * len(batch)
            if len(batch) == 1:
                raise VirnucproError(f"out of memory embedding one sequence of {padded} tokens on {device}") from None
            if device.type == "cuda":
                torch.cuda.empty_cache()
            budget = max(1, padded // 2)
            log.warning(
                "out of memory on a batch of %d sequences (%d padded tokens); continuing with batches of at most "
                "%d tokens",
                len(batch),
                padded,
                budget,
            )
            remaining = batch + [i for b in pending for i in b]
            repacked = token_budget_batches([lengths[i] for i in remaining], budget)
            pending = [[remaining[j] for j in b] for b in repacked][::-1]
            continue
        if progress is not None:
            progress.update(len(batch), tokens=sum(lengths[i] for i in batch))
    return out.cpu()
