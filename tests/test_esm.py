"""embed-esm equals fair-esm's own forward; bf16 stays close; long proteins, loading and errors."""

from __future__ import annotations

import argparse
import random

import esm
import pytest
import torch

from tests.conftest import run_bin
from virnucpro.embed import esm as esm_step
from virnucpro.features import load_features
from virnucpro.models import esm_checkpoint
from virnucpro.testmodels.esm import save_esm2_checkpoint

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_esm2_checkpoint(tmp_path_factory.mktemp("esm") / "esm2_t3_test.pt", num_layers=3, embed_dim=48, heads=4)


@pytest.fixture(scope="module")
def fair_esm(checkpoint):
    """fair-esm's own model, read by fair-esm's own loader from the same file."""
    with torch.serialization.safe_globals([argparse.Namespace]):
        model, alphabet = esm.pretrained.load_model_and_alphabet_local(str(checkpoint))
    return model.eval(), alphabet


def proteins(count: int, low: int, high: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(AMINO_ACIDS + "X", k=rng.randint(low, high))) for _ in range(count)]


def fair_esm_one_by_one(fair_esm, sequences: list[str]) -> torch.Tensor:
    """The original tool's computation: final layer, mean over residues 1..min(len, 1024)."""
    model, alphabet = fair_esm
    convert = alphabet.get_batch_converter()
    rows = []
    for sequence in sequences:
        _, _, tokens = convert([("x", sequence)])
        with torch.no_grad():
            layer = model.num_layers
            hidden = model(tokens, repr_layers=[layer])["representations"][layer]
        rows.append(hidden[0, 1 : min(1024, len(sequence)) + 1].mean(0))
    return torch.stack(rows)


def write_faa(path, sequences, ids=None):
    ids = ids or [f"p{i}" for i in range(len(sequences))]
    path.write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, sequences, strict=True)))
    return path


@pytest.mark.parametrize(("batch_tokens", "seed"), [(1, 0), (200, 1), (900, 2), (100_000, 3)])
def test_fp32_equals_fair_esm_one_sequence_at_a_time(cli, tmp_path, checkpoint, fair_esm, batch_tokens, seed):
    sequences = proteins(24, 1, 170, seed)
    random.Random(seed).shuffle(sequences)
    source = write_faa(tmp_path / "shard.faa", sequences)
    result = cli("embed-esm", "--input", source, "--model", checkpoint, "--output", tmp_path / "out.pt",
                 "--device", "cpu", "--precision", "fp32", "--batch-tokens", batch_tokens)  # fmt: skip
    assert result.code == 0, result.stderr
    ids, data = load_features(tmp_path / "out.pt", expect_dim=48)
    assert ids == [f"p{i}" for i in range(24)]
    expected = fair_esm_one_by_one(fair_esm, sequences)
    assert (data - expected).abs().max().item() < 1e-5


def test_bf16_is_close_to_fp32(tmp_path, checkpoint):
    sequences = proteins(64, 30, 170, seed=7)
    source = write_faa(tmp_path / "shard.faa", sequences)
    for precision in ("fp32", "bf16"):
        esm_step.embed_esm(source, checkpoint, tmp_path / f"{precision}.pt", "cpu", precision)
    _, full = load_features(tmp_path / "fp32.pt")
    _, half = load_features(tmp_path / "bf16.pt")
    cosine = torch.nn.functional.cosine_similarity(full, half, dim=1)
    centred = torch.nn.functional.cosine_similarity(full - full.mean(0), half - full.mean(0), dim=1)
    assert cosine.min().item() >= 0.9999
    assert centred.min().item() >= 0.999


def test_long_protein_runs_whole_and_averages_its_first_1024_residues(tmp_path, checkpoint, fair_esm):
    sequences = proteins(1, 1100, 1100, seed=3) + proteins(1, 1023, 1023, seed=4) + proteins(1, 40, 40, seed=5)
    source = write_faa(tmp_path / "long.faa", sequences)
    esm_step.embed_esm(source, checkpoint, tmp_path / "out.pt", "cpu", "fp32", batch_tokens=2048)
    _, data = load_features(tmp_path / "out.pt")
    assert (data - fair_esm_one_by_one(fair_esm, sequences)).abs().max().item() < 1e-5
    # the 1,100-residue protein differs from its first 1,024 residues embedded alone: context beyond 1,024 counts
    write_faa(tmp_path / "cut.faa", [sequences[0][:1024]])
    esm_step.embed_esm(tmp_path / "cut.faa", checkpoint, tmp_path / "cut.pt", "cpu", "fp32")
    assert (load_features(tmp_path / "cut.pt")[1][0] - data[0]).abs().max().item() > 1e-4


def test_model_is_built_on_the_meta_device_in_the_target_dtype(checkpoint, monkeypatch):
    built_on = []

    class Spy(esm_checkpoint.ESM2):
        def __init__(self, config):
            super().__init__(config)
            built_on.append(self.embed_tokens.weight.device.type)

    monkeypatch.setattr(esm_checkpoint, "ESM2", Spy)
    model = esm_checkpoint.load_esm2(checkpoint, torch.device("cpu"), torch.bfloat16)
    assert built_on == ["meta"]
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert {p.device.type for p in model.parameters()} == {"cpu"}


