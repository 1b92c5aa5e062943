"""Benchmark: where the wall time of `virnucpro run` goes, stage by stage, on one or more devices.

Writes gene-dense synthetic contigs (open reading frames on both strands, like phage or bacterial DNA, so about
half the chunks keep a frame) and random-weight models of the real architectures (`--size real`: DNABERT-2-117M
shapes, ESM-2 3B, the 3328-512-2 classifier; `--size tiny` for a CPU smoke run), runs `virnucpro run` once on
`--devices`, and reports each stage's seconds, the share of the wall time outside the embedding stage
(prepare, predict, report: target on one H100 under 5%), and the share outside embedding proper (also model
loading, compilation and waiting).
Usage: python bench/run.py --size real --mb 20 [--devices cuda:0,cuda:0] [--esm-checkpoint FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from embed_dnabert import write_model as write_dnabert  # noqa: E402
from embed_esm import write_random_checkpoint  # noqa: E402

from virnucpro.run import run  # noqa: E402
from virnucpro.testmodels import make_test_models  # noqa: E402
from virnucpro.testmodels.classifier import build_classifier, save_published_style  # noqa: E402


def gene_dense(mb: float, path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_demo", HERE.parent / "tests" / "data" / "demo" / "make_demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    rng, remaining, index = random.Random(3), int(mb * 1e6), 0
    with open(path, "w") as handle:
        while remaining > 0:
            length = min(remaining, rng.randint(5_000, 60_000))
            handle.write(f">contig{index}\n{demo.gene_dense(rng, length)}\n")
            remaining -= length
            index += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "real"], default="tiny")
    parser.add_argument("--mb", type=float, default=1.0, help="megabases of input")
    parser.add_argument("--devices", default="auto", help="as `virnucpro run --devices`")
    parser.add_argument("--esm-checkpoint", type=Path, help="(real size) use this ESM-2 3B file, writing it if absent")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gene_dense(args.mb, work / "input.fa")
        if args.size == "tiny":
            models = make_test_models(work / "models")
            dnabert, esm, classifier = models["dnabert"], models["esm"], models["classifier_500"]
        else:
            dnabert = write_dnabert(work / "dnabert_s", "117m")
            esm = args.esm_checkpoint or work / "esm2_t36_3B_UR50D.pt"
            if not esm.is_file():
                write_random_checkpoint(esm, "3b", device="cuda" if torch.cuda.is_available() else "cpu")
            classifier = save_published_style(build_classifier(3328, 512), work / "500_model.pth")
        summary = run(work / "input.fa", work / "out", dnabert, esm, classifier, devices=args.devices)
        frames = json.loads((work / "out" / "prepare" / "input" / "input.prepare.json").read_text())["frames"]
    seconds = summary["seconds"]
    total = seconds["total"]
    result = {
        "devices": summary["devices"], "size": args.size, "megabases": args.mb, "frames": frames,
        "sequences": summary["sequences"], "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "embedding_seconds": round(summary["embedding_seconds"], 2),
        "non_embedding_share": round((total - seconds["embed and merge"]) / total, 4),
        "outside_embedding_share": round((total - summary["embedding_seconds"]) / total, 4),
        "embedding_summary": summary["embedding_summary"],
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
