"""Compare our DNABERT-S port with the hub's own modelling code on the user's real weights.

The published model directory ships MosaicBERT code (bert_layers.py, bert_padding.py, configuration_bert.py).
`virnucpro check-dnabert` imports that code from the directory explicitly — this command exists to run it;
nothing else in VirNucPro-NF ever does — builds both models from the same weights in fp32 on the CPU, embeds
a few sequences with each (the hub code one at a time, as the original calls it; ours in one padded batch) and
reports the largest difference of the pooled embeddings.
The hub code's Triton kernel is switched off so that its plain PyTorch attention is the reference.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import logging
import random
import sys
from pathlib import Path
from types import ModuleType

import torch

from virnucpro.embed.dnabert import load_dnabert_encoder
from virnucpro.errors import InputError, VirnucproError
from virnucpro.models.dnabert2 import DNABERT2
from virnucpro.models.dnabert_checkpoint import encoder_state, read_config, read_weights

log = logging.getLogger("virnucpro")

HUB_CODE = ("bert_layers.py", "bert_padding.py", "configuration_bert.py")


def import_hub_code(model_dir: Path) -> tuple[ModuleType, ModuleType]:
    """Import the directory's configuration_bert and bert_layers as submodules of a private package."""
    absent = [name for name in HUB_CODE if not (model_dir / name).is_file()]
    if absent:
        raise InputError(
            f"{model_dir}: has no hub modelling code ({', '.join(absent)} missing); `virnucpro fetch-models` "
            "downloads it beside the weights"
        )
    package = "virnucpro_hub_code_" + hashlib.sha1(str(model_dir.resolve()).encode()).hexdigest()[:12]
    if package not in sys.modules:
        spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
        spec.submodule_search_locations = [str(model_dir)]
        sys.modules[package] = importlib.util.module_from_spec(spec)
    try:
        configuration = importlib.import_module(f"{package}.configuration_bert")
        layers = importlib.import_module(f"{package}.bert_layers")
    except ImportError as exc:
        raise VirnucproError(
            f"{model_dir}: its modelling code needs a package that is not installed ({exc}); "
            "for example `pip install einops`"
        ) from None
    layers.flash_attn_qkvpacked_func = None  # use the hub code's PyTorch attention, not its Triton kernel
    return configuration, layers


def check_sequences(count: int, seed: int = 7) -> list[str]:
    """Deterministic test DNA: chunk-sized sequences and one longer than 512 tokens (the ALiBi table grows)."""
    rng = random.Random(seed)
    lengths = [rng.choice([150, 298, 300, 498, 499]) for _ in range(count - 1)] + [3500]
    return ["".join(rng.choices("ACGT", k=n)) for n in lengths]


def hub_model(model_dir: Path) -> torch.nn.Module:
    """The hub's BertModel in fp32 on the CPU, holding the directory's weights."""
    configuration, layers = import_hub_code(model_dir)
    values = json.loads((model_dir / "config.json").read_text())
    values.setdefault("pad_token_id", None)  # transformers 4 gave every config this default; the hub code reads it
    try:
        model = layers.BertModel(configuration.BertConfig(**values), add_pooling_layer=False)
    except Exception as exc:  # code written for another transformers release can fail in many ways
        import transformers

        raise VirnucproError(
            f"{model_dir}: its modelling code does not run with transformers {transformers.__version__} "
            f"({type(exc).__name__}: {exc})"
        ) from None
    state, path = read_weights(model_dir)
    with torch.device("meta"):
        layout = DNABERT2(read_config(model_dir))  # our names are the hub's names: it maps and checks the keys
    model.load_state_dict(encoder_state(state, layout, path), strict=True)
    return model.eval()


def largest_difference(model_dir: str | Path, count: int = 8) -> float:
    """Largest absolute difference of the pooled embeddings, fp32 on the CPU, between the hub code called as the
    original calls it (`tokenizer(seq, return_tensors='pt')`, one sequence per call, mean over every token) and
    our port as embed-dnabert runs it (batch tokenization, one padded batch)."""
    model_dir = Path(model_dir)
    cpu = torch.device("cpu")
    reference = hub_model(model_dir)
    ours = load_dnabert_encoder(model_dir, cpu, torch.float32, compile_layers=False)
    sequences = check_sequences(count)
    with torch.inference_mode():
        expected = torch.stack(
            [torch.mean(reference(ours.tokenizer(s, return_tensors="pt")["input_ids"])[0], dim=1)[0] for s in sequences]
        )
        got = ours.encode(ours.tokenize(sequences))
    differences = (expected - got).abs().amax(dim=1)
    for sequence, difference in zip(sequences, differences.tolist(), strict=True):
        log.debug("check-dnabert: %d bp: largest difference %.2e", len(sequence), difference)
    return differences.max().item()
