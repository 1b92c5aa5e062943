"""Benchmark: `virnucpro embed-dnabert` against the original one-sequence-at-a-time fp32 path, same process.

Model: a random-weight directory with DNABERT-2-117M's shapes (`--size 117m`: 12 layers, 768 hidden, 12 heads,
3072 intermediate, a 4,096-token BPE trained on random DNA: 500 bp become about 106 tokens, about 109 with
DNABERT-2's own tokenizer) or a tiny one (`--size tiny`, a CPU smoke run). Input: a .fna shard of random
498-500 bp sequences.
  ours      model load, a warm-up (torch.compile on GPUs), then the whole shard end to end: reading, tokenizing,
            batching, embedding, pooling, writing; in the device's default precision (bf16 on recent GPUs);
  original  the original's loop on a subset: `tokenizer(seq, return_tensors='pt')`, `model(input_ids)[0]`,
            `torch.mean(..., dim=1)`, fp32, one sequence per call. With `--reference DIR` (DNABERT-2's
            bert_layers.py, bert_padding.py, configuration_bert.py; never committed) the model is the hub code
            itself, and DIR's tokenizer.json, if there is one, replaces the test tokenizer; otherwise it is our
            explicit-softmax path without padding (the hub code's computation, with fewer kernel launches, so the
            ratio is conservative).
Prints JSON: sequences/s of both, the ratio, and how close the two embeddings are on the shared sequences.
Usage: python bench/embed_dnabert.py --size 117m --n 200000 --original-n 512 --device cuda [--reference DIR]
       [--profile FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import torch
from profiling import profile_batches

from virnucpro.embed.defaults import DNABERT_BATCH_TOKENS
from virnucpro.embed.dnabert import load_dnabert_encoder, load_tokenizer
from virnucpro.embed.engine import resolve_device, resolve_precision
from virnucpro.embed.step import embed_sequences, read_shard
from virnucpro.fasta import NUCLEOTIDE_LETTERS
from virnucpro.features import load_features
from virnucpro.models.dnabert_checkpoint import load_dnabert2
from virnucpro.testmodels.dnabert import write_dnabert_dir

# hidden, layers, heads, intermediate, vocabulary (None: the small fixed test vocabulary)
SIZES = {"tiny": (64, 2, 4, 128, None), "117m": (768, 12, 12, 3072, 4096)}
KIND = "an IUPAC nucleotide code"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def write_model(directory: Path, size: str, reference: Path | None = None) -> Path:
    """A random-weight model directory of `size`; the reference's code and tokenizer copied in when given."""
    hidden, layers, heads, intermediate, vocab = SIZES[size]
    write_dnabert_dir(directory, hidden, layers, heads, intermediate, weights_format="safetensors", vocab_size=vocab)
    if reference is not None:
        from virnucpro.check_dnabert import HUB_CODE

        for name in HUB_CODE:
            shutil.copy(reference / name, directory / name)
        if (reference / "tokenizer.json").is_file() and size == "117m":  # same vocabulary size
            shutil.copy(reference / "tokenizer.json", directory / "tokenizer.json")
    return directory


def run_ours(model_dir: Path, shard: Path, out: Path, device: torch.device, dtype: torch.dtype, batch_tokens: int,
             profile: Path | None = None):  # fmt: skip
    started = time.perf_counter()
    encoder = load_dnabert_encoder(model_dir, device, dtype)
    synchronize(device)
    ready = time.perf_counter() - started
    ids, sequences = read_shard(shard, NUCLEOTIDE_LETTERS, KIND)
    started = time.perf_counter()
    embed_sequences(encoder, device, ids[:4096], sequences[:4096], out, batch_tokens)  # warm-up and compilation
    synchronize(device)
    warm_up = time.perf_counter() - started
    started = time.perf_counter()
    tokens = encoder.tokenize(sequences)
    tokenize = time.perf_counter() - started
    synchronize(device)
    started = time.perf_counter()
    ids, sequences = read_shard(shard, NUCLEOTIDE_LETTERS, KIND)
    embed_sequences(encoder, device, ids, sequences, out, batch_tokens)
    synchronize(device)
    seconds = time.perf_counter() - started
    if profile is not None:
        profile_batches(encoder, tokens, batch_tokens, device, profile)
    return {
        "model_ready_s": round(ready, 2),
        "warm_up_s": round(warm_up, 2),
        "seconds": round(seconds, 2),
        "sequences": len(ids),
        "sequences_per_s": round(len(ids) / seconds),
        "tokens_per_sequence": round(sum(map(len, tokens)) / len(tokens), 1),
        "tokenize_sequences_per_s": round(len(ids) / tokenize),
    }


