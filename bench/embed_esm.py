"""Benchmark: `virnucpro embed-esm` against the original-style fair-esm fp32 path, in the same process.

Builds a random-weight ESM-2 checkpoint in fair-esm's format (`--size 3b`: the real 36-layer, 2560-dim,
40-head architecture stored in fp16 like the published file; `--size tiny` for a CPU smoke run), writes a
.faa shard of proteins with the lengths of 500 bp (or 300 bp) frames (80% full-length, 20% shorter), then:
  ours      model-ready time from a cold start (checkpoint -> model on the device), a warm-up pass (compile),
            then the whole shard end to end: reading, tokenizing, batching, embedding, pooling, writing;
  original  fair-esm's `load_model_and_alphabet_local`, fp32, FastaBatchedDataset + get_batch_indices(2048,
            extra_toks_per_seq=1) + batch converter, repr_layers=[last], per-protein mean, on a subset;
and prints tokens/s of both, the ratio, and the agreement of the two on the shared proteins.
Usage: python bench/embed_esm.py --size 3b --n 20000 --original-n 384 [--device cuda] [--batch-tokens 16384]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch

from virnucpro.embed.defaults import ESM_BATCH_TOKENS
from virnucpro.embed.esm import ESM_LETTERS, ESMEncoder
from virnucpro.embed.step import embed_sequences, read_shard
from virnucpro.features import load_features
from virnucpro.models.esm_checkpoint import load_esm2

SIZES = {"tiny": (2, 64, 4), "8m": (6, 320, 20), "650m": (33, 1280, 20), "3b": (36, 2560, 40)}
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"


def protein_lengths(count: int, chunk: int, rng: random.Random) -> list[int]:
    full = chunk // 3  # 166 at 500 bp, 100 at 300 bp
    return [rng.randint(full - 1, full + 1) if rng.random() < 0.8 else rng.randint(30, full - 1) for _ in range(count)]


def write_shard(path: Path, count: int, chunk: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w") as handle:
        for i, length in enumerate(protein_lengths(count, chunk, rng)):
            handle.write(f">p{i}\n{''.join(rng.choices(AMINO_ACIDS, k=length))}\n")


def write_random_checkpoint(path: Path, size: str, seed: int = 0) -> None:
    """A fair-esm-format checkpoint with random fp16 weights, without building a 3B fp32 model first."""
    import argparse as ap

    from virnucpro.models.esm2 import ESM2, ESM2Config
    from virnucpro.testmodels.esm import save_esm2_checkpoint

    layers, dim, heads = SIZES[size]
    if size == "tiny":
        save_esm2_checkpoint(path, layers, dim, heads, seed)
        return
    with torch.device("meta"):
        shapes = {n: t.shape for n, t in ESM2(ESM2Config(layers, dim, heads)).state_dict().items()}
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in shapes.items():
        if name.endswith("layer_norm.weight") or name.endswith("layer_norm_after.weight"):
            tensor = torch.ones(shape, dtype=torch.float16)
        elif name.endswith("bias"):
            tensor = torch.zeros(shape, dtype=torch.float16)
        else:
            tensor = (torch.randn(shape, generator=generator) * shape[-1] ** -0.5).to(torch.float16)
        state[f"encoder.sentence_encoder.{name}"] = tensor
    for layer in range(layers):  # fair-esm keeps the rotary buffer in every layer
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim // heads, 2).float() / (dim // heads)))
        state[f"encoder.sentence_encoder.layers.{layer}.self_attn.rot_emb.inv_freq"] = inv_freq
    state["encoder.lm_head.weight"] = state["encoder.sentence_encoder.embed_tokens.weight"]
    state["encoder.lm_head.bias"] = torch.zeros(33, dtype=torch.float16)
    state["encoder.lm_head.dense.weight"] = torch.zeros(dim, dim, dtype=torch.float16)
    state["encoder.lm_head.dense.bias"] = torch.zeros(dim, dtype=torch.float16)
    state["encoder.lm_head.layer_norm.weight"] = torch.ones(dim, dtype=torch.float16)
    state["encoder.lm_head.layer_norm.bias"] = torch.zeros(dim, dtype=torch.float16)
    cfg = ap.Namespace(encoder_layers=layers, encoder_embed_dim=dim, encoder_attention_heads=heads, token_dropout=True)
    torch.save({"model": state, "cfg": {"model": cfg}}, path)
    regression = {
        "contact_head.regression.weight": torch.zeros(1, layers * heads),
        "contact_head.regression.bias": torch.zeros(1),
    }
    torch.save({"model": regression}, path.with_name(f"{path.stem}-contact-regression.pt"))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_ours(checkpoint: Path, shard: Path, out: Path, device: torch.device, dtype: torch.dtype, args) -> dict:
    started = time.perf_counter()
    model = load_esm2(checkpoint, device, dtype)
    synchronize(device)
    ready = time.perf_counter() - started
    use_compile = device.type == "cuda" and not args.no_compile
    encoder = ESMEncoder(model, device, use_compile)
    warm_ids, warm_sequences = read_shard(shard, ESM_LETTERS, "an amino-acid code")
    warm_started = time.perf_counter()
    embed_sequences(encoder, device, warm_ids[:512], warm_sequences[:512], out, args.batch_tokens)
    synchronize(device)
    warm = time.perf_counter() - warm_started
    started = time.perf_counter()
    ids, sequences = read_shard(shard, ESM_LETTERS, "an amino-acid code")  # end to end: read ... write
    embed_sequences(encoder, device, ids, sequences, out, args.batch_tokens)
    synchronize(device)
    seconds = time.perf_counter() - started
    tokens = sum(len(s) + 2 for s in sequences)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"model_ready_s": round(ready, 2), "warmup_s": round(warm, 2), "seconds": round(seconds, 2),
            "proteins": len(ids), "tokens_per_s": round(tokens / seconds), "peak_gib": peak}  # fmt: skip


def run_original(checkpoint: Path, shard_subset: Path, device: torch.device) -> tuple[dict, list[str], torch.Tensor]:
    import esm

    started = time.perf_counter()
    with torch.serialization.safe_globals([argparse.Namespace]):
        model, alphabet = esm.pretrained.load_model_and_alphabet_local(str(checkpoint))
    model = model.eval().to(device)
    synchronize(device)
    ready = time.perf_counter() - started
    dataset = esm.FastaBatchedDataset.from_file(str(shard_subset))
    batches = dataset.get_batch_indices(2048, extra_toks_per_seq=1)
    loader = torch.utils.data.DataLoader(dataset, collate_fn=alphabet.get_batch_converter(), batch_sampler=batches)
    layer = model.num_layers
    labels, rows, tokens = [], [], 0
    started = time.perf_counter()
    with torch.no_grad():
        for batch_labels, strs, toks in loader:
            out = model(toks.to(device, non_blocking=True), repr_layers=[layer], return_contacts=False)
            representation = out["representations"][layer].to(device)
            for i, label in enumerate(batch_labels):
                rows.append(representation[i, 1 : min(1024, len(strs[i])) + 1].mean(0).clone().to("cpu"))
                labels.append(label)
                tokens += len(strs[i]) + 2
    synchronize(device)
    seconds = time.perf_counter() - started
    stats = {"model_ready_s": round(ready, 2), "seconds": round(seconds, 2), "proteins": len(labels),
             "tokens_per_s": round(tokens / seconds)}  # fmt: skip
    return stats, labels, torch.stack(rows)


def agreement(ours: torch.Tensor, reference: torch.Tensor) -> dict:
    cosine = torch.nn.functional.cosine_similarity(ours, reference, dim=1)
    mean = reference.mean(0)
    centred = torch.nn.functional.cosine_similarity(ours - mean, reference - mean, dim=1)
    return {"cosine_min": round(cosine.min().item(), 6), "centred_cosine_min": round(centred.min().item(), 6),
            "max_abs_diff": (ours - reference).abs().max().item()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--n", type=int, default=2000, help="proteins in the shard")
    parser.add_argument("--original-n", type=int, default=256, help="proteins the original path embeds")
    parser.add_argument("--chunk", type=int, choices=[300, 500], default=500)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--batch-tokens", type=int, help="default: the step's default for the device")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--workdir", help="keep files here (default: a temporary directory)")
    args = parser.parse_args()
    from virnucpro.embed.engine import resolve_device, resolve_precision

    device = resolve_device(args.device)
    dtype = resolve_precision(args.precision, device)
    args.batch_tokens = args.batch_tokens or ESM_BATCH_TOKENS[0 if device.type == "cuda" else 1]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        checkpoint, shard, subset = work / f"esm2_bench_{args.size}.pt", work / "shard.faa", work / "subset.faa"
        write_random_checkpoint(checkpoint, args.size)
        write_shard(shard, args.n, args.chunk)
        subset.write_text("".join(shard.read_text().splitlines(keepends=True)[: 2 * args.original_n]))
        ours = run_ours(checkpoint, shard, work / "ours.pt", device, dtype, args)
        ids, data = load_features(work / "ours.pt")
        torch.cuda.empty_cache() if device.type == "cuda" else None
        original, labels, reference = run_original(checkpoint, subset, device)
        index = {name: i for i, name in enumerate(ids)}
        ours_rows = data[[index[label] for label in labels]]
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "size": args.size, "chunk": args.chunk, "precision": str(dtype),
        "batch_tokens": args.batch_tokens, "compile": device.type == "cuda" and not args.no_compile,
        "ours": ours, "original": original,
        "speedup": round(ours["tokens_per_s"] / original["tokens_per_s"], 2),
        "agreement_vs_original": agreement(ours_rows, reference),
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
