"""embed-dnabert: batching equals one-at-a-time, bf16 stays close, ALiBi growth, loading layouts, errors."""

from __future__ import annotations

import json
import random

import pytest
import torch

from tests.conftest import run_bin
from virnucpro.embed import dnabert as dnabert_step
from virnucpro.features import load_features
from virnucpro.models.dnabert2 import alibi_slopes
from virnucpro.models.dnabert_checkpoint import load_dnabert2
from virnucpro.testmodels.dnabert import write_dnabert_dir


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    # 6 heads exercise the non-power-of-two ALiBi slopes; a 16-token ALiBi start makes long inputs cheap
    return write_dnabert_dir(tmp_path_factory.mktemp("dnabert") / "model", hidden_size=48, num_layers=3, heads=6,
                             intermediate_size=96, alibi_starting_size=16)  # fmt: skip


def dna(count: int, low: int, high: int, seed: int, letters: str = "ACGT") -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(letters, k=rng.randint(low, high))) for _ in range(count)]


def write_fna(path, sequences):
    path.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(sequences)))
    return path


def one_at_a_time(model_dir, sequences, eager=False):
    """The original's computation: each sequence alone, no padding, mean over every token."""
    cpu = torch.device("cpu")
    model = load_dnabert2(model_dir, cpu, torch.float32)
    tokenizer = dnabert_step.load_tokenizer(model_dir)
    rows = []
    for sequence in sequences:
        ids = torch.tensor([tokenizer(sequence)["input_ids"]])
        with torch.inference_mode():
            hidden = model(ids, torch.zeros_like(ids, dtype=torch.bool), eager=eager)
        rows.append(hidden.mean(dim=1)[0])
    return torch.stack(rows)


@pytest.mark.parametrize(("batch_tokens", "seed"), [(1, 0), (300, 1), (2000, 2), (1_000_000, 3)])
def test_batched_fp32_equals_one_sequence_at_a_time(cli, tmp_path, model_dir, batch_tokens, seed):
    sequences = dna(30, 1, 520, seed, "ACGTACGTN")
    random.Random(seed).shuffle(sequences)
    source = write_fna(tmp_path / "shard.fna", sequences)
    result = cli("embed-dnabert", "--input", source, "--model", model_dir, "--output", tmp_path / "out.pt",
                 "--device", "cpu", "--precision", "fp32", "--batch-tokens", batch_tokens)  # fmt: skip
    assert result.code == 0, result.stderr
    ids, data = load_features(tmp_path / "out.pt", expect_dim=48)
    assert ids == [f"s{i}" for i in range(30)]
    assert (data - one_at_a_time(model_dir, sequences)).abs().max().item() < 1e-5


def test_sdpa_path_equals_the_eager_reference_path(model_dir):
    sequences = dna(6, 50, 400, seed=5)
    assert (one_at_a_time(model_dir, sequences) - one_at_a_time(model_dir, sequences, eager=True)).abs().max() < 1e-5


def test_bf16_is_close_to_fp32(tmp_path, model_dir):
    source = write_fna(tmp_path / "shard.fna", dna(64, 480, 500, seed=9))
    for precision in ("fp32", "bf16"):
        dnabert_step.embed_dnabert(source, model_dir, tmp_path / f"{precision}.pt", "cpu", precision)
    full, half = load_features(tmp_path / "fp32.pt")[1], load_features(tmp_path / "bf16.pt")[1]
    cosine = torch.nn.functional.cosine_similarity(full, half, dim=1)
    centred = torch.nn.functional.cosine_similarity(full - full.mean(0), half - full.mean(0), dim=1)
    assert cosine.min().item() >= 0.9999
    assert centred.min().item() >= 0.999


def test_sequences_longer_than_the_alibi_table(tmp_path, model_dir):
    """alibi_starting_size is 16 tokens; these sequences have hundreds, as long reads would with the real model."""
    sequences = dna(3, 600, 900, seed=4)
    tokens = [len(ids) for ids in dnabert_step.load_tokenizer(model_dir)(sequences)["input_ids"]]
    assert min(tokens) > 16
    source = write_fna(tmp_path / "long.fna", sequences)
    dnabert_step.embed_dnabert(source, model_dir, tmp_path / "out.pt", "cpu", "fp32", batch_tokens=100_000)
    assert (load_features(tmp_path / "out.pt")[1] - one_at_a_time(model_dir, sequences, eager=True)).abs().max() < 1e-5


def test_alibi_slopes():
    assert alibi_slopes(8) == pytest.approx([2**-i for i in range(1, 9)], rel=1e-12)
    twelve = [2**-i for i in range(1, 9)] + [2**-0.5, 2**-1.5, 2**-2.5, 2**-3.5]  # 8 + every other slope of 16
    assert alibi_slopes(12) == pytest.approx(twelve, rel=1e-12)


