"""Host memory of one `embed-esm` task: what the `process_gpu` label must reserve (conf/base.config).

Builds a random-weight ESM-2 checkpoint in fair-esm's format (fp16, as the published files; `--size 3b` is the
real 36-layer, 2560-dim, 40-head architecture, 5.7 GB), writes a .faa of proteins with 500 bp frame lengths,
runs the real `embed-esm` command on it in a child process and samples /proc/<pid>/status every 10 ms:
  RssAnon   anonymous memory (weights on the CPU, activations, the result table): what a cgroup limit must hold;
  RssFile   pages of the memory-mapped checkpoint: clean file pages the kernel can drop under a limit;
  VmHWM     the peak of both together (the high-water mark `ps` and Nextflow's trace report).
With `--device cuda` the weights go to the GPU and the host keeps the CUDA runtime, the mapped checkpoint
and the result table; with `--device cpu --precision bf16` the bf16 weights stay in host memory (an upper
bound of the GPU task's anonymous memory plus the weights). The result table of a whole shard
(`--shard-size` frames x embedding width x 4 bytes) is reported separately, since a CPU run here embeds
only `--n` proteins.
Usage: python bench/host_memory.py --size 3b --n 4 [--device cpu] [--precision bf16] [--checkpoint FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.embed_esm import SIZES, write_random_checkpoint, write_shard  # noqa: E402
from bench.merge import status_kib  # noqa: E402

GIB = 2**30


def run_sampled(command: list[str]) -> dict[str, float]:
    """Run `command`; its wall time and peak RssAnon, RssFile and VmHWM in bytes."""
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    peaks, done = {"RssAnon": 0, "RssFile": 0, "VmHWM": 0}, threading.Event()

    def sample() -> None:
        while not done.is_set():
            for field in peaks:
                peaks[field] = max(peaks[field], status_kib(process.pid, field))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    started = time.perf_counter()
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"embed-esm failed with status {process.returncode}:\n{stderr}")
    return {"seconds": seconds, **{field: kib * 1024 for field, kib in peaks.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="3b")
    parser.add_argument("--n", type=int, default=4, help="proteins to embed (default 4: a CPU run of 3B is slow)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--checkpoint", type=Path, help="an existing checkpoint to use (else one is built)")
    parser.add_argument("--shard-size", type=int, default=200_000, help="frames per shard (the pipeline default)")
    args = parser.parse_args()

    layers, dim, heads = SIZES[args.size]
    with tempfile.TemporaryDirectory(prefix="host-memory-") as tmp:
        work = Path(tmp)
        checkpoint = args.checkpoint or work / f"esm2_{args.size}.pt"
        if not args.checkpoint:
            write_random_checkpoint(checkpoint, args.size)
        shard = work / "shard.faa"
        write_shard(shard, args.n, 500)
        command = [sys.executable, str(ROOT / "bin" / "embed-esm"), "--input", str(shard), "--model", str(checkpoint),
                   "--output", str(work / "out.pt"), "--device", args.device, "--precision", args.precision,
                   "--compile", "no", "-q"]  # fmt: skip
        measured = run_sampled(command)
        checkpoint_bytes = checkpoint.stat().st_size
    table = args.shard_size * dim * 4
    print(
        json.dumps(
            {
                "size": args.size,
                "layers_dim_heads": [layers, dim, heads],
                "checkpoint_gib": round(checkpoint_bytes / GIB, 2),
                "device": args.device,
                "precision": args.precision,
                "proteins": args.n,
                "seconds": round(measured["seconds"], 1),
                "peak_anon_gib": round(measured["RssAnon"] / GIB, 2),
                "peak_file_gib": round(measured["RssFile"] / GIB, 2),
                "peak_rss_gib": round(measured["VmHWM"] / GIB, 2),
                "shard_result_table_gib": round(table / GIB, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
