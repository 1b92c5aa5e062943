"""Shared test helpers: paths to bundled data and an in-process CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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
