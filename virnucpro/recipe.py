"""The training recipe of `virnucpro train`: the original train.py's numbers by default, each one a flag.

A light module (no torch), so the CLI can show the defaults without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from virnucpro.errors import InputError


@dataclass(frozen=True)
class Recipe:
    """The training recipe; the defaults are the original train.py's."""

    hidden_dim: int = 512
    dropout: float = 0.5
    lr: float = 2e-4
    momentum: float = 0.9
    step_size: int = 10
    gamma: float = 0.85
    batch_size: int = 32
    test_fraction: float = 0.1
    max_epochs: int = 200
    patience: int = 5
    min_delta: float = 0.0
    seed: int = 42
    balance: bool = True

    def check(self) -> None:
        for name in ("hidden_dim", "step_size", "max_epochs", "patience"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise InputError(f"--batch-size must be at least 2 (BatchNorm needs two rows), got {self.batch_size}")
        for name, low, high in (("dropout", 0, 1), ("test_fraction", 0, 1), ("momentum", 0, 1), ("gamma", 0, 1)):
            value = getattr(self, name)
            if not (low <= value < high or (name == "gamma" and value == 1)):
                raise InputError(f"--{name.replace('_', '-')} must be in [{low}, {high}), got {value}")
        if not self.lr > 0:
            raise InputError(f"--lr must be positive, got {self.lr}")
        if self.min_delta < 0:
            raise InputError(f"--min-delta must not be negative, got {self.min_delta}")
