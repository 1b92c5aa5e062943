"""A plain implementation of the original's training-mode frame rule (reference-semantics.md §6), for tests.

Record by record and frame by frame, as make_train_dataset_{300,500}.py does it: a list of the record's
translations, a chunk dropped when it holds an ambiguity code, and a substring test against each translation.
"""

from __future__ import annotations

from reference_prepare import reference_chunks, reference_frames

AMBIGUOUS = set("NRYMKSWHBVD")


def reference_training_frames(chunk: str, translations: list[str]) -> list[tuple[str, str, str]]:
    """(suffix, nucleotide, protein) of every training frame of a chunk, given its record's translations."""
    upper = chunk.upper()
    if any(base in upper for base in AMBIGUOUS):
        return []
    return [frame for frame in reference_frames(upper) if any(frame[2] in protein for protein in translations)]


def reference_training_prepare(records: list[tuple[str, str]], annotations: dict[str, list[str]], size: int):
    """For each chunk of each (id, sequence) record: (chunk_id, training frames)."""
    for record_id, sequence in records:
        for k, (_, chunk) in enumerate(reference_chunks(sequence, size), start=1):
            chunk_id = f"{record_id}_chunk_{k}"
            translations = annotations.get(chunk_id.split("_chunk_")[0], [])
            yield chunk_id, reference_training_frames(chunk, translations)
