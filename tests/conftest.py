"""Shared test helpers: paths to bundled data and an in-process CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# One torch thread in tests and in the processes they start: the tiny test models gain nothing from more, and on
# a busy 2-core machine two spinning OpenMP threads per process made a demo run 20x slower (9.7 s against 0.4 s).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from virnucpro.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
REFERENCE = DATA / "reference"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run `virnucpro ARGS...` in-process; return its exit code, stdout and stderr."""

    def run(*args: object) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors and --help
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_bin(step: str, *args: object) -> subprocess.CompletedProcess[str]:
    """Run bin/<step> as the pipeline does: a separate process, the package importable from this checkout."""
    return subprocess.run(
        [sys.executable, ROOT / "bin" / step, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


MODELS = DATA / "models"
DEMO = DATA / "demo" / "demo.fa"
# the bundled test models; a run of the demo with 7 frames per shard has 5 shards
RUN_ARGS = ["--shard-size", "7", "--dnabert", MODELS / "dnabert_s", "--esm", MODELS / "esm2_t2_64_test.pt",
            "--classifier", MODELS / "500_model.pth"]  # fmt: skip


@pytest.fixture(scope="session")
def clean_demo_run(tmp_path_factory) -> Path:
    """An uninterrupted `virnucpro run` of the demo (5 shards): what every interrupted or faulty run must match."""
    out = tmp_path_factory.mktemp("clean") / "out"
    assert main([str(a) for a in ("run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS)]) == 0
    return out
