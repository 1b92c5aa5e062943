"""Helpers for the fault-injection tests: the one-line error rule, output trees, small file systems."""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def one_line_error(result, *parts: str, code: int = 1) -> str:
    """The failure rule: exit `code`, exactly one stderr line, no traceback, no internal error; it holds `parts`."""
    assert result.code == code, (result.code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("virnucpro ") and ": error: " in line, line
    assert "Traceback" not in line and "internal error" not in line, line
    for part in parts:
        assert part in line, (part, line)
    return line


def files(root: Path, hidden: bool = True, info: bool = True) -> dict[str, bytes]:
    """Every file under `root` by relative path, with its content (hidden names and pipeline_info optional)."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and (hidden or not any(part.startswith(".") for part in p.relative_to(root).parts))
        and (info or "pipeline_info" not in p.parts)
    }


def outputs(root: Path) -> dict[str, bytes]:
    """The results of a run: every file outside pipeline_info."""
    return files(root, info=False)


def assert_complete_or_absent(outdir: Path, clean: Path, temporary_allowed: bool = False) -> None:
    """Every file at a final path is identical to the clean run's; with `temporary_allowed` (after a kill -9),
    hidden temporary files and staging directories may be left for the next run to remove."""
    expected = outputs(clean)
    for relative, content in files(outdir, hidden=False, info=False).items():
        assert relative in expected, f"{relative} is not an output of a clean run"
        assert content == expected[relative], f"{relative} differs from the clean run's"
    if not temporary_allowed:
        hidden = [r for r in files(outdir, info=False) if any(part.startswith(".") for part in r.split("/"))]
        assert not hidden, f"temporary files left: {hidden}"


def assert_same_outputs(outdir: Path, clean: Path) -> None:
    """The run is complete: exactly the clean run's files, byte for byte, and no temporary file anywhere."""
    assert sorted(outputs(outdir)) == sorted(outputs(clean))
    assert outputs(outdir) == outputs(clean)
    leftovers = [p for p in outdir.rglob(".*") if p.name != "virnucpro.lock"]
    assert not leftovers, leftovers


@functools.cache
def can_mount_tmpfs() -> bool:
    """True where this process may mount a tmpfs (root in CI and on the development machine)."""
    if not shutil.which("mount"):
        return False
    with tempfile.TemporaryDirectory() as point:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", point], capture_output=True).returncode:
            return False
        subprocess.run(["umount", point], check=True)
    return True


@contextlib.contextmanager
def small_filesystem(point: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. '96k') mounted at `point`: a disk that fills up. Unmounted afterwards."""
    if not can_mount_tmpfs():
        pytest.skip("mounting a tmpfs needs root (CI and the development machine run as root)")
    point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], check=True)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def resize(point: Path, size: str) -> None:
    """Grow (or shrink) a mounted tmpfs in place: the disk has room again."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(point)], check=True)


def read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
