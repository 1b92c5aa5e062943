"""Training-mode frame selection (reference-semantics.md §6): the original's make_train_dataset_{300,500}.py rule.

On top of prediction mode's frames (stop-free, non-empty, F1..R3 with the one-base-longer nucleotide slice):
  * a chunk (upper-cased) that contains any of N R Y M K S W H B V D is dropped whole (U, '-', '.', X are not
    in that set: their codons are only skipped, as in prediction);
  * a frame is kept only when its protein is a substring of at least one CDS `/translation` of the chunk's
    GenBank record. The record is found by the chunk ID up to its first '_chunk_' (so an ID that itself
    contains '_chunk_' is looked up by its part before it, as the original does); no such record, no frames.

`TrainingFrames` plugs into `virnucpro.prepare.prepare` as its frame selector: same outputs, same shards.
Records in one file but not the other are counted warnings, not errors: the original tolerates both, and a
RefSeq pair of files normally matches exactly (docs/training.md, "Warnings and errors").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from virnucpro.annotations import AnnotatedProteins, read_annotations
from virnucpro.prepare import ChunkBatch, PrepareSummary
from virnucpro.translate import KeptFrame

log = logging.getLogger("virnucpro")

AMBIGUOUS_BASES = re.compile(rb"[NRYMKSWHBVD]")
LISTED_IDS = 20


def annotation_key(chunk_id: str) -> str:
    """The GenBank record a chunk's frames are checked against: its ID up to the first '_chunk_'."""
    return chunk_id.split("_chunk_", 1)[0]


def select_frames(sequence: bytes, frames: list[KeptFrame], proteins: bytes | None) -> list[KeptFrame]:
    """The training frames of one upper-case chunk, given its record's joined proteins (None: no record)."""
    if not frames or proteins is None or AMBIGUOUS_BASES.search(sequence):
        return []
    return [frame for frame in frames if frame.protein in proteins]


def _listed(ids: list[str]) -> str:
    shown = ", ".join(map(repr, ids[:LISTED_IDS]))
    return shown + (f" and {len(ids) - LISTED_IDS} more" if len(ids) > LISTED_IDS else "")


@dataclass
class TrainingFrames:
    """The frame selector of training-mode prepare, with the counts it adds to prepare.json."""

    annotations: AnnotatedProteins
    input_name: str = ""
    ambiguous_chunks: int = 0
    stop_free_frames: int = 0
    unannotated_frames: int = 0
    keys_seen: dict[str, bool] = field(default_factory=dict)  # annotation key -> has a GenBank record

    @classmethod
    def from_genbank(cls, path: str | Path) -> TrainingFrames:
        return cls(read_annotations(path))

    def __call__(
        self, batch: ChunkBatch, kept: list[list[KeptFrame]], summary: PrepareSummary
    ) -> list[list[KeptFrame]]:
        selected = []
        for chunk_id, sequence, frames in zip(batch.ids, batch.sequences, kept, strict=True):
            key = annotation_key(chunk_id)
            if key not in self.keys_seen:
                self.keys_seen[key] = key in self.annotations.proteins
                if not self.keys_seen[key]:
                    summary.warn(
                        f"{summary.input}: record ID {key!r} has no GenBank record in {self.annotations.path.name}: "
                        "none of its frames can be kept"
                    )
            ambiguous = AMBIGUOUS_BASES.search(sequence) is not None
            self.ambiguous_chunks += ambiguous
            if not ambiguous:
                self.stop_free_frames += len(frames)
            chosen = select_frames(sequence, frames, self.annotations.lookup(key))
            self.unannotated_frames += 0 if ambiguous else len(frames) - len(chosen)
            selected.append(chosen)
        return selected

    def finish(self, summary: PrepareSummary) -> dict[str, object]:
        """Warnings about the whole pair of files; the `annotations` section of prepare.json."""
        notes = self.annotations
        name = notes.path.name
        unused = [record_id for record_id in notes.proteins if record_id not in self.keys_seen]
        if unused:
            summary.warn(
                f"{name}: {len(unused)} GenBank record(s) have no sequence in {summary.input}: {_listed(unused)}"
            )
        if notes.duplicate_records:
            summary.warn(
                f"{name}: record ID(s) occur more than once, the last copy is used: {_listed(notes.duplicate_records)}"
            )
        if notes.translations == 0:
            summary.warn(f"{name}: no CDS feature has a /translation: no frame can be kept")
        elif notes.records_without_translation:
            ids = notes.records_without_translation
            log.info(
                "%s: %d record(s) without a CDS /translation (no frame kept from them): %s",
                name,
                len(ids),
                _listed(ids),
            )
        for note in notes.parser_warnings:
            summary.warn(note)
        if summary.frames == 0:
            summary.warn(f"{summary.input}: no frame matches an annotated protein: the outputs hold no sequences")
        return {
            "annotations": {
                "file": name,
                "records": notes.records,
                "cds": notes.cds,
                "cds_without_translation": notes.cds_without_translation,
                "records_without_translation": len(notes.records_without_translation),
                "records_without_sequence": len(unused),
                "sequences_without_record": sum(1 for found in self.keys_seen.values() if not found),
                "chunks_dropped_ambiguous": self.ambiguous_chunks,
                "stop_free_frames": self.stop_free_frames,
                "frames_not_annotated": self.unannotated_frames,
            }
        }
