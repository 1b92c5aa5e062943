"""Write files under a temporary name and rename them into place, so no half-written file is ever final.

Every failure to write (disk full, read-only file system, a missing directory) becomes one `OutputError`
naming the final path, and the temporary file is removed. `failpoint` marks the moments a test may kill
the process at (`VIRNUCPRO_KILL_AT`), to check that a kill at any of them loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from virnucpro.errors import OutputError, os_reason, write_error

TEMP_NAME = re.compile(r"\..+\.tmp-\d+-[0-9a-f]{8}")  # what temp_sibling makes
# tests only: "LABEL" or "LABEL#N" kills this process with SIGKILL at the (N-th) failpoint of that label;
# "log:FILE" appends every failpoint's label to FILE
KILL_AT = "VIRNUCPRO_KILL_AT"
_seen: dict[str, int] = {}


def failpoint(label: str) -> None:
    """A point where a kill -9 must lose nothing; a no-op unless a test sets VIRNUCPRO_KILL_AT."""
    setting = os.environ.get(KILL_AT)
    if not setting:
        return
    _seen[label] = _seen.get(label, 0) + 1
    if setting.startswith("log:"):
        with open(setting[4:], "a", encoding="utf-8") as log:
            log.write(f"{label}#{_seen[label]}\n")
    elif setting in (label, f"{label}#{_seen[label]}"):
        os.kill(os.getpid(), signal.SIGKILL)


def temp_sibling(path: Path) -> Path:
    """A unique temporary name in the same directory as `path` (same filesystem, so rename is atomic)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def is_temp_name(name: str) -> bool:
    """True for a name `temp_sibling` makes (a leftover of a killed process when found later)."""
    return TEMP_NAME.fullmatch(name) is not None


def check_output_path(path: Path) -> None:
    """Refuse an output path that cannot become a file: a directory, or one in a missing directory."""
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, expected a file name")
    parent = path.parent
    if not parent.is_dir():
        why = "is not a directory" if parent.exists() else "does not exist"
        raise OutputError(f"{path}: cannot be written: the directory {parent} {why}")


def ensure_directory(path: Path) -> None:
    """Create `path` (and its parents) for outputs; a path that cannot be a directory is one `OutputError`."""
    if path.is_dir():
        return
    if path.exists() or path.is_symlink():
        raise OutputError(f"{path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be created ({os_reason(exc)})") from None


def replace(source: Path, target: Path) -> None:
    """os.replace with a failpoint before it."""
    failpoint(f"rename {target.name}")
    os.replace(source, target)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to `path`, on failure remove it.

    An OSError while writing or renaming (disk full, ...) becomes an `OutputError` naming `path`.
    """
    final = Path(path)
    check_output_path(final)
    tmp = temp_sibling(final)
    try:
        yield tmp
        replace(tmp, final)
    except OSError as exc:
        _remove(tmp)
        raise write_error(final, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically, as UTF-8."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def torch_save(obj: Any, path: Path) -> None:
    """`torch.save` to `path` through a Python file, so that a failed write raises the OSError (torch's own
    writer reports it as a RuntimeError without the cause)."""
    import torch

    with open(path, "wb") as handle:
        try:
            torch.save(obj, handle)
        except RuntimeError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, OSError):
                raise cause from None
            raise


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """`torch.save` to `path` atomically."""
    with atomic_path(path) as tmp:
        torch_save(obj, tmp)
