"""Malicious and absurd model files given to `virnucpro run` (issue 13).

Every model is checked before any step runs: each case exits 1 with one stderr line, writes nothing (not even
the output directory), runs no planted code, and allocates nothing large (absurd sizes fail before any
module is built)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time

import pytest
import torch

from tests.conftest import DEMO, MODELS
from tests.fault_helpers import one_line_error
from virnucpro.testmodels.classifier import build_classifier, save_published_style


class Payload:
    """Pickles to a call of os.system: what a malicious model file does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def run_with(cli, tmp_path, dnabert=MODELS / "dnabert_s", esm=MODELS / "esm2_t2_64_test.pt",
             classifier=MODELS / "500_model.pth"):  # fmt: skip
    return cli("run", "--input", DEMO, "--outdir", tmp_path / "out", "-q", "--dnabert", dnabert, "--esm", esm,
               "--classifier", classifier)  # fmt: skip


def dnabert_copy(tmp_path, **changes):
    model = tmp_path / "dnabert"
    shutil.copytree(MODELS / "dnabert_s", model)
    config = json.loads((model / "config.json").read_text())
    config.update(changes)
    (model / "config.json").write_text(json.dumps(config))
    return model


def esm_copy(tmp_path, **changes):
    data = torch.load(MODELS / "esm2_t2_64_test.pt", weights_only=True)
    cfg = vars(data["cfg"]["model"]) | changes
    data["cfg"]["model"] = argparse.Namespace(**cfg)
    path = tmp_path / "esm.pt"
    torch.save(data, path)
    return path


@pytest.fixture(autouse=True)
def _namespace_allowed():
    with torch.serialization.safe_globals([argparse.Namespace]):
        yield


DNABERT_CONFIGS = [
    ({"hidden_size": 1e9}, "hidden_size is 1000000000.0; expected an integer from 1 to 32,768"),
    ({"hidden_size": 1_000_000_000}, "hidden_size is 1000000000; expected an integer from 1 to 32,768"),
    ({"hidden_size": -5}, "hidden_size is -5; expected an integer from 1 to 32,768"),
    ({"hidden_size": True}, "hidden_size is True; expected an integer from 1 to 32,768"),
    ({"num_attention_heads": 0}, "num_attention_heads is 0; expected an integer from 1 to 1,024"),
    ({"num_attention_heads": 5}, "hidden_size 64 is not a multiple of num_attention_heads 5"),
    ({"num_hidden_layers": 10_000_000}, "num_hidden_layers is 10000000; expected an integer from 1 to 256"),
    ({"num_hidden_layers": 200}, "the configuration has num_hidden_layers 200, but the weights hold 2 layers"),
    ({"vocab_size": 100}, "tensor shapes do not match the configuration: embeddings.word_embeddings.weight"),
    ({"intermediate_size": 2**40}, "intermediate_size is 1099511627776; expected an integer from 1 to 131,072"),
    ({"layer_norm_eps": -1}, "layer_norm_eps is -1; expected a number between 0 and 1"),
]


@pytest.mark.parametrize(("changes", "message"), DNABERT_CONFIGS)
def test_absurd_dnabert_configs(cli, tmp_path, changes, message):
    model = dnabert_copy(tmp_path, **changes)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    one_line_error(run_with(cli, tmp_path, dnabert=model), message)
    assert time.monotonic() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 300_000  # KiB: nothing large allocated
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "not a configuration (nested too deeply)"),
        ("{not json", "not valid JSON"),
        ("\xff\xfe", "not valid JSON"),
        (" " * (2 << 20), "bytes: too large for a configuration file"),
    ],
)
def test_unreadable_dnabert_configs(cli, tmp_path, content, message):
    model = dnabert_copy(tmp_path)
    (model / "config.json").write_bytes(content.encode("latin-1"))
    one_line_error(run_with(cli, tmp_path, dnabert=model), f"{model / 'config.json'}: ", message)


def test_tokenizer_larger_than_the_vocabulary(cli, tmp_path):
    model = dnabert_copy(tmp_path)
    tokenizer = json.loads((model / "tokenizer.json").read_text())
    tokenizer["model"]["vocab"].update({f"EXTRA{i}": 281 + i for i in range(20)})
    (model / "tokenizer.json").write_text(json.dumps(tokenizer))
    one_line_error(run_with(cli, tmp_path, dnabert=model), "tokens, but config.json's vocab_size is 281")


def test_planted_code_in_dnabert_weights_never_runs(cli, tmp_path):
    model = dnabert_copy(tmp_path)
    (model / "model.safetensors").unlink()
    marker = tmp_path / "payload-ran"
    torch.save({"embeddings.word_embeddings.weight": Payload(marker)}, model / "pytorch_model.bin")
    one_line_error(run_with(cli, tmp_path, dnabert=model), "holds objects other than tensors", "refused for safety")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"encoder_layers": 10_000_000}, "cfg['model'].encoder_layers is 10000000; expected an integer from 1 to 256"),
        ({"encoder_layers": 36}, "the configuration has cfg['model'].encoder_layers 36, but the weights hold 2 layers"),
        ({"encoder_embed_dim": -5}, "cfg['model'].encoder_embed_dim is -5; expected an integer from 1 to 32,768"),
        ({"encoder_embed_dim": 2560}, "tensor shapes do not match the configuration"),
        ({"encoder_attention_heads": 0}, "cfg['model'].encoder_attention_heads is 0; expected an integer from 1"),
        ({"encoder_attention_heads": 64}, "the attention head width is odd; rotary embeddings need an even one"),
    ],
)  # fmt: skip
def test_absurd_esm_checkpoints(cli, tmp_path, changes, message):
    path = esm_copy(tmp_path, **changes)
    started = time.monotonic()
    one_line_error(run_with(cli, tmp_path, esm=path), message)
    assert time.monotonic() - started < 10
    assert not (tmp_path / "out").exists()


def test_planted_code_in_the_esm_checkpoint_never_runs(cli, tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "esm.pt"
    torch.save({"model": {"embed_tokens.weight": Payload(marker)}, "cfg": {}}, path)
    one_line_error(run_with(cli, tmp_path, esm=path), "refused for safety")
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 100, 0.5])
def test_truncated_esm_checkpoint(cli, tmp_path, cut):
    data = (MODELS / "esm2_t2_64_test.pt").read_bytes()
    path = tmp_path / "esm.pt"
    path.write_bytes(data[: int(cut * len(data)) if isinstance(cut, float) else cut])
    one_line_error(run_with(cli, tmp_path, esm=path), f"{path}: cannot be read as a fair-esm checkpoint")


def test_classifier_of_other_models(cli, tmp_path):
    path = save_published_style(build_classifier(3328, 16), tmp_path / "500_model.pth")
    one_line_error(run_with(cli, tmp_path, classifier=path),
                   "expects 3,328 features per row, but DNABERT-S (64) and ESM-2 (64) give 128")  # fmt: skip


def test_classifier_holding_nan(cli, tmp_path):
    model = build_classifier(128, 16)
    with torch.no_grad():
        model.bn1.running_var[3] = float("nan")
    path = save_published_style(model, tmp_path / "500_model.pth")
    one_line_error(run_with(cli, tmp_path, classifier=path), "the classifier's bn1.running_var hold NaN or infinity")


def test_planted_code_in_the_classifier_never_runs(cli, tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "500_model.pth"
    torch.save({"hidden_layer.weight": Payload(marker)}, path)
    one_line_error(run_with(cli, tmp_path, classifier=path), "refused: the file references posix.system")
    assert not marker.exists()
