"""Which devices `virnucpro run` starts workers on: `--devices auto|cpu|cuda:0,cuda:3|N`.

The parent process only counts GPUs (through NVML, which does not initialise CUDA); CUDA itself is
initialised inside the worker processes alone.
"""

from __future__ import annotations

import os
import re

from virnucpro.errors import DeviceError, InputError

DEVICE_ITEM = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


def visible_gpus() -> int:
    """How many CUDA GPUs this process may use (honours CUDA_VISIBLE_DEVICES; CUDA stays uninitialised)."""
    import torch

    return torch.cuda.device_count()


def parse_devices(spec: str, gpus: int | None = None) -> list[str]:
    """Device names, one per worker, in the order given.

    'auto': every visible GPU, else one CPU worker. 'N': N workers on GPUs 0..N-1 when there are GPUs, else
    N CPU workers. A comma list names each worker's device ('cpu', 'cuda' = 'cuda:0', 'cuda:K'); a device may
    appear more than once (two workers sharing one GPU, or several CPU workers sharing the cores).
    """
    text = spec.strip().lower()
    count = visible_gpus() if gpus is None else gpus
    if text == "auto":
        return [f"cuda:{i}" for i in range(count)] or ["cpu"]
    if text.isdigit():
        workers = int(text)
        if workers < 1:
            raise InputError(f"--devices {spec}: the number of workers must be at least 1")
        if not count:
            return ["cpu"] * workers
        if workers > count:
            raise DeviceError(f"--devices {spec}: only {count} CUDA GPU(s) are visible")
        return [f"cuda:{i}" for i in range(workers)]
    devices = []
    for item in text.split(","):
        match = DEVICE_ITEM.match(item.strip())
        if not match:
            raise InputError(f"--devices {spec!r}: {item.strip()!r} is not auto, a number, cpu, cuda or cuda:N")
        kind, index = match.groups()
        if kind == "cpu":
            devices.append("cpu")
            continue
        number = int(index or 0)
        if not count:
            raise DeviceError(f"--devices {spec}: CUDA was asked for but no CUDA GPU is available")
        if number >= count:
            raise DeviceError(f"--devices {spec}: cuda:{number} asked for, but only {count} CUDA GPU(s) are visible")
        devices.append(f"cuda:{number}")
    return devices


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_shares(devices: list[str], cores: int | None = None) -> list[int]:
    """Torch threads per worker: the cores split evenly between workers (at least one each). OMP_NUM_THREADS,
    where set, is the number of cores the run may use (as torch itself reads it)."""
    if cores is None:
        limit = os.environ.get("OMP_NUM_THREADS", "")
        cores = int(limit) if limit.isdigit() and int(limit) > 0 else available_cores()
    return [max(1, cores // len(devices))] * len(devices)
