"""The shared embedding engine: batching, order, out-of-memory handling, device and precision choice."""

from __future__ import annotations

import logging

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from virnucpro.embed.engine import embed_tokens, resolve_device, resolve_precision, token_budget_batches
from virnucpro.errors import DeviceError, InputError, VirnucproError


def test_batches_are_length_sorted_and_within_budget():
    lengths = [5, 3, 9, 3, 20, 4, 9]
    batches = token_budget_batches(lengths, budget=12)
    assert batches == [[1, 3, 5], [0], [2], [6], [4]]  # sorted lengths 3 3 4 | 5 | 9 | 9 | 20
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))


@settings(max_examples=200, deadline=None)
@given(lengths=st.lists(st.integers(1, 50), min_size=1, max_size=60), budget=st.integers(1, 200))
def test_batches_cover_everything_once_within_budget(lengths, budget):
    batches = token_budget_batches(lengths, budget)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= budget
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)


def row_sums(batch):
    return torch.tensor([[float(sum(t)), float(len(t))] for t in batch])


def test_rows_come_back_in_input_order():
    tokens = [[i] * (i % 7 + 1) for i in range(40)]
    out = embed_tokens(tokens, row_sums, 2, batch_tokens=16, device=torch.device("cpu"))
    assert out.dtype == torch.float32
    assert out.tolist() == [[float(sum(t)), float(len(t))] for t in tokens]


def test_out_of_memory_halves_the_batch_and_keeps_going(caplog):
    calls = []

    def encode(batch):
        calls.append(len(batch))
        if len(batch) > 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return row_sums(batch)

    tokens = [[1, 2, 3]] * 16
    with caplog.at_level(logging.WARNING, logger="virnucpro"):
        out = embed_tokens(tokens, encode, 2, batch_tokens=48, device=torch.device("cpu"))
    assert out.tolist() == [[6.0, 3.0]] * 16
    assert calls == [16, 8, 4, 4, 4, 4]
    assert caplog.messages[0] == (
        "out of memory on a batch of 16 sequences (48 padded tokens); continuing with batches of at most 24 tokens"
    )


def test_out_of_memory_on_a_single_sequence_is_an_error():
    def encode(batch):
        raise RuntimeError("CUDA error: out of memory")

    with pytest.raises(VirnucproError, match=r"^out of memory embedding one sequence of 3 tokens on cpu$"):
        embed_tokens([[1, 2, 3]], encode, 2, batch_tokens=10, device=torch.device("cpu"))


def test_other_errors_are_not_mistaken_for_out_of_memory():
    def encode(batch):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        embed_tokens([[1], [2]], encode, 2, batch_tokens=10, device=torch.device("cpu"))


def test_device_and_precision_choice():
    cpu = torch.device("cpu")
    assert resolve_device("cpu") == cpu
    assert resolve_precision("auto", cpu) == torch.float32
    assert resolve_precision("bf16", cpu) == torch.bfloat16
    with pytest.raises(InputError, match=r"^--device 'tpu': expected auto, cpu, cuda or cuda:N$"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == cpu
        with pytest.raises(DeviceError, match=r"^--device cuda:1: CUDA was asked for but no CUDA GPU is available$"):
            resolve_device("cuda:1")
