"""Content digests (sha256) of files, with a cache that never trusts a file changed in place.

`virnucpro run` decides what to recompute from the content of what each work unit depends on: the input and
the model files. Hashing the 5.7 GB ESM-2 3B checkpoint takes about 6 s, so digests are cached, keyed on
(device, inode, size, mtime_ns, ctime_ns). The ctime cannot be set by a user (touch, utime and every write
update it), so a model rewritten in place with the same size and a restored mtime still misses the cache.
Like git's "racy" index entries, a digest is not cached when the file changed less than RACY_SECONDS before
it was read, because a second change within one timestamp tick would not show in the stat. A file that
changes while it is being read is an error. `in_background` computes digests in a daemon thread while other
work runs (hashlib releases the GIL), so a first run does not wait for them either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

from virnucpro.atomic import atomic_write_text
from virnucpro.errors import InputError, OutputError

log = logging.getLogger("virnucpro")

RACY_SECONDS = 2
BLOCK = 1 << 22
T = TypeVar("T")


def file_signature(path: str | Path) -> list[int]:
    """What changes whenever a file's content can have changed: [device, inode, size, mtime_ns, ctime_ns]."""
    st = os.stat(path)
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def sha256_file(path: str | Path) -> str:
    """sha256 of a file's content (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def combined_digest(parts: dict[str, str]) -> str:
    """One digest for several named digests (e.g. the files of a model directory)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class DigestCache:
    """sha256 of files by resolved path, kept in a JSON file between runs (or only in memory: path None)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, object]] = {}
        self.changed = False
        self.lock = threading.Lock()
        if path is not None and path.is_file():
            try:
                entries = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                entries = {}  # a damaged cache only costs time: it is rebuilt
            if isinstance(entries, dict):
                self.entries = {k: v for k, v in entries.items() if isinstance(v, dict)}

    def digest(self, path: str | Path) -> str:
        """The file's sha256, from the cache when its signature is unchanged, else read (and cached when safe)."""
        try:
            key = str(Path(path).resolve())
            signature = file_signature(key)
            with self.lock:
                entry = self.entries.get(key)
            if entry and entry.get("signature") == signature and isinstance(entry.get("sha256"), str):
                return entry["sha256"]  # type: ignore[return-value]
            started = time.time_ns()
            digest = sha256_file(key)
            after = file_signature(key)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        if after != signature:
            raise InputError(f"{path}: changed while it was being read; run again once it no longer changes")
        settled = started - RACY_SECONDS * 1_000_000_000
        if signature[3] < settled and signature[4] < settled:
            with self.lock:
                self.entries[key] = {"signature": signature, "sha256": digest}
                self.changed = True
        return digest

    def save(self, quiet: bool = False) -> None:
        """Write the cache file (atomically) if anything was added; a failure is warned about unless `quiet`."""
        if self.path is None or not self.changed:
            return
        with self.lock:
            text = json.dumps(self.entries, indent=1, sort_keys=True) + "\n"
        try:
            atomic_write_text(self.path, text)
        except OutputError as exc:  # the cache only saves time: not worth failing a finished run for
            (log.debug if quiet else log.warning)("digest cache not saved: %s", exc)


def in_background(function: Callable[..., T], *args: object) -> Future[T]:
    """Run `function(*args)` in a daemon thread (it never delays the exit of a failed run); a Future of it."""
    future: Future[T] = Future()

    def work() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=work, daemon=True, name=f"digest {args[0] if args else ''}").start()
    return future
