"""embed-dnabert: batching equals one-at-a-time, bf16 stays close, ALiBi growth, loading layouts, errors."""

from __future__ import annotations

import json
import random
import re

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


def edit_weights(model, edit) -> None:
    """Rewrite a test model's weights file with `edit(state)` applied."""
    from safetensors.torch import load_file, save_file

    if (model / "model.safetensors").exists():
        state = load_file(model / "model.safetensors")
        edit(state)
        save_file(state, model / "model.safetensors")
    else:
        state = torch.load(model / "pytorch_model.bin", weights_only=True)
        edit(state)
        torch.save(state, model / "pytorch_model.bin")


def test_both_key_layouts_load_to_the_same_model(tmp_path):
    plain = write_dnabert_dir(tmp_path / "plain", layout="plain", weights_format="safetensors", seed=3)
    mlm = write_dnabert_dir(tmp_path / "mlm", layout="mlm", weights_format="bin", seed=3)
    mlm_pooler = write_dnabert_dir(tmp_path / "mlm_pooler", layout="mlm", weights_format="safetensors", seed=3)
    edit_weights(mlm_pooler, lambda state: state.update({"bert.pooler.dense.bias": torch.zeros(32)}))
    cpu = torch.device("cpu")
    models = [load_dnabert2(directory, cpu, torch.float32).state_dict() for directory in (plain, mlm, mlm_pooler)]
    assert "encoder.layer.1.mlp.gated_layers.weight" in models[0]
    for other in models[1:]:
        assert other.keys() == models[0].keys()
        assert all(torch.equal(other[k], models[0][k]) for k in models[0])


def rename(old: str, new: str):
    return lambda state: state.update({new: state.pop(old)})


WQKV = "encoder.layer.0.attention.self.Wqkv.weight"


@pytest.mark.parametrize(
    ("layout", "edit", "missing", "unexpected"),
    [
        ("plain", rename(WQKV, "encoder.layer.0.attention.self.qkv.weight"), WQKV,
         "encoder.layer.0.attention.self.qkv.weight"),
        ("plain", lambda state: state.update({"cls.predictions.bias": torch.zeros(8)}), "none",
         "cls.predictions.bias"),  # an MLM head belongs with 'bert.' keys
        ("mlm", rename(f"bert.{WQKV}", WQKV), WQKV, WQKV),  # one key outside 'bert.'
        ("mlm", rename("bert.embeddings.LayerNorm.bias", "roberta.embeddings.LayerNorm.bias"),
         "embeddings.LayerNorm.bias", "roberta.embeddings.LayerNorm.bias"),
        ("mlm", lambda state: state.update({"bert.encoder.layer.2.mlp.wo.bias": torch.zeros(32)}), "none",
         "encoder.layer.2.mlp.wo.bias"),
    ],
)  # fmt: skip
def test_other_key_layouts_are_refused(cli, tmp_path, layout, edit, missing, unexpected):
    model = write_dnabert_dir(tmp_path / "m", layout=layout)
    edit_weights(model, edit)
    source = write_fna(tmp_path / "s.fna", ["ACGT"])
    result = cli("embed-dnabert", "--input", source, "--model", model, "--output", tmp_path / "o.pt")
    assert (result.code, result.stderr) == (1, (
        f"virnucpro embed-dnabert: error: {model / 'model.safetensors'}: not a DNABERT-2/DNABERT-S checkpoint: "
        f"missing keys {missing}; unexpected keys {unexpected}\n"
    ))  # fmt: skip
    assert not (tmp_path / "o.pt").exists()


def test_weights_of_another_shape_are_refused(cli, tmp_path):
    model = write_dnabert_dir(tmp_path / "m", intermediate_size=64)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "intermediate_size": 48}))
    source = write_fna(tmp_path / "s.fna", ["ACGT"])
    result = cli("embed-dnabert", "--input", source, "--model", model, "--output", tmp_path / "o.pt")
    assert (result.code, result.stderr) == (1, (
        f"virnucpro embed-dnabert: error: {model / 'model.safetensors'}: tensor shapes do not match the "
        "configuration: encoder.layer.0.mlp.gated_layers.weight (128, 32) != (96, 32), "
        "encoder.layer.0.mlp.wo.weight (32, 64) != (32, 48), encoder.layer.1.mlp.gated_layers.weight (128, 32) != "
        "(96, 32), encoder.layer.1.mlp.wo.weight (32, 64) != (32, 48)\n"
    ))  # fmt: skip


