"""Benchmark: `virnucpro embed-dnabert` against the original one-sequence-at-a-time fp32 path, same process.

Writes a random-weight model directory with DNABERT-2-117M's shapes (`--size 117m`: 12 layers, 768 hidden,
12 heads, 3072 intermediate, vocabulary 4096; `--size tiny` for a CPU smoke run) and the test BPE tokenizer
(about 125 tokens per 500 bp, close to DNABERT-2's ~110), and a .fna shard of random 500 bp sequences. Then:
  ours      the whole shard end to end (reading, tokenizing, batching, embedding, pooling, writing) after
            a warm-up, in the default precision of the device (bf16 mixed precision on recent GPUs);
  original  one sequence per call, fp32, no padding and no mask, explicit softmax attention (the computation
            of the hub code's PyTorch path), then torch.mean over all tokens, on a subset;
and prints sequences/s of both, the ratio, and how close the two embeddings are on the shared sequences.
Usage: python bench/embed_dnabert.py --size 117m --n 100000 --original-n 512 [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch

from virnucpro.embed.defaults import DNABERT_BATCH_TOKENS
from virnucpro.embed.dnabert import DNABERTEncoder, load_tokenizer
from virnucpro.embed.engine import resolve_device, resolve_precision
from virnucpro.embed.step import embed_sequences, read_shard
from virnucpro.fasta import NUCLEOTIDE_LETTERS
from virnucpro.features import load_features
from virnucpro.models.dnabert_checkpoint import load_dnabert2
from virnucpro.testmodels.dnabert import write_dnabert_dir

SIZES = {"tiny": (64, 2, 4, 128), "117m": (768, 12, 12, 3072)}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def write_model(directory: Path, size: str) -> Path:
    hidden, layers, heads, intermediate = SIZES[size]
    model = write_dnabert_dir(directory, hidden, layers, heads, intermediate, weights_format="safetensors")
    config = json.loads((model / "config.json").read_text())
    if size == "117m":  # DNABERT-2's vocabulary size: a larger embedding table, the same tokens
        from safetensors.torch import load_file, save_file

        state = load_file(model / "model.safetensors")
        table = state["embeddings.word_embeddings.weight"]
        state["embeddings.word_embeddings.weight"] = torch.cat([table, torch.randn(4096 - len(table), hidden) * 0.02])
        save_file(state, model / "model.safetensors")
        config["vocab_size"] = 4096
        (model / "config.json").write_text(json.dumps(config, indent=2))
    return model


def run_ours(model_dir: Path, shard: Path, out: Path, device: torch.device, dtype: torch.dtype, batch_tokens: int):
    encoder = DNABERTEncoder(load_dnabert2(model_dir, device, dtype), load_tokenizer(model_dir), device)
    ids, sequences = read_shard(shard, NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code")
    embed_sequences(encoder, device, ids[:2048], sequences[:2048], out, batch_tokens)  # warm-up
    synchronize(device)
    started = time.perf_counter()
    ids, sequences = read_shard(shard, NUCLEOTIDE_LETTERS, "an IUPAC nucleotide code")
    embed_sequences(encoder, device, ids, sequences, out, batch_tokens)
    synchronize(device)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "sequences": len(ids), "sequences_per_s": round(len(ids) / seconds)}


def run_original(model_dir: Path, sequences: list[str], device: torch.device) -> tuple[dict, torch.Tensor]:
    model = load_dnabert2(model_dir, device, torch.float32)
    tokenizer = load_tokenizer(model_dir)
    rows = []
    with torch.no_grad():
        model(torch.tensor([tokenizer(sequences[0])["input_ids"]], device=device), torch.zeros(1, 1, dtype=torch.bool))
        synchronize(device)
        started = time.perf_counter()
        for sequence in sequences:
            inputs = tokenizer(sequence, return_tensors="pt")
            input_ids = inputs["input_ids"].to(device)
            no_padding = torch.zeros_like(input_ids, dtype=torch.bool)
            hidden = model(input_ids, no_padding, eager=True)
            rows.append(torch.mean(hidden, dim=1).squeeze().cpu())
        synchronize(device)
        seconds = time.perf_counter() - started
    stats = {
        "seconds": round(seconds, 2),
        "sequences": len(sequences),
        "sequences_per_s": round(len(sequences) / seconds),
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
    args = parser.parse_args()
    device = resolve_device(args.device)
    dtype = resolve_precision(args.precision, device)
    args.batch_tokens = args.batch_tokens or DNABERT_BATCH_TOKENS[0 if device.type == "cuda" else 1]
    rng = random.Random(5)
    sequences = ["".join(rng.choices("ACGT", k=rng.choice([498, 499, 499, 500]))) for _ in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = write_model(work / "model", args.size)
        shard = work / "shard.fna"
        shard.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(sequences)))
        ours = run_ours(model_dir, shard, work / "ours.pt", device, dtype, args.batch_tokens)
        data = load_features(work / "ours.pt")[1]
        original, reference = run_original(model_dir, sequences[: args.original_n], device)
    ours_rows = data[: args.original_n]
    mean = reference.mean(0)
    cosine = torch.nn.functional.cosine_similarity(ours_rows, reference, dim=1)
    centred = torch.nn.functional.cosine_similarity(ours_rows - mean, reference - mean, dim=1)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "size": args.size, "precision": str(dtype), "batch_tokens": args.batch_tokens,
        "ours": ours, "original": original, "speedup": round(ours["sequences_per_s"] / original["sequences_per_s"], 1),
        "agreement_vs_original": {"cosine_min": round(cosine.min().item(), 6),
                                  "centred_cosine_min": round(centred.min().item(), 6),
                                  "max_abs_diff": (ours_rows - reference).abs().max().item()},
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
