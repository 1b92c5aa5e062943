"""Work units of `virnucpro run`: what each one depends on, whether it is done, and recording it as done.

A unit is one step applied to one thing: prepare of the input, DNABERT-S of shard 3, merge of shard 3, ...
Its identity is a digest of exactly what determines its outputs: the step, the package version, the content
digests of its inputs (the input FASTA, a shard, a model's files, an upstream unit's outputs) and the settings
that change results (chunk and shard size, numeric precision). A change therefore invalidates exactly the units
it reaches, whatever changed it (an edited input, a model replaced in place, a corrupted intermediate).

A unit is done when its record (one small JSON file per unit) holds the current identity and every output it
lists is there with its recorded content: same stat signature, or else the same sha256 when re-read (a
copied or restored output directory costs one re-read, not a recomputation). Outputs are written atomically by
the steps themselves; the record is written after them, so a kill at any moment leaves either a complete unit
or one that is recomputed. These functions only touch the unit's own record and outputs, so a scheduler may
run units in any order, in several processes, as long as each unit runs once at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from virnucpro import __version__
from virnucpro.atomic import atomic_write_text, ensure_directory, failpoint
from virnucpro.digests import file_signature, sha256_file

Digest = str | Future  # a sha256, or a Future of one still being computed


@dataclass(frozen=True)
class Unit:
    """One step on one thing: `step` ('embed_esm'), `key` ('demo.shard_00003'), the outputs it writes, the
    digests it depends on by role ('faa', 'model', ...) and the settings that change its results."""

    step: str
    key: str
    outputs: tuple[Path, ...]
    depends: Mapping[str, Digest]
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.step}/{self.key}"

    def resolved_depends(self) -> dict[str, str]:
        """The dependency digests, waiting for any still being computed."""
        return {role: d if isinstance(d, str) else d.result() for role, d in self.depends.items()}

    def identity(self) -> str:
        """Digest of everything that determines the outputs."""
        text = json.dumps(
            {"step": self.step, "version": __version__, "depends": self.resolved_depends(),
             "settings": dict(self.settings)},
            sort_keys=True,
        )  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()


class UnitStore:
    """The records of one sample's units, in `directory`; output paths are recorded relative to `root`."""

    def __init__(self, root: Path, directory: Path) -> None:
        self.root, self.directory = root, directory

    def record_path(self, unit: Unit) -> Path:
        return self.directory / f"{unit.step}.{unit.key}.json"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _read(self, unit: Unit) -> dict[str, Any] | None:
        try:
            record = json.loads(self.record_path(unit).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None  # missing or damaged: not done
        return record if isinstance(record, dict) and isinstance(record.get("outputs"), dict) else None

    def done(self, unit: Unit) -> dict[str, str] | None:
        """The sha256 of every output (by relative path) if the unit is done, else None.

        Without a record this returns at once, without waiting for the dependency digests."""
        record = self._read(unit)
        if record is None or record.get("identity") != unit.identity():
            return None
        outputs: dict[str, Any] = record["outputs"]
        if not {self.relative(p) for p in unit.outputs} <= set(outputs):
            return None
        digests: dict[str, str] = {}
        refreshed = False
        for relative, entry in outputs.items():
            path = self.root / relative
            if not isinstance(entry, dict) or not path.is_file() or path.is_symlink():
                return None
            signature = file_signature(path)
            if signature != entry.get("signature"):
                if sha256_file(path) != entry.get("sha256"):
                    return None
                entry["signature"], refreshed = signature, True
            digests[relative] = entry["sha256"]
        if refreshed:
            self._write(unit, record)
        return digests

    def commit(self, unit: Unit, extra_outputs: Iterable[Path] = ()) -> dict[str, str]:
        """Record the unit as done, once all its outputs are in place; return their sha256 by relative path."""
        outputs = {}
        for path in (*unit.outputs, *extra_outputs):
            signature = file_signature(path)
            digest = sha256_file(path)
            if file_signature(path) != signature:
                raise RuntimeError(f"{path} changed while its digest was taken")
            outputs[self.relative(path)] = {"sha256": digest, "signature": signature}
        record = {"unit": unit.name, "identity": unit.identity(), "depends": unit.resolved_depends(),
                  "settings": dict(unit.settings), "outputs": outputs, "virnucpro_version": __version__}  # fmt: skip
        failpoint(f"record {unit.name}")
        self._write(unit, record)
        return {relative: entry["sha256"] for relative, entry in outputs.items()}

    def _write(self, unit: Unit, record: dict[str, Any]) -> None:
        ensure_directory(self.directory)
        atomic_write_text(self.record_path(unit), json.dumps(record, indent=1, sort_keys=True) + "\n")

    def discard(self, unit: Unit) -> None:
        """Forget a unit (its outputs are left to the caller)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.record_path(unit))

    def discard_all(self) -> None:
        """Forget every unit of this store (the records only: names this store writes)."""
        if not self.directory.is_dir():
            return
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".json") and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