def original_model(model_dir: Path, device: torch.device, hub: bool):
    """input_ids [1, T] -> last hidden states [1, T, E], fp32: the hub code's, or our explicit-softmax path."""
    if hub:
        from virnucpro.check_dnabert import hub_model

        model = hub_model(model_dir).to(device)
        return lambda input_ids: model(input_ids)[0]
    model = load_dnabert2(model_dir, device, torch.float32)
    return lambda input_ids: model(input_ids, torch.zeros_like(input_ids, dtype=torch.bool), eager=True)


def run_original(model_dir: Path, sequences: list[str], device: torch.device, hub: bool) -> tuple[dict, torch.Tensor]:
    model = original_model(model_dir, device, hub)
    tokenizer = load_tokenizer(model_dir)
    rows = []
    with torch.no_grad():
        model(tokenizer(sequences[0], return_tensors="pt")["input_ids"].to(device))  # warm-up
        synchronize(device)
        started = time.perf_counter()
        for sequence in sequences:
            inputs = tokenizer(sequence, return_tensors="pt")
            hidden_states = model(inputs["input_ids"].to(device))
            rows.append(torch.mean(hidden_states[0], dim=0).cpu())
        synchronize(device)
        seconds = time.perf_counter() - started
    stats = {
        "model": "hub code" if hub else "ours, eager",
        "seconds": round(seconds, 2),
        "sequences": len(sequences),
        "sequences_per_s": round(len(sequences) / seconds, 1),
    }
    return stats, torch.stack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--original-n", type=int, default=200)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--batch-tokens", type=int, help="default: the step's default for the device")
    parser.add_argument("--reference", type=Path, help="directory with DNABERT-2's modelling code (the original)")
    parser.add_argument("--profile", type=Path, help="write a torch.profiler table of a few batches here")
    args = parser.parse_args()
    device = resolve_device(args.device)
    dtype = resolve_precision(args.precision, device)
    args.batch_tokens = args.batch_tokens or DNABERT_BATCH_TOKENS[0 if device.type == "cuda" else 1]
    rng = random.Random(5)
    sequences = ["".join(rng.choices("ACGT", k=rng.choice([498, 499, 499, 500]))) for _ in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = write_model(work / "model", args.size, args.reference)
        shard = work / "shard.fna"
        shard.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(sequences)))
        ours = run_ours(model_dir, shard, work / "ours.pt", device, dtype, args.batch_tokens, args.profile)
        data = load_features(work / "ours.pt")[1]
        original, reference = run_original(model_dir, sequences[: args.original_n], device, args.reference is not None)
    ours_rows = data[: args.original_n]
    mean = reference.mean(0)
    cosine = torch.nn.functional.cosine_similarity(ours_rows, reference, dim=1)
    centred = torch.nn.functional.cosine_similarity(ours_rows - mean, reference - mean, dim=1)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "size": args.size, "precision": str(dtype),
        "batch_tokens": args.batch_tokens, "ours": ours, "original": original,
        "speedup": round(ours["sequences_per_s"] / original["sequences_per_s"], 1),
        "agreement_vs_original": {"cosine_min": round(cosine.min().item(), 6),
                                  "centred_cosine_min": round(centred.min().item(), 6),
                                  "max_abs_diff": (ours_rows - reference).abs().max().item()},
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
