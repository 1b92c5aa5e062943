"""Benchmark: where the wall time of `virnucpro run` goes, stage by stage.

Writes gene-dense synthetic contigs (open reading frames on both strands, like phage or bacterial DNA, so about
half the chunks keep a frame) and random-weight models of the real architectures (`--size real`: DNABERT-2-117M
shapes, ESM-2 3B, the 3328-512-2 classifier; `--size tiny` for a CPU smoke run), runs `virnucpro run` once, and
reports each stage's share of the wall time. Target on one H100: the non-embedding stages (prepare, merge,
predict, report) under 5% of the total.
Usage: python bench/run.py --size real --mb 20 [--device cuda]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from embed_dnabert import write_model as write_dnabert  # noqa: E402
from embed_esm import write_random_checkpoint  # noqa: E402

from virnucpro.run import run  # noqa: E402
from virnucpro.testmodels import make_test_models  # noqa: E402
from virnucpro.testmodels.classifier import build_classifier, save_published_style  # noqa: E402

STAGES = ("prepare", "DNABERT-S", "ESM-2", "merge and predict", "report")


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


class StageClock(logging.Handler):
    """Times between run's '[k/5]' log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("run ["):
            self.marks.append(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "real"], default="tiny")
    parser.add_argument("--mb", type=float, default=1.0, help="megabases of input")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gene_dense(args.mb, work / "input.fa")
        if args.size == "tiny":
            models = make_test_models(work / "models")
            dnabert, esm, classifier = models["dnabert"], models["esm"], models["classifier_500"]
        else:
            dnabert = write_dnabert(work / "dnabert_s", "117m")
            esm = work / "esm2_t36_3B_UR50D.pt"
            write_random_checkpoint(esm, "3b")
            classifier = save_published_style(build_classifier(3328, 512), work / "500_model.pth")
        clock = StageClock()
        logging.getLogger("virnucpro").addHandler(clock)
        logging.getLogger("virnucpro").setLevel(logging.INFO)
        started = time.perf_counter()
        summary = run(work / "input.fa", work / "out", dnabert, esm, classifier, device=args.device)
        ended = time.perf_counter()
        frames = json.loads((work / "out" / "prepare" / "input" / "input.prepare.json").read_text())["frames"]
    marks = [*clock.marks, ended]
    seconds = {stage: marks[i + 1] - marks[i] for i, stage in enumerate(STAGES)}
    total = ended - started
    other = total - seconds["DNABERT-S"] - seconds["ESM-2"]
    result = {
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() and args.device != "cpu" else "cpu",
        "size": args.size, "megabases": args.mb, "frames": frames, "sequences": summary["sequences"],
        "seconds": {k: round(v, 2) for k, v in seconds.items()}, "total_seconds": round(total, 2),
        "non_embedding_share": round(other / total, 4),
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
