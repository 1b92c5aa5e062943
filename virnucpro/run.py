"""`virnucpro run`: the whole chain on one machine, from the same step functions as the Nextflow pipeline.

prepare -> DNABERT-S for every shard -> ESM-2 for every shard (each model loaded once) -> merge -> predict ->
report. Outputs are laid out like the pipeline's --outdir (docs/output.md):
  prepare/NAME/        shards, manifest, chunks table, prepare.json
  embed_dnabert/NAME/  NAME.shard_00001.dnabert.pt ...       embed_esm/NAME/  NAME.shard_00001.esm.pt ...
  merge/NAME/          NAME.shard_00001.merged.pt ...
  predict/NAME/        prediction_results.tsv
  report/NAME/         prediction_results_highestscore.tsv, contig_summary.tsv, summary.json, report.html
  pipeline_info/NAME.run.json   what this outdir was made from
Resuming is the default: every file is written atomically, and a shard whose output exists and holds the
shard's IDs in order is not computed again, so an interrupted run ends with the same outputs as an
uninterrupted one. An outdir made from another input or other settings is refused (use --restart).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from virnucpro import __version__
from virnucpro.atomic import atomic_write_text
from virnucpro.errors import InputError
from virnucpro.prepare import DEFAULT_CHUNK_SIZE, DEFAULT_SHARD_SIZE, PrepareOutputs, default_prefix

log = logging.getLogger("virnucpro")

STEPS = ("prepare", "embed_dnabert", "embed_esm", "merge", "predict", "report")


@dataclass(frozen=True)
class Shard:
    """One row of the manifest, with the paths of everything made from it."""

    shard_id: str
    fna: Path
    faa: Path
    dnabert: Path
    esm: Path
    merged: Path


@dataclass(frozen=True)
class RunLayout:
    """Every path `run` writes, defined once (the Nextflow pipeline publishes the same layout)."""

    outdir: Path
    name: str

    def step(self, step: str) -> Path:
        return self.outdir / step / self.name

    @property
    def prepared(self) -> PrepareOutputs:
        return PrepareOutputs(self.step("prepare"), self.name)

    @property
    def predictions(self) -> Path:
        return self.step("predict") / "prediction_results.tsv"

    @property
    def state(self) -> Path:
        return self.outdir / "pipeline_info" / f"{self.name}.run.json"

    def shards(self) -> list[Shard]:
        """The shards of the manifest, in order."""
        prepared = self.prepared
        rows = prepared.manifest.read_text().splitlines()[1:]
        shards = []
        for row in rows:
            shard_id, _, _, fna, faa = row.split("\t")
            stem = f"{self.name}.{shard_id}"
            shards.append(Shard(
                shard_id, prepared.outdir / fna, prepared.outdir / faa,
                self.step("embed_dnabert") / f"{stem}.dnabert.pt", self.step("embed_esm") / f"{stem}.esm.pt",
                self.step("merge") / f"{stem}.merged.pt",
            ))  # fmt: skip
        return shards


def file_digest(path: Path) -> str:
    """sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def model_fingerprint(path: Path) -> dict[str, object]:
    """Name, size and modification time of a model file or of every file in a model directory."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {"path": str(path.resolve()), "files": [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in files]}


def run_state(input_path: Path, models: dict[str, Path], settings: dict[str, object]) -> dict[str, object]:
    for role, path in models.items():
        if not path.exists():
            raise InputError(f"--{role} {path}: no such {'directory' if role == 'dnabert' else 'file'}")
    return {
        "input": {"name": input_path.name, "sha256": file_digest(input_path)},
        "models": {role: model_fingerprint(path) for role, path in models.items()},
        "settings": settings,
    }


def check_or_record_state(layout: RunLayout, state: dict[str, object], restart: bool) -> None:
    """Refuse to resume into an outdir made from something else; start it over with `restart`."""
    if layout.state.exists():
        previous = json.loads(layout.state.read_text())
        previous.pop("virnucpro_version", None)
        if previous != state and not restart:
            changed = [key for key in state if previous.get(key) != state[key]]
            raise InputError(
                f"{layout.outdir}: holds a run of {layout.name} with other {' and '.join(changed)}; "
                "use another --outdir, or --restart to discard it"
            )
        if restart:
            for step in STEPS:
                shutil.rmtree(layout.step(step), ignore_errors=True)
    layout.state.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(layout.state, json.dumps({**state, "virnucpro_version": __version__}, indent=2) + "\n")


def remove_leftovers(layout: RunLayout) -> None:
    """Temporary files of an interrupted run (atomic writes never left them at final names)."""
    for step in STEPS:
        for leftover in layout.step(step).glob(".*.tmp-*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def features_done(path: Path, ids: list[str], dim: int | None = None) -> bool:
    """True when `path` is a complete features file for exactly these IDs, in this order."""
    from virnucpro.features import load_features

    if not path.is_file():
        return False
    try:
        found, _ = load_features(path, expect_dim=dim)
    except InputError:
        return False
    return found == ids


def embed_all(
    label: str,
    shards: list[Shard],
    pick: Callable[[Shard], tuple[Path, Path]],
    letters: bytes,
    kind: str,
    load,
    device: str,
    precision: str,
    batch_tokens: tuple[int, int],
    verbose: bool,
) -> None:
    """Embed every shard that lacks a valid output, loading the model once (and only if there is work)."""
    from virnucpro.embed.step import embed_sequences, load_encoder, read_shard

    encoder = target = None
    for number, shard in enumerate(shards, start=1):
        source, output = pick(shard)
        ids, sequences = read_shard(source, letters, kind)
        if features_done(output, ids):
            log.info("%s: shard %d/%d already done (%s)", label, number, len(shards), output.name)
            continue
        if encoder is None:
            encoder, target = load_encoder(load, device, precision, label)
        budget = batch_tokens[0 if target.type == "cuda" else 1]
        output.parent.mkdir(parents=True, exist_ok=True)
        log.info("%s: shard %d/%d (%s sequences)", label, number, len(shards), f"{len(ids):,}")
        embed_sequences(encoder, target, ids, sequences, output, budget, verbose, label)
    del encoder
    _release_gpu_memory()


def _release_gpu_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run(
    input_path: str | Path,
    outdir: str | Path,
    dnabert: str | Path,
    esm: str | Path,
    classifier: str | Path,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    shard_size: int = DEFAULT_SHARD_SIZE,
    prefix: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    restart: bool = False,
    verbose: bool = False,
) -> dict[str, object]:
    """Run every step for one input; return the report's summary."""
    from virnucpro.embed.defaults import DNABERT_BATCH_TOKENS, ESM_BATCH_TOKENS
    from virnucpro.embed.dnabert import load_dnabert_encoder
    from virnucpro.embed.esm import ESM_LETTERS, ESMEncoder
    from virnucpro.fasta import NUCLEOTIDE_LETTERS
    from virnucpro.features import load_features
    from virnucpro.merge import merge_features
    from virnucpro.models.classifier import load_classifier
    from virnucpro.models.esm_checkpoint import load_esm2
    from virnucpro.predict import HEADER, check_chunk_size, predict
    from virnucpro.prepare import prepare
    from virnucpro.report import report

    started = time.monotonic()
    input_path, dnabert, esm, classifier = map(Path, (input_path, dnabert, esm, classifier))
    if not input_path.is_file():
        raise InputError(f"{input_path}: no such file" if not input_path.exists() else f"{input_path}: not a file")
    layout = RunLayout(Path(outdir), prefix or default_prefix(input_path))
    settings = {"chunk_size": chunk_size, "shard_size": shard_size, "precision": precision}
    state = run_state(input_path, {"dnabert": dnabert, "esm": esm, "classifier": classifier}, settings)
    check_or_record_state(layout, state, restart)
    remove_leftovers(layout)

    log.info("run [1/5] prepare: %s", input_path)
    prepared = layout.prepared
    if prepared.manifest.is_file() and prepared.chunks.is_file() and prepared.summary.is_file():
        log.info("prepare: already done (%s)", prepared.manifest)
    else:
        prepare(input_path, prepared.outdir, layout.name, chunk_size, shard_size, verbose)
    shards = layout.shards()

    log.info("run [2/5] DNABERT-S embeddings of %d shard(s)", len(shards))

    def load_dnabert(target, dtype):
        return load_dnabert_encoder(dnabert, target, dtype)

    embed_all("embed-dnabert", shards, lambda s: (s.fna, s.dnabert), NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code",
              load_dnabert, device, precision, DNABERT_BATCH_TOKENS, verbose)  # fmt: skip

    log.info("run [3/5] ESM-2 embeddings of %d shard(s)", len(shards))

    def load_esm(target, dtype):
        return ESMEncoder(load_esm2(esm, target, dtype), target, compile_layers=target.type == "cuda")

    embed_all("embed-esm", shards, lambda s: (s.faa, s.esm), ESM_LETTERS, "an amino-acid code", load_esm, device,
              precision, ESM_BATCH_TOKENS, verbose)  # fmt: skip

    log.info("run [4/5] merge and predict")
    for shard in shards:
        ids = load_features(shard.dnabert)[0]
        if not features_done(shard.merged, ids):
            shard.merged.parent.mkdir(parents=True, exist_ok=True)
            merge_features(shard.dnabert, shard.esm, shard.merged)
    layout.predictions.parent.mkdir(parents=True, exist_ok=True)
    if shards:
        predict([s.merged for s in shards], classifier, layout.predictions, device, chunk_size)
    else:  # no kept frame anywhere: nothing to score, an empty table
        from virnucpro.models.classifier import load_classifier
        from virnucpro.predict import HEADER, check_chunk_size

        check_chunk_size(classifier, chunk_size)
        load_classifier(classifier)  # a bad classifier is still an error
        atomic_write_text(layout.predictions, HEADER)

    log.info("run [5/5] report")
    summary = report(layout.predictions, prepared.chunks, layout.step("report"))
    calls = summary.calls
    log.info(
        "run: %d sequences: %d virus, %d others, %d without a kept frame, in %.1f s; report: %s",
        summary.sequences, calls["virus"], calls["others"], calls["no_prediction"], time.monotonic() - started,
        layout.step("report") / "report.html",
    )  # fmt: skip
    return {"sequences": summary.sequences, "calls": calls, "report": str(layout.step("report") / "report.html")}
