"""check-dnabert runs a model directory's own modelling code beside our port and reports the difference.

The hub's real code cannot be bundled, so these tests write a stand-in: an independent, eager implementation
of the DNABERT-2 encoder (power-of-two ALiBi slopes from the paper's formula, explicit softmax, one sequence
at a time) behind the hub code's module and class names.
"""

from __future__ import annotations

import re

import pytest

from virnucpro.testmodels.dnabert import write_dnabert_dir

STAND_IN_CONFIG = """
class BertConfig:
    def __init__(self, **values):
        self.__dict__.update(values)
"""

STAND_IN_LAYERS = """
import math
import torch
from torch import nn

flash_attn_qkvpacked_func = "a Triton kernel the check must switch off"
SLOPE_FACTOR = {factor}


def module(**children):
    m = nn.Module()
    for name, child in children.items():
        setattr(m, name, child)
    return m


class BertModel(nn.Module):
    def __init__(self, config, add_pooling_layer=True):
        super().__init__()
        assert flash_attn_qkvpacked_func is None, "the Triton path must be off"
        h, i, eps = config.hidden_size, config.intermediate_size, config.layer_norm_eps
        self.config = config
        self.embeddings = module(word_embeddings=nn.Embedding(config.vocab_size, h),
                                 token_type_embeddings=nn.Embedding(config.type_vocab_size, h),
                                 LayerNorm=nn.LayerNorm(h, eps=eps))
        self.encoder = module(layer=nn.ModuleList(
            module(attention=module(self=module(Wqkv=nn.Linear(h, 3 * h)),
                                    output=module(dense=nn.Linear(h, h), LayerNorm=nn.LayerNorm(h, eps=eps))),
                   mlp=module(gated_layers=nn.Linear(h, 2 * i, bias=False), wo=nn.Linear(i, h),
                              layernorm=nn.LayerNorm(h, eps=eps)))
            for _ in range(config.num_hidden_layers)))

    def forward(self, input_ids):
        heads, hidden = self.config.num_attention_heads, self.config.hidden_size
        size = hidden // heads
        x = self.embeddings.word_embeddings(input_ids[0]) + self.embeddings.token_type_embeddings.weight[0]
        x = self.embeddings.LayerNorm(x)
        length = x.shape[0]
        slopes = torch.tensor([SLOPE_FACTOR * 2 ** (-8 * (k + 1) / heads) for k in range(heads)])
        distance = (torch.arange(length)[None, :] - torch.arange(length)[:, None]).abs()
        bias = -slopes[:, None, None] * distance
        for layer in self.encoder.layer:
            qkv = layer.attention.self.Wqkv(x).view(length, 3, heads, size)
            q, k, v = (qkv[:, j].transpose(0, 1) for j in range(3))
            weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(size) + bias, dim=-1)
            attended = (weights @ v).transpose(0, 1).reshape(length, hidden)
            x = layer.attention.output.LayerNorm(layer.attention.output.dense(attended) + x)
            gate, up = layer.mlp.gated_layers(x).chunk(2, dim=-1)
            x = layer.mlp.layernorm(layer.mlp.wo(torch.nn.functional.gelu(gate) * up) + x)
        return (x[None],)
"""


def model_with_code(tmp_path, factor: float = 1.0):
    model = write_dnabert_dir(tmp_path / "model", hidden_size=32, num_layers=2, heads=4, intermediate_size=64,
                              alibi_starting_size=16, layout="mlm", weights_format="bin")  # fmt: skip
    (model / "configuration_bert.py").write_text(STAND_IN_CONFIG)
    (model / "bert_padding.py").write_text("")
    (model / "bert_layers.py").write_text(STAND_IN_LAYERS.format(factor=factor))
    return model


def test_agreeing_code_is_reported(cli, tmp_path):
    result = cli("check-dnabert", "--model", model_with_code(tmp_path), "--sequences", "4")
    assert result.code == 0, result.stderr
    match = re.fullmatch(
        r"check-dnabert: 4 sequences, largest absolute difference (\S+) \(within 0\.0001\)\n", result.stdout
    )
    assert match and float(match.group(1)) < 1e-5


def test_disagreeing_code_fails(cli, tmp_path):
    model = model_with_code(tmp_path, factor=2.0)  # a different attention bias
    result = cli("check-dnabert", "--model", model, "--sequences", "3")
    assert result.code == 1
    assert re.fullmatch(
        rf"virnucpro check-dnabert: error: our DNABERT-S port differs from {re.escape(str(model))}'s modelling code "
        r"by \S+\n",
        result.stderr,
    )
    assert "ABOVE 0.0001" in result.stdout


def test_directory_without_modelling_code(cli, tmp_path):
    model = write_dnabert_dir(tmp_path / "model")
    result = cli("check-dnabert", "--model", model)
    assert (result.code, result.stderr) == (1, (
        f"virnucpro check-dnabert: error: {model}: has no hub modelling code (bert_layers.py, bert_padding.py, "
        "configuration_bert.py missing); `virnucpro fetch-models` downloads it beside the weights\n"
    ))  # fmt: skip


@pytest.mark.parametrize("missing_package", ["einops_is_not_installed_here"])
def test_code_needing_a_missing_package(cli, tmp_path, missing_package):
    model = model_with_code(tmp_path)
    (model / "bert_layers.py").write_text(f"import {missing_package}\n")
    result = cli("check-dnabert", "--model", model)
    assert result.code == 1
    assert result.stderr == (
        f"virnucpro check-dnabert: error: {model}: its modelling code needs a package that is not installed "
        f"(No module named '{missing_package}'); for example `pip install einops`\n"
    )


def test_code_that_does_not_run_with_this_transformers(cli, tmp_path):
    import transformers

    model = model_with_code(tmp_path)
    (model / "bert_layers.py").write_text(
        "class BertModel:\n    def __init__(self, config, add_pooling_layer=True):\n"
        "        raise AttributeError('no attribute get_head_mask')\n"
    )
    result = cli("check-dnabert", "--model", model)
    assert (result.code, result.stderr) == (1, (
        f"virnucpro check-dnabert: error: {model}: its modelling code does not run with transformers "
        f"{transformers.__version__} (AttributeError: no attribute get_head_mask)\n"
    ))  # fmt: skip
