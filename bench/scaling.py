"""Benchmark: `virnucpro run` on 1 and on 2 workers over the same input; the speed-up and whether outputs agree.

On a GPU machine compare `--devices cuda:0` with `cuda:0,cuda:1`; here, on the CPU, `cpu` (one worker with
every core) with `cpu,cpu` (two workers with half the cores each). The input is gene-dense synthetic DNA
(bench/run.py) cut into several shards, the models are the bundled test models (`--size tiny`) or a small
ESM-2 of 8M parameters (`--size 8m`), so the embedding work, not start-up, dominates.
Each configuration runs `--repeat` times, alternating, from scratch (--restart); the fastest run of each counts.
Usage: python bench/scaling.py [--mb 2] [--shard-size 2000] [--one cpu] [--two cpu,cpu] [--size tiny|8m]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from embed_esm import write_random_checkpoint  # noqa: E402
from run import gene_dense  # noqa: E402

from virnucpro.run import run  # noqa: E402
from virnucpro.testmodels import make_test_models  # noqa: E402
from virnucpro.testmodels.classifier import build_classifier, save_published_style  # noqa: E402


def outputs(outdir: Path) -> list[Path]:
    return sorted(p.relative_to(outdir) for p in outdir.rglob("*") if p.is_file() and "pipeline_info" not in p.parts)


def identical(a: Path, b: Path) -> bool:
    names = outputs(a)
    return names == outputs(b) and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=2.0, help="megabases of input")
    parser.add_argument("--shard-size", type=int, default=2000, help="frames per shard")
    parser.add_argument("--one", default="cpu", help="--devices of the single-worker run")
    parser.add_argument("--two", default="cpu,cpu", help="--devices of the two-worker run")
    parser.add_argument("--size", choices=["tiny", "8m"], default="tiny", help="ESM-2 size (DNABERT-S: test model)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each, alternating; the fastest counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gene_dense(args.mb, work / "input.fa")
        models = make_test_models(work / "models")
        esm, classifier = models["esm"], models["classifier_500"]
        if args.size == "8m":  # 320 ESM-2 features: a classifier for 64 + 320
            esm = work / "esm2_8m.pt"
            write_random_checkpoint(esm, "8m")
            classifier = save_published_style(build_classifier(64 + 320, 64), work / "500_model.pth")
        seconds: dict[str, float] = {}
        runs: dict[str, dict] = {}
        for _ in range(args.repeat):
            for devices in (args.one, args.two):
                out = work / devices.replace(",", "_").replace(":", "")
                started = time.perf_counter()
                result = run(work / "input.fa", out, models["dnabert"], esm, classifier,
                             shard_size=args.shard_size, devices=devices, restart=True)  # fmt: skip
                elapsed = time.perf_counter() - started
                if elapsed < seconds.get(devices, float("inf")):
                    seconds[devices], runs[devices] = elapsed, result
        same = identical(*(work / d.replace(",", "_").replace(":", "") for d in (args.one, args.two)))
    one, two = seconds[args.one], seconds[args.two]
    embed_one, embed_two = (runs[d]["seconds"]["embed and merge"] for d in (args.one, args.two))
    print(json.dumps({
        "date": time.strftime("%Y-%m-%d"), "input_megabases": args.mb, "shard_size": args.shard_size,
        "esm_size": args.size, "sequences": runs[args.one]["sequences"],
        "wall_seconds": {args.one: round(one, 2), args.two: round(two, 2)},
        "embedding_stage_seconds": {args.one: round(embed_one, 2), args.two: round(embed_two, 2)},
        "speedup_wall": round(one / two, 2), "speedup_embedding_stage": round(embed_one / embed_two, 2),
        "outputs_identical": same,
    }, indent=2))  # fmt: skip
    if not same:
        sys.exit("the outputs differ between the two runs")


if __name__ == "__main__":
    main()
