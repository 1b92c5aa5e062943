"""Benchmark: memory and time of `virnucpro merge` against the original's merge_data, on one large shard.

Writes a DNABERT-S file [N, 768] and an ESM-2 file [N, 2560] (the ESM rows in reverse order, so the join has
to look every ID up), then merges them twice, each in a fresh process:
  original  the published merge_data algorithm: load both files whole, a dict of rows per side, cat row by row,
            torch.stack, torch.save (on our file format; the original's DNABERT file nests each row in a dict)
  ours      virnucpro.merge.merge_features: memory-mapped inputs, the output filled in place block by block
For each it prints wall seconds, peak resident memory (VmHWM: anonymous + file pages mapped) and peak
anonymous memory (RssAnon, sampled every 10 ms: what cannot be given back without swap), relative to the
merged output's size; then checks that both outputs hold the same IDs and rows.
Usage: python bench/merge.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DNABERT_DIM, ESM_DIM = 768, 2560


def original_merge(dnabert_path: str, esm_path: str, output_path: str) -> None:
    """The original merge_data's algorithm on our file format."""
    import torch

    dnabert, esm = torch.load(dnabert_path, weights_only=True), torch.load(esm_path, weights_only=True)
    nucleotide = dict(zip(dnabert["ids"], dnabert["data"], strict=True))
    protein = dict(zip(esm["ids"], esm["data"], strict=True))
    merged = [torch.cat((nucleotide[i], protein[i]), dim=-1) for i in dnabert["ids"] if i in protein]
    torch.save({"ids": dnabert["ids"], "data": torch.stack(merged)}, output_path)


def child(kind: str, dnabert_path: str, esm_path: str, output_path: str) -> None:
    import torch  # noqa: F401 - the baseline: an interpreter with torch loaded

    if kind == "baseline":
        return
    if kind == "original":
        original_merge(dnabert_path, esm_path, output_path)
    else:
        from virnucpro.merge import merge_features

        merge_features(dnabert_path, esm_path, output_path)


def status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def measure(kind: str, dnabert: Path, esm: Path, output: Path) -> dict[str, float]:
    """Run one merge in a fresh interpreter; wall seconds, peak RSS and peak anonymous RSS in bytes."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.merge import child; child(*sys.argv[1:])"
    process = subprocess.Popen([sys.executable, "-c", code, kind, str(dnabert), str(esm), str(output)])
    peak_anon, peak_rss, done = 0, 0, threading.Event()

    def sample() -> None:
        nonlocal peak_anon, peak_rss
        while not done.is_set():
            peak_anon = max(peak_anon, status_kib(process.pid, "RssAnon"))
            peak_rss = max(peak_rss, status_kib(process.pid, "VmHWM"))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    started = time.perf_counter()
    sampler.start()
    status = process.wait()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if status != 0:
        raise SystemExit(f"{kind} merge failed with status {status}")
    return {"seconds": seconds, "peak_rss": peak_rss * 1024, "peak_anon": peak_anon * 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--tmp", default=None, help="directory for the inputs and outputs (default: system temp)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    from virnucpro.features import save_features

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        work = Path(tmp)
        ids = [f"contig{i // 40}_chunk_{i % 40 + 1}F{i % 3 + 1}" for i in range(args.rows)]
        generator = torch.Generator().manual_seed(1)
        save_features(work / "a.pt", ids, torch.randn(args.rows, DNABERT_DIM, generator=generator))
        save_features(work / "b.pt", ids[::-1], torch.randn(args.rows, ESM_DIM, generator=generator))
        output_bytes = args.rows * (DNABERT_DIM + ESM_DIM) * 4
        print(f"merge of {args.rows:,} rows x {DNABERT_DIM} + {ESM_DIM}: output {output_bytes / 2**30:.2f} GiB")
        base = measure("baseline", work / "a.pt", work / "b.pt", work / "none.pt")
        print(
            f"  an interpreter with torch loaded: RSS {base['peak_rss'] / 2**20:.0f} MiB, anonymous "
            f"{base['peak_anon'] / 2**20:.0f} MiB; below: peaks above that, and their ratio to the output size"
        )
        results = {}
        for kind in ("original", "ours"):
            r = measure(kind, work / "a.pt", work / "b.pt", work / f"{kind}.pt")
            results[kind] = r = {"seconds": r["seconds"], "peak_rss": r["peak_rss"] - base["peak_rss"],
                                 "peak_anon": r["peak_anon"] - base["peak_anon"]}  # fmt: skip
            print(f"  {kind:8s} {r['seconds']:7.1f} s   peak RSS +{r['peak_rss'] / 2**30:5.2f} GiB "
                  f"({r['peak_rss'] / output_bytes:.2f} x output)   peak anonymous +{r['peak_anon'] / 2**30:5.2f} GiB "
                  f"({r['peak_anon'] / output_bytes:.2f} x output)")  # fmt: skip
        original = torch.load(work / "original.pt", weights_only=True, mmap=True)
        ours = torch.load(work / "ours.pt", weights_only=True, mmap=True)
        assert original["ids"] == ours["ids"] and torch.equal(original["data"], ours["data"]), "outputs differ"
        print("  outputs identical")
        o, n = results["original"], results["ours"]
        ratios = (o["seconds"] / n["seconds"], o["peak_rss"] / n["peak_rss"], o["peak_anon"] / max(n["peak_anon"], 1))
        print("  ratio original/ours: time {:.2f}, peak RSS {:.1f}, peak anonymous {:.1f}".format(*ratios))


if __name__ == "__main__":
    main()
