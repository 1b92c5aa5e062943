"""The nf-test snapshots of the module tests (modules/local/*/tests/main.nf.test.snap), computed without nf-test.

Each case below is one `test(...)` of a module's nf-test file: its inputs, the block it runs, and the outputs
its `snapshot(process.out.a, process.out.b).match()` names. test_nextflow_scripts.py renders and runs each
block on the same inputs and checks the committed .snap file against what the outputs are, serialised as
nf-test serialises them (askimed/nf-test src/main/java/com/askimed/nf/test/lang/extensions/):
  * `snapshot(a, b)` stores the list [a, b] under the test's name (Snapshot.java `match()` -> `match(test.getName())`);
  * an output channel is the list of its items; a `tuple val(meta), path(...)` item is [meta, path, ...];
  * a file is "<name>:md5,<md5 of its bytes>", a directory the list of its entries in name order
    (util/PathConverter.java `serializeFile`/`serializeDirectory`, PathExtension.java `list` sorts);
  * several files matched by one glob are a list in path order (Nextflow's TaskFileCollector `files.sort()`);
  * two snapshots match when their JSON text is the same (SnapshotFileItem.java `equals`), so key order counts.
Version outputs are not snapshotted: they are the images' versions, checked by test_nextflow.py.
`UPDATE_NF_SNAPSHOTS=1 pytest tests/test_nextflow_scripts.py -k snapshots` rewrites the .snap files.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import DATA, ROOT

NF_TEST_VERSION = "0.9.5"  # .github/workflows/ci.yml installs this release
NEXTFLOW_VERSION = "25.10.4"  # the version floor: manifest.nextflowVersion
TIMESTAMP = "2026-08-01T00:00:00.000000"  # nf-test keeps it for information only


@dataclass
class Case:
    """One nf-test `test(...)` with a snapshot: the process, its block, its inputs and the emits it snapshots."""

    module: str
    test: str
    process: str
    block: str
    bindings: dict
    staged: dict[str, Path] = field(default_factory=dict)
    emits: list[str] = field(default_factory=list)


DEMO = DATA / "demo" / "demo.fa"
CHUNKS = DATA / "nextflow" / "demo.chunks.tsv"
PREDICTIONS = DATA / "nextflow" / "demo.prediction_results.tsv"
SHARD = {"id": "demo.shard_00001", "sample": "demo"}

CASES = [
    Case("prepare", "demo FASTA, shards of 7 frames", "PREPARE", "script",
         {"meta": {"id": "demo"}, "fasta": "demo.fa", "annotations": [], "chunk_size": 500, "shard_size": 7},
         {"demo.fa": DEMO},
         ["manifest", "chunks", "summary"]),
    Case("prepare", "stub", "PREPARE", "stub",
         {"meta": {"id": "demo"}, "fasta": "demo.fa", "annotations": [], "chunk_size": 500, "shard_size": 7},
         {"demo.fa": DEMO},
         ["shards", "manifest", "chunks", "summary"]),
    Case("embed_dnabert", "stub", "EMBED_DNABERT", "stub", {"meta": SHARD, "fna": "demo.fa", "model": "dnabert_s"},
         {"demo.fa": DEMO, "dnabert_s": DATA / "models" / "dnabert_s"}, ["embeddings"]),
    Case("embed_esm", "stub", "EMBED_ESM", "stub", {"meta": SHARD, "faa": "demo.fa", "weights": "esm2_t2_64_test.pt"},
         {"demo.fa": DEMO, "esm2_t2_64_test.pt": DATA / "models" / "esm2_t2_64_test.pt"}, ["embeddings"]),
    Case("merge", "stub", "MERGE", "stub", {"meta": SHARD, "dnabert": "README.md", "esm": "main.nf"},
         {"README.md": ROOT / "README.md", "main.nf": ROOT / "main.nf"}, ["merged"]),
    Case("predict", "stub", "PREDICT", "stub",
         {"meta": {"id": "demo"}, "merged": ["merged/README.md"], "classifier": "500_model.pth", "chunk_size": 500},
         {"merged/README.md": ROOT / "README.md", "500_model.pth": DATA / "models" / "500_model.pth"}, ["predictions"]),
    Case("report", "the demo's predictions and chunks table", "REPORT", "script",
         {"meta": {"id": "demo"}, "predictions": PREDICTIONS.name, "chunks": CHUNKS.name, "chunk_size": 500},
         {PREDICTIONS.name: PREDICTIONS, CHUNKS.name: CHUNKS}, ["consensus", "contig_summary", "summary", "html"]),
    Case("report", "stub", "REPORT", "stub",
         {"meta": {"id": "demo"}, "predictions": "NO_PREDICTIONS.tsv", "chunks": CHUNKS.name, "chunk_size": 500},
         {"NO_PREDICTIONS.tsv": ROOT / "assets" / "NO_PREDICTIONS.tsv", CHUNKS.name: CHUNKS},
         ["consensus", "contig_summary", "summary", "html"]),
    Case("fetch_models", "stub: the layout the pipeline passes on as --dnabert_s, --esm_weights and --classifier",
         "FETCH_MODELS", "stub", {"chunk_size": 300}, {}, ["dnabert_s", "esm_weights", "classifier"]),
]  # fmt: skip


def snap_path(module: str) -> Path:
    return ROOT / "modules" / "local" / module / "tests" / "main.nf.test.snap"


def serialise(path: Path) -> object:
    """A file or directory as nf-test's PathConverter writes it."""
    if path.is_dir():
        return [serialise(child) for child in sorted(path.iterdir())]
    return f"{path.name}:md5,{hashlib.md5(path.read_bytes()).hexdigest()}"


def emitted(declaration: str, patterns: list[str], workdir: Path, meta: dict | None) -> list:
    """The channel an output declaration gives for one task: a list of one item."""
    values = []
    for pattern in patterns:
        found = sorted(workdir.glob(pattern))
        values.append(serialise(found[0]) if len(found) == 1 else [serialise(f) for f in found])
    has_meta = declaration.startswith("tuple val(meta)")
    item = [meta, *values] if has_meta else values[0] if len(values) == 1 else values
    return [item]


def content(case: Case, outputs: list[dict], workdir: Path) -> list:
    """What `snapshot(process.out.<emit>, ...)` stores for `case`, from the rendered outputs run in `workdir`."""
    by_emit = {}
    for output in outputs:
        name = re.search(r"emit: (\w+)", output["declaration"])
        if name and not output["evals"]:
            by_emit[name.group(1)] = emitted(output["declaration"], output["paths"], workdir, case.bindings.get("meta"))
    return [by_emit[emit] for emit in case.emits]


def snapshot_call(case: Case) -> str:
    return "snapshot(" + ", ".join(f"process.out.{emit}" for emit in case.emits) + ").match()"


def write(results: dict[tuple[str, str], list]) -> None:
    """Write every module's .snap file from computed contents, in nf-test's layout."""
    modules = sorted({module for module, _ in results})
    for module in modules:
        snaps = {
            test: {"content": value, "meta": {"nf-test": NF_TEST_VERSION, "nextflow": NEXTFLOW_VERSION},
                   "timestamp": TIMESTAMP}
            for (mod, test), value in sorted(results.items()) if mod == module
        }  # fmt: skip
        snap_path(module).write_text(json.dumps(snaps, indent=4) + "\n")
