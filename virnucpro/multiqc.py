"""MultiQC custom content: one file per sample, `NAME_virnucpro_mqc.json`, written by `report` next to its outputs.

MultiQC's custom-content module finds the file by its `_mqc.json` suffix (no plugin needed). Every sample's file
names the same section id, so MultiQC joins the samples' rows into one table: one row per sample, one column per
count below. The pipeline hands the files to MultiQC; after `virnucpro run`, `multiqc DIR/report` gives the same
table (docs/output.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from virnucpro.atomic import atomic_write_text

SUFFIX = "_virnucpro_mqc.json"
SECTION_ID = "virnucpro"
TABLE_ID = "virnucpro_calls"
# column key -> (title, description); the keys are the column names in MultiQC's multiqc_data/ tables
COLUMNS: dict[str, tuple[str, str]] = {
    "sequences": ("Sequences", "Input sequences (FASTA records with at least one base)"),
    "virus": ("Virus", "Sequences called virus: at least half of their scored chunks are viral"),
    "others": ("Others", "Sequences called others: fewer than half of their scored chunks are viral"),
    "no_prediction": ("No prediction", "Sequences without any stop-free frame, so nothing was scored"),
    "chunks": ("Chunks", "Chunks the sequences were cut into"),
    "viral_chunks": ("Viral chunks", "Chunks whose highest P(virus) is at least their highest P(others)"),
    "frames": ("Frames", "Stop-free frames scored by the classifier"),
}


def custom_content_name(name: str) -> str:
    """The file name for sample `name`."""
    return f"{name}{SUFFIX}"


def custom_content(
    name: str, *, sequences: int, calls: Mapping[str, int], chunks: int, viral_chunks: int, frames: int
) -> dict:
    """The custom-content document of one sample: a table section with one row."""
    row = {"sequences": sequences, **{call: calls[call] for call in ("virus", "others", "no_prediction")},
           "chunks": chunks, "viral_chunks": viral_chunks, "frames": frames}  # fmt: skip
    return {
        "id": SECTION_ID,
        "section_name": "VirNucPro",
        "description": "Calls per sample: every input sequence is called virus, others or no_prediction from "
        "the consensus of its chunks (docs/output.md, report).",
        "plot_type": "table",
        "pconfig": {"id": TABLE_ID, "title": "VirNucPro: calls per sample", "col1_header": "Sample"},
        "headers": {
            key: {"title": title, "description": description, "format": "{:,.0f}", "min": 0}
            for key, (title, description) in COLUMNS.items()
        },
        "data": {name: row},
    }


def write_custom_content(outdir: Path, document: dict) -> Path:
    """Write a sample's document (custom_content) as `NAME_virnucpro_mqc.json` into `outdir`, atomically."""
    [name] = document["data"]
    path = Path(outdir) / custom_content_name(name)
    atomic_write_text(path, json.dumps(document, indent=2) + "\n")
    return path
