"""Small random DNABERT-S-layout model directories: config.json, weights and a BPE tokenizer.json.

The layout is the Hugging Face one the published DNABERT-S uses. Weights are written either as a plain
BertModel (with the pooler, as DNABERT-S ships) or as a masked-LM checkpoint ('bert.' prefix and a 'cls.'
head, as DNABERT-2-117M ships), in safetensors or pytorch_model.bin. The tokenizer is a byte-pair encoder
over A C G T with DNABERT-2's special tokens, Whitespace pre-tokenizer and [CLS] ... [SEP] template; its merges
are a fixed list (all 2-mers and 4-mers) or, for a given vocabulary size, trained on seeded random DNA.
Regenerating a directory gives identical files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch

from virnucpro.models.dnabert2 import DNABERT2, DNABERT2Config

SPECIAL_TOKENS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
BASES = "ACGT"
# every pair of bases, then every pair of 2-mers (500 bp become about 200 tokens: 2-mers merged first break
# the 4-mer frame)
MERGES = [(a, b) for a in BASES for b in BASES] + [
    (a + b, c + d) for a in BASES for b in BASES for c in BASES for d in BASES
]


def trained_merges(vocab_size: int) -> list[tuple[str, str]]:
    """BPE merges trained by the `tokenizers` library on seeded random DNA (DNABERT-2's were trained on genomes):
    with 4,096 tokens, 500 bp become about 106 tokens, as with DNABERT-2's own tokenizer (about 109)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    rng = random.Random(0)
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(("".join(rng.choices(BASES, k=1000)) for _ in range(1000)), trainer)
    pairs = json.loads(tokenizer.to_str())["model"]["merges"]
    return [tuple(pair.split(" ") if isinstance(pair, str) else pair) for pair in pairs]


def tokenizer_json(vocab_size: int | None = None) -> dict:
    """DNABERT-2-style tokenizer.json content for the `tokenizers` library.

    By default the fixed MERGES (281 tokens; the bundled test model). With `vocab_size` (such as DNABERT-2's
    4,096, for benchmarks) the merges are trained instead, which gives realistic token counts.
    """
    pairs = MERGES if vocab_size is None else trained_merges(vocab_size)
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *BASES])}
    for left, right in pairs:
        vocab.setdefault(left + right, len(vocab))
    special = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for i, t in enumerate(SPECIAL_TOKENS)]  # fmt: skip
    cls, sep = ({"SpecialToken": {"id": t, "type_id": 0}} for t in ("[CLS]", "[SEP]"))
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": special,
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [cls, {"Sequence": {"id": "A", "type_id": 0}}, sep],
            "pair": [
                cls,
                {"Sequence": {"id": "A", "type_id": 0}},
                sep,
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
            ],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": None,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "[UNK]",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [f"{left} {right}" for left, right in pairs],
        },
    }


def model_config(config: DNABERT2Config) -> dict:
    """config.json content in DNABERT-2's form (the auto_map entries point at hub code we never run)."""
    return {
        "_name_or_path": "virnucpro-test-dnabert-s",
        "alibi_starting_size": config.alibi_starting_size,
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.0,
        "auto_map": {"AutoConfig": "configuration_bert.BertConfig", "AutoModel": "bert_layers.BertModel"},
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": config.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": config.intermediate_size,
        "layer_norm_eps": config.layer_norm_eps,
        "max_position_embeddings": 512,
        "num_attention_heads": config.num_attention_heads,
        "num_hidden_layers": config.num_hidden_layers,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": config.type_vocab_size,
        "vocab_size": config.vocab_size,
    }


def random_state(config: DNABERT2Config, seed: int) -> dict[str, torch.Tensor]:
    """Seeded random weights for every encoder parameter (LayerNorms perturbed around 1 and 0)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DNABERT2(config)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "LayerNorm" in name or "layernorm" in name:
                    parameter.add_(torch.randn_like(parameter) * 0.1)
                elif name.endswith("bias"):
                    parameter.normal_(0.0, 0.02)
    return {name: tensor.detach().clone().contiguous() for name, tensor in model.state_dict().items()}


def write_dnabert_dir(
    directory: str | Path,
    hidden_size: int = 32,
    num_layers: int = 2,
    heads: int = 4,
    intermediate_size: int = 64,
    alibi_starting_size: int = 512,
    seed: int = 0,
    layout: str = "plain",
    weights_format: str = "safetensors",
    vocab_size: int | None = None,
) -> Path:
    """Write a small DNABERT-S-layout model directory; return its path. `vocab_size`: see `tokenizer_json`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = tokenizer_json(vocab_size)
    config = DNABERT2Config(
        vocab_size=len(tokenizer["model"]["vocab"]), hidden_size=hidden_size, num_hidden_layers=num_layers,
        num_attention_heads=heads, intermediate_size=intermediate_size, alibi_starting_size=alibi_starting_size,
    )  # fmt: skip
    state = random_state(config, seed)
    if layout == "plain":  # BertModel, with the pooler DNABERT-S ships
        generator = torch.Generator().manual_seed(seed + 1)
        state["pooler.dense.weight"] = torch.randn(hidden_size, hidden_size, generator=generator) * 0.02
        state["pooler.dense.bias"] = torch.zeros(hidden_size)
    elif layout == "mlm":  # BertForMaskedLM: 'bert.' prefix and a prediction head
        state = {f"bert.{name}": tensor for name, tensor in state.items()}
        state["cls.predictions.bias"] = torch.zeros(config.vocab_size)
        state["cls.predictions.transform.dense.weight"] = torch.eye(hidden_size)
        state["cls.predictions.transform.dense.bias"] = torch.zeros(hidden_size)
        state["cls.predictions.transform.LayerNorm.weight"] = torch.ones(hidden_size)
        state["cls.predictions.transform.LayerNorm.bias"] = torch.zeros(hidden_size)
        state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"].clone()
    else:
        raise ValueError(f"layout must be 'plain' or 'mlm', got {layout!r}")
    if weights_format == "safetensors":
        from safetensors.torch import save_file

        save_file(state, directory / "model.safetensors", metadata={"format": "pt"})
    else:
        torch.save(state, directory / "pytorch_model.bin")
    (directory / "config.json").write_text(json.dumps(model_config(config), indent=2) + "\n")
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer, indent=2) + "\n")
    special = dict(zip(("unk_token", "cls_token", "sep_token", "pad_token", "mask_token"), SPECIAL_TOKENS, strict=True))
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", **special}, indent=2) + "\n"
    )
    return directory