class NotAConfig:
    """A class a checkpoint must not be allowed to instantiate."""


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "{p}: no such file"),
        ("truncated", "{p}: cannot be read as a fair-esm checkpoint ("),
        ("foreign", "{p}: not a fair-esm ESM-2 checkpoint (no 'model' state dict)"),
        ("no_cfg", "{p}: not an ESM-2 checkpoint (cfg['model'] lacks encoder_layers, encoder_embed_dim, encoder_attention_heads)"),
        ("wrong_keys", "{p}: not an ESM-2 checkpoint of the architecture its cfg describes: missing keys layers.1.fc1.bias; unexpected keys none\n"),
        ("pickled_object", "{p}: cannot be read as a fair-esm checkpoint (it holds objects other than tensors and plain configuration (refused for safety))"),
    ],
)  # fmt: skip
def test_bad_checkpoints(cli, tmp_path, checkpoint, case, message):
    path = tmp_path / f"{case}.pt"
    data = torch.load(checkpoint, weights_only=False)
    if case == "truncated":
        path.write_bytes(checkpoint.read_bytes()[:2000])
    elif case == "foreign":
        torch.save({"weights": torch.zeros(3)}, path)
    elif case == "no_cfg":
        torch.save({"model": data["model"], "cfg": {}}, path)
    elif case == "wrong_keys":
        del data["model"]["encoder.sentence_encoder.layers.1.fc1.bias"]
        torch.save(data, path)
    elif case == "pickled_object":
        data["cfg"]["extra"] = NotAConfig()
        torch.save(data, path)
    source = write_faa(tmp_path / "ok.faa", ["MKV"])
    result = cli("embed-esm", "--input", source, "--model", path, "--output", tmp_path / "out.pt", "--device", "cpu")
    assert result.code == 1
    assert result.stderr.startswith(f"virnucpro embed-esm: error: {message.format(p=path)}")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out.pt").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "{p}: no FASTA records (the file is empty or has no '>' header)"),
        ("MKV\n>a\nMKV\n", "{p}: line 1: text before the first FASTA header (a FASTA file starts with '>')"),
        (">a\nMKV\n>b\nMK7V\n", "{p}: record 2 (ID 'b'): invalid character '7' at position 3: not an amino-acid code"),
        (">a\nMKV*\n", "{p}: record 1 (ID 'a'): invalid character '*' at position 4: not an amino-acid code"),
        (">a\n\n>b\nMKV\n", "{p}: record 1 (ID 'a'): empty sequence"),
        (">a\nMKV\n>a\nMKV\n", "{p}: record 2 (ID 'a'): duplicate ID"),
    ],
)
def test_bad_protein_shards(cli, tmp_path, checkpoint, content, message):
    source = tmp_path / "bad.faa"
    source.write_text(content)
    result = cli("embed-esm", "--input", source, "--model", checkpoint, "--output", tmp_path / "out.pt")
    assert (result.code, result.stderr) == (1, f"virnucpro embed-esm: error: {message.format(p=source)}\n")
    assert not (tmp_path / "out.pt").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when no GPU exists")
def test_cuda_asked_for_but_absent(cli, tmp_path, checkpoint):
    source = write_faa(tmp_path / "ok.faa", ["MKV"])
    result = cli(
        "embed-esm", "--input", source, "--model", checkpoint, "--output", tmp_path / "o.pt", "--device", "cuda"
    )
    assert (result.code, result.stderr) == (
        3,
        "virnucpro embed-esm: error: --device cuda: CUDA was asked for but no CUDA GPU is available\n",
    )


def test_bin_script_writes_the_same_file(tmp_path, checkpoint):
    source = write_faa(tmp_path / "shard.faa", proteins(5, 10, 50, seed=11))
    esm_step.embed_esm(source, checkpoint, tmp_path / "direct.pt", "cpu", "fp32")
    done = run_bin("embed-esm", "--input", source, "--model", checkpoint, "--output", tmp_path / "bin.pt",
                   "--device", "cpu", "--precision", "fp32")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "embed-esm: 5/5 sequences" in done.stderr
    direct, via_bin = load_features(tmp_path / "direct.pt"), load_features(tmp_path / "bin.pt")
    assert direct[0] == via_bin[0] and torch.equal(direct[1], via_bin[1])


def test_compiled_layers_give_the_same_embeddings(tmp_path, checkpoint):
    """torch.compile is on by default on GPUs; its graph (one compiled layer for all layers) must not change results."""
    source = write_faa(tmp_path / "shard.faa", proteins(6, 20, 90, seed=13))
    esm_step.embed_esm(source, checkpoint, tmp_path / "eager.pt", "cpu", "fp32", compile_layers=False)
    esm_step.embed_esm(source, checkpoint, tmp_path / "compiled.pt", "cpu", "fp32", compile_layers=True)
    eager, compiled = load_features(tmp_path / "eager.pt")[1], load_features(tmp_path / "compiled.pt")[1]
    assert (eager - compiled).abs().max().item() < 1e-5
