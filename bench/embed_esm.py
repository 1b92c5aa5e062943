"""Benchmark: `virnucpro embed-esm` against the original-style fair-esm fp32 path, in the same process.

Builds a random-weight ESM-2 checkpoint in fair-esm's format (`--size 3b`: the real 36-layer, 2560-dim,
40-head architecture stored in fp16 like the published file; `--size tiny` for a CPU smoke run; `--checkpoint`
keeps it for the next run), writes one .faa shard per chunk length of proteins with the lengths of 500 bp
(or 300 bp) frames (80% full-length, 20% shorter), then:
  ours      model-ready time from a cold start (checkpoint -> model on the device), per chunk length a warm-up
            pass (compile), then the whole shard end to end: reading, tokenizing, batching, embedding, pooling,
            writing; optionally a torch.profiler table of a few batches (`--profile FILE`);
  original  fair-esm's `load_model_and_alphabet_local`, fp32, FastaBatchedDataset + get_batch_indices(2048,
            extra_toks_per_seq=1) + batch converter, repr_layers=[last], per-protein mean, on a subset;
and prints tokens/s of both, the ratio, and the agreement of the two on the shared proteins, per chunk length.
Usage: python bench/embed_esm.py --size 3b --n 20000 --original-n 384 [--chunks 500 300] [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch
from profiling import profile_batches

from virnucpro.embed.defaults import ESM_BATCH_TOKENS
from virnucpro.embed.esm import ESM_LETTERS, ESMEncoder, load_esm_encoder
from virnucpro.embed.step import embed_sequences, read_shard
from virnucpro.features import load_features

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


def write_random_checkpoint(path: Path, size: str, seed: int = 0, device: str = "cpu") -> None:
    """A fair-esm-format checkpoint with random fp16 weights, without building a 3B fp32 model first (drawn on
    `device`: a GPU draws 3B values in a second, the CPU in tens of seconds)."""
    import argparse as ap

    from virnucpro.models.esm2 import ESM2, ESM2Config
    from virnucpro.testmodels.esm import save_esm2_checkpoint

    layers, dim, heads = SIZES[size]
    if size == "tiny":
        save_esm2_checkpoint(path, layers, dim, heads, seed)
        return
    with torch.device("meta"):
        shapes = {n: t.shape for n, t in ESM2(ESM2Config(layers, dim, heads)).state_dict().items()}
    generator = torch.Generator(device).manual_seed(seed)
    state = {}
    for name, shape in shapes.items():
        if name.endswith("layer_norm.weight") or name.endswith("layer_norm_after.weight"):
            tensor = torch.ones(shape, dtype=torch.float16)
        elif name.endswith("bias"):
            tensor = torch.zeros(shape, dtype=torch.float16)
        else:
            drawn = torch.randn(shape, generator=generator, device=device, dtype=torch.float16)
            tensor = (drawn * shape[-1] ** -0.5).cpu()
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


def run_ours(encoder: ESMEncoder, shard: Path, out: Path, device: torch.device, args, profile: Path | None) -> dict:
    """Warm-up (compilation for these lengths), then the whole shard end to end."""
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
    if profile is not None:
        profile_batches(encoder, encoder.tokenize(sequences), args.batch_tokens, device, profile)
    return {"warmup_s": round(warm, 2), "seconds": round(seconds, 2), "proteins": len(ids),
            "tokens_per_s": round(tokens / seconds), "peak_gib": peak}  # fmt: skip


def load_original(checkpoint: Path, device: torch.device):
    """fair-esm's own loader, fp32 (the original tool's path), with its model-ready time."""
    import esm

    started = time.perf_counter()
    with torch.serialization.safe_globals([argparse.Namespace]):
        model, alphabet = esm.pretrained.load_model_and_alphabet_local(str(checkpoint))
    model = model.eval().to(device)
    synchronize(device)
    return model, alphabet, time.perf_counter() - started


def run_original(model, alphabet, shard_subset: Path, device: torch.device) -> tuple[dict, list[str], torch.Tensor]:
    import esm

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
    stats = {"seconds": round(seconds, 2), "proteins": len(labels), "tokens_per_s": round(tokens / seconds)}
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
    parser.add_argument("--n", type=int, default=2000, help="proteins in each shard")
    parser.add_argument("--original-n", type=int, default=256, help="proteins the original path embeds")
    parser.add_argument("--chunks", type=int, nargs="+", choices=[300, 500], default=[500])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--batch-tokens", type=int, help="default: the step's default for the device")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--checkpoint", type=Path, help="use this checkpoint file, writing it first if it is absent")
    parser.add_argument("--profile", type=Path, help="write a torch.profiler table of the first chunk length here")
    parser.add_argument("--workdir", help="keep files here (default: a temporary directory)")
    args = parser.parse_args()
    from virnucpro.embed.engine import resolve_device, resolve_precision

    device = resolve_device(args.device)
    dtype = resolve_precision(args.precision, device)
    args.batch_tokens = args.batch_tokens or ESM_BATCH_TOKENS[0 if device.type == "cuda" else 1]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        checkpoint = args.checkpoint or work / f"esm2_bench_{args.size}.pt"
        if not checkpoint.is_file():
            write_random_checkpoint(checkpoint, args.size, device="cuda" if device.type == "cuda" else "cpu")
        started = time.perf_counter()
        encoder = load_esm_encoder(checkpoint, device, dtype, device.type == "cuda" and not args.no_compile)
        synchronize(device)
        ready = time.perf_counter() - started
        per_chunk, shards = {}, {}
        for number, chunk in enumerate(args.chunks):
            shards[chunk] = (work / f"shard{chunk}.faa", work / f"subset{chunk}.faa")
            write_shard(shards[chunk][0], args.n, chunk, seed=1 + number)
            lines = shards[chunk][0].read_text().splitlines(keepends=True)
            shards[chunk][1].write_text("".join(lines[: 2 * args.original_n]))
            profile = args.profile if number == 0 else None
            per_chunk[chunk] = {"ours": run_ours(encoder, shards[chunk][0], work / f"ours{chunk}.pt", device, args,
                                                 profile)}  # fmt: skip
        del encoder
        torch.cuda.empty_cache() if device.type == "cuda" else None
        model, alphabet, original_ready = load_original(checkpoint, device)
        for chunk, (_, subset) in shards.items():
            original, labels, reference = run_original(model, alphabet, subset, device)
            ids, data = load_features(work / f"ours{chunk}.pt")
            index = {name: i for i, name in enumerate(ids)}
            ours_rows = data[[index[label] for label in labels]]
            result = per_chunk[chunk]
            result["original"] = original
            result["speedup"] = round(result["ours"]["tokens_per_s"] / original["tokens_per_s"], 2)
            result["agreement_vs_original"] = agreement(ours_rows, reference)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "size": args.size, "precision": str(dtype),
        "batch_tokens": args.batch_tokens, "compile": device.type == "cuda" and not args.no_compile,
        "model_ready_s": round(ready, 2), "original_model_ready_s": round(original_ready, 2),
        "chunks": {str(chunk): values for chunk, values in per_chunk.items()},
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