def test_both_key_layouts_load_to_the_same_model(tmp_path):
    plain = write_dnabert_dir(tmp_path / "plain", layout="plain", weights_format="safetensors", seed=3)
    mlm = write_dnabert_dir(tmp_path / "mlm", layout="mlm", weights_format="bin", seed=3)
    cpu = torch.device("cpu")
    a, b = load_dnabert2(plain, cpu, torch.float32), load_dnabert2(mlm, cpu, torch.float32)
    assert a.state_dict().keys() == b.state_dict().keys()
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


def test_other_key_layouts_are_refused(cli, tmp_path):
    from safetensors.torch import load_file, save_file

    model = write_dnabert_dir(tmp_path / "m")
    state = load_file(model / "model.safetensors")
    state["encoder.layer.0.attention.self.qkv.weight"] = state.pop("encoder.layer.0.attention.self.Wqkv.weight")
    save_file(state, model / "model.safetensors")
    source = write_fna(tmp_path / "s.fna", ["ACGT"])
    result = cli("embed-dnabert", "--input", source, "--model", model, "--output", tmp_path / "o.pt")
    assert (result.code, result.stderr) == (1, (
        f"virnucpro embed-dnabert: error: {model / 'model.safetensors'}: not a DNABERT-2/DNABERT-S checkpoint: "
        "missing keys encoder.layer.0.attention.self.Wqkv.weight; "
        "unexpected keys encoder.layer.0.attention.self.qkv.weight\n"
    ))  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_type": "esm"}, "not a DNABERT-2/DNABERT-S configuration (model_type 'esm', has alibi_starting_size)"),
        ({"alibi_starting_size": None}, "not a DNABERT-2/DNABERT-S configuration (model_type 'bert', no alibi_starting_size)"),
        ({"hidden_size": "large"}, "lacks integer field(s) hidden_size"),
    ],
)  # fmt: skip
def test_configs_of_other_architectures_are_refused(cli, tmp_path, change, message):
    model = write_dnabert_dir(tmp_path / "m")
    config = json.loads((model / "config.json").read_text())
    config.update(change)
    config = {k: v for k, v in config.items() if v is not None}
    (model / "config.json").write_text(json.dumps(config))
    source = write_fna(tmp_path / "s.fna", ["ACGT"])
    result = cli("embed-dnabert", "--input", source, "--model", model, "--output", tmp_path / "o.pt")
    assert (result.code, result.stderr) == (1, f"virnucpro embed-dnabert: error: {model / 'config.json'}: {message}\n")


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        (None, "{m}x: no such directory"),
        ("config.json", "{m}/config.json: no such file (a DNABERT-S model directory has config.json)"),
        ("model.safetensors", "{m}: has neither model.safetensors nor pytorch_model.bin"),
        ("tokenizer.json", "{m}/tokenizer.json: no such file (a DNABERT-S model directory has tokenizer.json)"),
    ],
)
def test_missing_model_files(cli, tmp_path, remove, message):
    model = write_dnabert_dir(tmp_path / "m")
    target = model
    if remove:
        (model / remove).unlink()
    else:
        target = tmp_path / "mx"
    source = write_fna(tmp_path / "s.fna", ["ACGT"])
    result = cli("embed-dnabert", "--input", source, "--model", target, "--output", tmp_path / "o.pt")
    assert (result.code, result.stderr) == (1, f"virnucpro embed-dnabert: error: {message.format(m=model)}\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "{p}: no FASTA records (the file is empty or has no '>' header)"),
        ("ACGT\n>a\nACGT\n", "{p}: line 1: text before the first FASTA header (a FASTA file starts with '>')"),
        (">a\nACGT\n>b\nACEGT\n", "{p}: record 2 (ID 'b'): invalid character 'E' at position 3: not an IUPAC nucleotide code (this looks like a protein sequence; the input must be DNA)"),
        (">a\nACGT\n>b\nAC7GT\n", "{p}: record 2 (ID 'b'): invalid character '7' at position 3: not an IUPAC nucleotide code"),
        (">a\n\n", "{p}: record 1 (ID 'a'): empty sequence"),
    ],
)  # fmt: skip
def test_bad_nucleotide_shards(cli, tmp_path, content, message):
    model = write_dnabert_dir(tmp_path / "m")
    source = tmp_path / "bad.fna"
    source.write_text(content)
    result = cli("embed-dnabert", "--input", source, "--model", model, "--output", tmp_path / "o.pt")
    assert (result.code, result.stderr) == (1, f"virnucpro embed-dnabert: error: {message.format(p=source)}\n")
    assert not (tmp_path / "o.pt").exists()


def test_bin_script_writes_the_same_file(tmp_path, model_dir):
    source = write_fna(tmp_path / "shard.fna", dna(5, 100, 300, seed=12))
    dnabert_step.embed_dnabert(source, model_dir, tmp_path / "direct.pt", "cpu", "fp32")
    done = run_bin("embed-dnabert", "--input", source, "--model", model_dir, "--output", tmp_path / "bin.pt",
                   "--device", "cpu", "--precision", "fp32")  # fmt: skip
    assert done.returncode == 0, done.stderr
    direct, via_bin = load_features(tmp_path / "direct.pt"), load_features(tmp_path / "bin.pt")
    assert direct[0] == via_bin[0] and torch.equal(direct[1], via_bin[1])
