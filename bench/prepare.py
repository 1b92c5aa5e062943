"""Benchmark: `virnucpro prepare` against the original algorithm's per-record loop, in the same process.

Generates a FASTA of long contigs (so nearly every chunk is a full 500 bp chunk), then times
  original  bench/reference_prepare.py: the published algorithm record by record (chunk loop, codon dict,
            string slices), writing the identified files like the original;
  ours      virnucpro.prepare.prepare: streaming, vectorised translation, shards + manifest + chunks table.
Both read the same file; both outputs are checked to be identical before the ratio is printed. Times are
CPU seconds of this process (time.process_time), i.e. per-core throughput, unaffected by other load.
Usage: python bench/prepare.py [--mb 20] [--chunk-size 500] [--kind random|coding]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_prepare import reference_prepare

from virnucpro.fasta import read_fasta
from virnucpro.prepare import prepare
from virnucpro.translate import CODON_TABLE

STOPS = {"TAA", "TAG", "TGA"}


def synthetic_contig(rng: random.Random, length: int, kind: str) -> str:
    """Random DNA, or 'coding': stop-free codons on the forward strand, so about one frame per chunk is kept."""
    if kind == "random":
        return "".join(rng.choices("ACGT", k=length))
    codons = [c for c in CODON_TABLE if c not in STOPS]
    return "".join(rng.choices(codons, k=length // 3 + 1))[:length]


def write_input(path: Path, megabases: float, kind: str, seed: int = 7) -> int:
    rng = random.Random(seed)
    total, index = int(megabases * 1e6), 0
    with open(path, "w") as handle:
        while total > 0:
            length = min(total, rng.randint(20_000, 200_000))
            contig = synthetic_contig(rng, length, kind)
            handle.write(f">contig{index} synthetic\n")
            handle.writelines(contig[i : i + 80] + "\n" for i in range(0, len(contig), 80))
            total -= length
            index += 1
    return index


def run_original(source: Path, outdir: Path, size: int) -> tuple[float, int]:
    """The per-record loop; writes the identified files the way the original does."""
    start = time.process_time()
    chunks = 0
    with open(outdir / "nucleotide.fa", "w") as dna, open(outdir / "protein.faa", "w") as protein:
        records = ((r.id, r.sequence.decode()) for r in read_fasta(source))
        for chunk_id, _start, _end, _chunk, frames in reference_prepare(records, size):
            chunks += 1
            for suffix, nucleotide, amino_acids in frames:
                dna.write(f">{chunk_id}{suffix}\n{nucleotide}\n")
                protein.write(f">{chunk_id}{suffix}\n{amino_acids}\n")
    return time.process_time() - start, chunks


def run_ours(source: Path, outdir: Path, size: int) -> tuple[float, int]:
    start = time.process_time()
    summary = prepare(source, outdir, prefix="bench", chunk_size=size)
    return time.process_time() - start, summary.chunks


def concatenated(outdir: Path, suffix: str) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(outdir.glob(f"bench.shard_*.{suffix}")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="megabases of input (default 20)")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--kind", choices=["random", "coding"], default="random")
    parser.add_argument("--original-mb", type=float, default=2.0, help="megabases the original loop runs on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        source, small = tmpdir / "input.fa", tmpdir / "small.fa"
        contigs = write_input(source, args.mb, args.kind)
        write_input(small, args.original_mb, args.kind)
        (tmpdir / "orig").mkdir()
        original_seconds, original_chunks = run_original(small, tmpdir / "orig", args.chunk_size)
        run_ours(small, tmpdir / "small_ours", args.chunk_size)
        same = (concatenated(tmpdir / "small_ours", "fna") == (tmpdir / "orig" / "nucleotide.fa").read_bytes()) and (
            concatenated(tmpdir / "small_ours", "faa") == (tmpdir / "orig" / "protein.faa").read_bytes()
        )
        ours_seconds, ours_chunks = run_ours(source, tmpdir / "ours", args.chunk_size)
    original_rate = original_chunks / original_seconds
    ours_rate = ours_chunks / ours_seconds
    print(f"input: {args.mb:g} Mb of {args.kind} DNA in {contigs} contigs, chunk size {args.chunk_size}")
    for label, chunks, seconds, rate in (
        ("original per-record loop", original_chunks, original_seconds, original_rate),
        ("virnucpro prepare", ours_chunks, ours_seconds, ours_rate),
    ):
        print(f"{label:<25} {chunks:>10,} chunks {seconds:8.2f} CPU s {rate:>10,.0f} chunks/s")
    print(f"identical identified output on the shared input: {same}")
    print(f"ratio: {ours_rate / original_rate:.1f}x (targets: >= 100,000 chunks/s per core and >= 20x)")
    if not same:
        raise SystemExit("outputs differ")


if __name__ == "__main__":
    main()
