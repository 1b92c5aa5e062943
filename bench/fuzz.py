"""Fuzz the readers of untrusted files for longer than `make test` does (tests/test_fuzz.py).

The same hypothesis targets (FASTA reader, its agreement with Biopython, damaged compressed FASTA, the TSV
tables, features files damaged or foreign), with many more examples and a fresh random seed each time.
A failing example is printed by hypothesis and kept in .hypothesis/ for the next run.
Usage: python bench/fuzz.py [--examples 20000] [-k PATTERN]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=20_000, help="examples per target (default 20000)")
    parser.add_argument("-k", default=None, help="only the targets matching this pytest -k expression")
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_fuzz.py")]
    if args.k:
        command += ["-k", args.k]
    env = {**os.environ, "VIRNUCPRO_FUZZ_EXAMPLES": str(args.examples), "OMP_NUM_THREADS": "1"}
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
