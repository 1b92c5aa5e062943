"""Shared weight-loading helpers: safe torch.load, size and layer-count checks of a configuration against the
weights, strict key and shape checks, loading onto a meta model.

The order matters for hostile files: sizes are range-checked and the configured layer count is compared with
the layers the weights hold before any module is built, so a configuration claiming 10,000,000 layers or a
hidden size of 10^9 fails in microseconds; the model is then built on the meta device (no memory) to check every
name and shape, and only a model whose weights fit it is ever materialised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
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


def check_int(path: Path, name: str, value: object, low: int, high: int) -> int:
    """`value` if it is an integer (not a bool) from `low` to `high`; else an error naming the field."""
    if type(value) is not int or not low <= value <= high:
        raise InputError(f"{path}: {name} is {value!r}; expected an integer from {low:,} to {high:,}")
    return value


def check_heads(path: Path, width_name: str, width: int, heads_name: str, heads: int) -> None:
    """The attention heads must split the width evenly."""
    if width % heads:
        raise InputError(f"{path}: {width_name} {width} is not a multiple of {heads_name} {heads}")


def check_layer_count(path: Path, names: Iterable[str], pattern: str, field: str, configured: int) -> None:
    """A configuration must not claim more layers than the weights hold (layer indices: `pattern`'s group 1).

    Checked before the model is built; other mismatches show as missing or unexpected keys afterwards."""
    found = {int(m.group(1)) for name in names if (m := re.match(pattern, name))}
    if configured > len(found):
        raise InputError(
            f"{path}: the configuration has {field} {configured:,}, but the weights hold {len(found)} layers"
        )


def shape_of(value: object) -> tuple[int, ...]:
    """The shape of a tensor, or of a tensor described by its shape (a tuple), e.g. from a file header."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else tuple(value)  # type: ignore[arg-type]


def check_state(state: Mapping[str, Any], model: nn.Module, path: Path, what: str) -> None:
    """Every key of `model` present with its shape, nothing else; one error lists what is wrong.

    `state` maps names to tensors or to shapes; `model` may live on the meta device.
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise InputError(f"{path}: not {what}: missing keys {few(missing)}; unexpected keys {few(unexpected)}")
    wrong = [
        f"{n} {shape_of(state[n])} != {tuple(t.shape)}" for n, t in expected.items() if shape_of(state[n]) != t.shape
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
