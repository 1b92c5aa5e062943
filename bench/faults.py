"""Attack `virnucpro run` at every failpoint and at every disk size, and print the tally (issue 13).

`make test` tries a selection (tests/test_faults_*.py); this tries them all, on the demo with the bundled test
models (5 shards):
  kill -9   at each of the run's failpoints (VIRNUCPRO_KILL_AT; 76 on the demo), in a forked process;
  disk full at each tmpfs size from 8 KiB to 264 KiB in 8 KiB steps (needs root to mount a tmpfs).
Each case passes when the killed or failing run leaves only files identical to a clean run's at final paths
(a full disk: exit 1 and exactly one stderr line, no traceback, no temporary file), and the next run, with room
again, ends with exactly the clean run's outputs.
Usage: python bench/faults.py [--kills-only | --disk-only]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import DEMO, RUN_ARGS  # noqa: E402
from tests.fault_helpers import (  # noqa: E402
    assert_complete_or_absent,
    assert_same_outputs,
    can_mount_tmpfs,
    resize,
    small_filesystem,
)
from tests.test_faults_kill import killed_at  # noqa: E402
from virnucpro.cli import main as cli_main  # noqa: E402


def run(*argv: object) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli_main([str(a) for a in argv])
    return code, err.getvalue()


def failpoints(work: Path) -> list[str]:
    """The labels of every failpoint a clean run passes, in order."""
    log = work / "failpoints.log"
    os.environ["VIRNUCPRO_KILL_AT"] = f"log:{log}"
    try:
        code, err = run("run", "--input", DEMO, "--outdir", work / "listed", "-q", *RUN_ARGS)
    finally:
        del os.environ["VIRNUCPRO_KILL_AT"]
    assert code == 0, err
    return log.read_text().splitlines()


def kill_case(work: Path, clean: Path, point: str, number: int) -> str | None:
    out = work / f"kill{number}"
    status = killed_at(point, "run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS)
    if status != -9:
        return f"not killed (exit {status})"
    assert_complete_or_absent(out, clean, temporary_allowed=True)
    code, err = run("run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS)
    if code:
        return f"resume failed: {err.strip()}"
    assert_same_outputs(out, clean)
    return None


def disk_case(work: Path, clean: Path, kib: int) -> str | None:
    with small_filesystem(work / f"disk{kib}", f"{kib}k") as disk:
        out = disk / "out"
        code, err = run("run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS)
        lines = err.splitlines()
        if code == 0:
            assert_same_outputs(out, clean)  # it fitted
            return None
        if code != 1 or len(lines) != 1 or "Traceback" in err or "internal error" in err:
            return f"exit {code}, stderr {err!r}"
        assert_complete_or_absent(out, clean)
        resize(disk, "64m")
        code, err = run("run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS)
        if code:
            return f"resume failed: {err.strip()}"
        assert_same_outputs(out, clean)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--kills-only", action="store_true")
    group.add_argument("--disk-only", action="store_true")
    args = parser.parse_args()
    tried, defects = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clean = work / "clean"
        code, err = run("run", "--input", DEMO, "--outdir", clean, "-q", *RUN_ARGS)
        assert code == 0, err
        cases: list[tuple[str, object]] = []
        if not args.disk_only:
            cases += [(f"kill -9 at {point}", lambda n, p=point: kill_case(work, clean, p, n))
                      for point in failpoints(work)]  # fmt: skip
        if not args.kills_only:
            if can_mount_tmpfs():
                cases += [(f"disk of {k} KiB", lambda n, k=k: disk_case(work, clean, k)) for k in range(8, 265, 8)]
            else:
                print("disk cases skipped: mounting a tmpfs needs root")
        for number, (name, case) in enumerate(cases):
            tried += 1
            try:
                problem = case(number)
            except AssertionError as exc:
                problem = " ".join(str(exc).split())[:300]
            print(f"{'ok    ' if problem is None else 'DEFECT'} {name}" + (f": {problem}" if problem else ""))
            if problem:
                defects.append(name)
    print(f"\n{tried} cases tried, {tried - len(defects)} ok, {len(defects)} defects")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
