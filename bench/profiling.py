"""A torch.profiler summary of a few embedding batches, written next to a benchmark's JSON.

The table (operators by self device time on GPUs, by self CPU time on the CPU) says where an embedding step
spends its time, so a missed target names its next lever (attention kernel, rotary, layer norms, copies).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from virnucpro.embed.engine import token_budget_batches


def profile_batches(encoder, tokens: Sequence[Sequence[int]], budget: int, device: torch.device, path: Path,
                    steps: int = 6) -> None:  # fmt: skip
    """Profile `steps` batches of `tokens` (as the engine batches them) through `encoder.encode`."""
    from torch.profiler import ProfilerActivity, profile

    lengths = [len(t) for t in tokens]
    batches = token_budget_batches(lengths, budget)[:steps]
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch.inference_mode(), profile(activities=activities) as profiler:
        for batch in batches:
            encoder.encode([tokens[i] for i in batch])
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    averages = profiler.key_averages()
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    try:
        table = averages.table(sort_by=sort, row_limit=40)
    except (AttributeError, KeyError, ValueError):  # newer torch names device time differently
        table = averages.table(sort_by="self_device_time_total", row_limit=40)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    header = (f"{len(batches)} batches, {sum(len(b) for b in batches)} sequences, {padded} padded tokens, "
              f"budget {budget}, device {device}\n\n")  # fmt: skip
    path.write_text(header + table + "\n")
