"""The labels table of `virnucpro train` / `evaluate`: which merged feature file is viral and which is host.

A tab-separated file with the header `file  label  group` and one row per merged file:
  file   the merged file's name (or its path as given on the command line)
  label  `viral` (class 1, "virus") or `host` (class 0, "others")
  group  a word naming the host group the original balanced over (bacteria, archaea, fungi, plant, protozoa,
         invertebrate, vertebrate, ...); may be empty for viral rows
Every merged file needs exactly one row and every row one merged file; problems are one-line errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from virnucpro.errors import InputError

HEADER = ("file", "label", "group")
CLASSES = {"host": 0, "viral": 1}  # the classifier's output index: 0 = others, 1 = virus
GROUP = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class LabelledFile:
    """A merged feature file with its class (0 host, 1 viral) and group."""

    path: Path
    label: int
    group: str

    @property
    def label_name(self) -> str:
        return "viral" if self.label == 1 else "host"


@dataclass(frozen=True)
class _Row:
    line: int
    file: str
    label: int
    group: str


def _rows(path: Path) -> list[_Row]:
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file") from None
    if not lines or tuple(lines[0].rstrip("\r").split("\t")) != HEADER:
        found = repr(lines[0][:60]) if lines else "an empty file"
        raise InputError(f"{path}: line 1: expected the header 'file<TAB>label<TAB>group', found {found}")
    rows, first_line = [], {}
    for number, text in enumerate(lines[1:], start=2):
        text = text.rstrip("\r")
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) != 3:
            raise InputError(
                f"{path}: line {number}: expected 3 tab-separated columns (file, label, group), found {len(fields)}"
            )
        name, label, group = (f.strip() for f in fields)
        if not name:
            raise InputError(f"{path}: line {number}: the file column is empty")
        if label not in CLASSES:
            raise InputError(f"{path}: line {number}: label {label!r} must be 'viral' or 'host'")
        if label == "viral" and not group:
            group = "viral"
        if not GROUP.fullmatch(group):
            raise InputError(
                f"{path}: line {number}: group {group!r} must be one word (letters, digits, '_', "
                "'-', '.'), for example bacteria"
            )
        if name in first_line:
            raise InputError(f"{path}: line {number}: {name!r} is listed twice (first on line {first_line[name]})")
        first_line[name] = number
        rows.append(_Row(number, name, CLASSES[label], group))
    if not rows:
        raise InputError(f"{path}: no rows: list every merged file with its label")
    return rows


def read_labels(path: str | Path, merged: Sequence[str | Path]) -> list[LabelledFile]:
    """The merged files with their labels, in the order given; each file matched by its path as given or name."""
    path = Path(path)
    rows = _rows(path)
    by_key: dict[str, _Row] = {row.file: row for row in rows}
    used: dict[int, str] = {}
    result = []
    for given in merged:
        file = Path(given)
        row = by_key.get(str(given)) or by_key.get(file.name)
        if row is None:
            raise InputError(f"{file}: not listed in {path} (its file column names each merged file)")
        if row.line in used:
            raise InputError(
                f"{path}: line {row.line}: {row.file!r} matches two merged files: {used[row.line]} and {given}"
            )
        used[row.line] = str(given)
        result.append(LabelledFile(file, row.label, row.group))
    unused = [row for row in rows if row.line not in used]
    if unused:
        raise InputError(f"{path}: line {unused[0].line}: {unused[0].file!r} is not among the --merged files")
    return result