def test_tokens_are_those_of_the_original_tokenizer_call(model_dir):
    """Batch tokenization gives, per sequence, what `tokenizer(seq, return_tensors='pt')` gives the original:
    [CLS] + BPE tokens + [SEP], unknown letters as [UNK], no truncation."""
    cpu = torch.device("cpu")
    encoder = dnabert_step.load_dnabert_encoder(model_dir, cpu, torch.float32)
    sequences = [*dna(20, 1, 700, seed=21, letters="ACGTNRY-"), "A", "ACGT" * 500]
    tokenizer = encoder.tokenizer
    expected = [tokenizer(s, return_tensors="pt")["input_ids"][0].tolist() for s in sequences]
    assert encoder.tokenize(sequences) == expected
    cls, sep, unk = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]", "[UNK]"])
    assert all(ids[0] == cls and ids[-1] == sep for ids in expected)
    assert expected[-2] == [cls, tokenizer.convert_tokens_to_ids("A"), sep]
    assert tokenizer("ACGTNAC")["input_ids"] == [cls, *tokenizer("ACGT")["input_ids"][1:-1], unk,
                                                 *tokenizer("AC")["input_ids"][1:-1], sep]  # fmt: skip


def test_compiled_layers_give_the_same_embeddings(tmp_path, model_dir):
    """torch.compile is on by default on GPUs; one compiled graph for every layer must not change results."""
    source = write_fna(tmp_path / "shard.fna", dna(12, 20, 600, seed=13))
    for name, compiled in (("eager", False), ("compiled", True)):
        dnabert_step.embed_dnabert(source, model_dir, tmp_path / f"{name}.pt", "cpu", "fp32", batch_tokens=600,
                                   compile_layers=compiled)  # fmt: skip
    eager, compiled = load_features(tmp_path / "eager.pt")[1], load_features(tmp_path / "compiled.pt")[1]
    assert (eager - compiled).abs().max().item() < 1e-5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_type": "esm"}, "not a DNABERT-2/DNABERT-S configuration (model_type 'esm', has alibi_starting_size)"),
        ({"alibi_starting_size": None}, "not a DNABERT-2/DNABERT-S configuration (model_type 'bert', no alibi_starting_size)"),
        ({"hidden_size": "large"}, "hidden_size is 'large'; expected an integer from 1 to 32,768"),
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
    ("name", "content", "problem"),
    [
        ("config.json", b"{not json", r"not valid JSON \(.+\)"),
        ("model.safetensors", b"\x00" * 64, r"cannot be read as model weights \(.+\)"),
        ("tokenizer.json", b"{not json", r"not a readable tokenizer \(.+\)"),
        ("tokenizer_config.json", b"{not json", r"not valid JSON \(.+\)"),
    ],
)
def test_damaged_model_files(cli, tmp_path, name, content, problem):
    """The cause comes from the parsing library, so only its presence is checked, not its wording."""
    model = write_dnabert_dir(tmp_path / "m")
    (model / name).write_bytes(content)
    source = write_fna(tmp_path / "s.fna", ["ACGT"])
    result = cli("embed-dnabert", "--input", source, "--model", model, "--output", tmp_path / "o.pt")
    assert result.code == 1
    assert re.fullmatch(rf"virnucpro embed-dnabert: error: {re.escape(str(model / name))}: {problem}\n", result.stderr)


def test_a_pickled_weights_file_is_refused(cli, tmp_path):
    """pytorch_model.bin is read weights-only: a file that would run code when unpickled is refused."""
    model = write_dnabert_dir(tmp_path / "m", weights_format="bin")
    torch.save({"embeddings.word_embeddings.weight": torch.zeros(1), "extra": random.Random(0)},
               model / "pytorch_model.bin")  # fmt: skip
    source = write_fna(tmp_path / "s.fna", ["ACGT"])
    result = cli("embed-dnabert", "--input", source, "--model", model, "--output", tmp_path / "o.pt")
    assert (result.code, result.stderr) == (1, (
        f"virnucpro embed-dnabert: error: {model / 'pytorch_model.bin'}: cannot be read as model weights (it holds "
        "objects other than tensors and plain configuration (refused for safety))\n"
    ))  # fmt: skip


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


def test_trained_benchmark_tokenizer_is_deterministic_and_loads(tmp_path):
    """The benchmark's tokenizer (merges trained on seeded random DNA) regenerates identically and embeds."""
    first = write_dnabert_dir(tmp_path / "a", vocab_size=600)
    second = write_dnabert_dir(tmp_path / "b", vocab_size=600)
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert json.loads((first / "config.json").read_text())["vocab_size"] == 600
    encoder = dnabert_step.load_dnabert_encoder(first, torch.device("cpu"), torch.float32)
    sequences = dna(8, 495, 500, seed=31)
    tokens = encoder.tokenize(sequences)
    assert all(len(ids) < 150 for ids in tokens)  # the fixed test merges give about 200 tokens per 500 bp
    assert torch.isfinite(encoder.encode(tokens)).all()
