"""Shared weight-loading helpers: safe torch.load, strict key and shape checks, loading onto a meta model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from virnucpro.errors import InputError


def load_torch_file(path: Path, what: str, allowed: Iterable[type] = ()) -> Any:
    """torch.load with weights_only=True (plus `allowed` classes), memory-mapped where the format allows."""
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        with torch.serialization.safe_globals(list(allowed)):
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:
                if "mmap" not in str(exc):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except Exception as exc:  # corrupt archives and refused globals raise many types
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        if "Unsupported global" in text or "weights_only" in text.lower():
            reason = "it holds objects other than tensors and plain configuration (refused for safety)"
        raise InputError(f"{path}: cannot be read as {what} ({reason})") from None


def few(items: list[str], limit: int = 5) -> str:
    """'a, b, c and 4 more' (or 'none')."""
    if not items:
        return "none"
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def check_state(state: dict[str, torch.Tensor], model: nn.Module, path: Path, what: str) -> None:
    """Every key of `model` present with its shape, nothing else; one error lists what is wrong."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise InputError(f"{path}: not {what}: missing keys {few(missing)}; unexpected keys {few(unexpected)}")
    wrong = [
        f"{n} {tuple(state[n].shape)} != {tuple(t.shape)}" for n, t in expected.items() if state[n].shape != t.shape
    ]
    if wrong:
        raise InputError(f"{path}: tensor shapes do not match the configuration: {few(wrong)}")


def assign_state(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    device: torch.device,
    dtype: torch.dtype,
    keep_fp32: Callable[[str], bool] = lambda name: False,
) -> None:
    """Load `state` into a model built on the meta device, moving each tensor once, already converted.

    Tensors whose name `keep_fp32` accepts stay in fp32 (small ones, such as norms, under mixed precision).
    """
    converted = {
        name: tensor.to(device=device, dtype=torch.float32 if keep_fp32(name) else dtype)
        for name, tensor in state.items()
    }
    model.load_state_dict(converted, assign=True)
