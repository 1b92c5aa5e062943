"""predict equals a direct eval-mode softmax, in the original's format and batches; refusals are one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import run_bin
from virnucpro.features import save_features
from virnucpro.models.classifier import export_classifier
from virnucpro.testmodels.classifier import build_classifier, save_published_style


def features(path, ids, dim, seed, scale=1.0):
    data = torch.randn(len(ids), dim, generator=torch.Generator().manual_seed(seed)) * scale
    save_features(path, ids, data)
    return data


@pytest.fixture
def classifier(tmp_path):
    model = build_classifier(20, 8, seed=4)
    return model, save_published_style(model, tmp_path / "500_model.pth")


def test_predict_equals_direct_softmax_in_the_original_format(cli, tmp_path, classifier):
    model, path = classifier
    first, second = [f"c1_chunk_{i}F1" for i in range(300)], [f"c2_chunk_{i}R2" for i in range(40)]
    a = features(tmp_path / "1.merged.pt", first, 20, 1, scale=4.0)  # scores near 0 and 1: exponents in the text
    b = features(tmp_path / "2.merged.pt", second, 20, 2)
    result = cli("predict", "--merged", tmp_path / "1.merged.pt", tmp_path / "2.merged.pt", "--classifier", path,
                 "--output", tmp_path / "prediction_results.tsv", "--device", "cpu")  # fmt: skip
    assert result.code == 0, result.stderr
    lines = (tmp_path / "prediction_results.tsv").read_text().splitlines()
    assert lines[0] == "Sequence_ID\tPrediction\tscore1\tscore2"
    with torch.no_grad():
        direct = torch.nn.functional.softmax(model.eval()(torch.cat([a, b])), dim=1).numpy()
    for line, name, (others, virus) in zip(lines[1:], first + second, direct, strict=True):
        seq, label, s1, s2 = line.split("\t")
        assert seq == name
        assert abs(float(s1) - others) <= 1e-6 and abs(float(s2) - virus) <= 1e-6
        assert (s1, s2) == (str(np.float32(others)), str(np.float32(virus)))  # the original's number format
        assert label == ("virus" if virus > others else "others")
    assert {line.split("\t")[1] for line in lines[1:]} == {"virus", "others"}
    assert any("e-" in line for line in lines)  # e.g. 3.3066226e-05, as str(numpy.float32) writes it


def test_exported_classifier_gives_the_same_file(cli, tmp_path, classifier):
    _, path = classifier
    export_classifier(path, tmp_path / "clf.safetensors")
    features(tmp_path / "m.pt", [f"x_chunk_{i}F1" for i in range(50)], 20, 3)
    for name, model in (("a.tsv", path), ("b.tsv", tmp_path / "clf.safetensors")):
        assert (
            cli("predict", "--merged", tmp_path / "m.pt", "--classifier", model, "--output", tmp_path / name).code == 0
        )
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()


def test_batches_are_the_original_dataloader_windows(tmp_path):
    """Windows of 256 consecutive rows over the files in order, as the original's DataLoader(batch_size=256)."""
    from virnucpro.predict import merged_batches

    sizes, paths, names = [300, 40, 0, 500, 3], [], []
    for number, size in enumerate(sizes):
        ids = [f"f{number}_{i}" for i in range(size)]
        paths.append(tmp_path / f"{number}.pt")
        features(paths[-1], ids, 6, number)
        names += ids
    batches = list(merged_batches(paths, 6, tmp_path / "clf"))
    assert [len(ids) for ids, _ in batches] == [256, 256, 256, 75]
    assert [name for ids, _ in batches for name in ids] == names
    everything = torch.cat([torch.load(p, weights_only=True)["data"] for p in paths])
    assert torch.equal(torch.cat([rows for _, rows in batches]), everything)


def test_ties_go_to_others_as_torch_max_does():
    from virnucpro.predict import table_rows

    tied = torch.tensor([[0.5, 0.5], [0.25, 0.75]])
    assert torch.max(tied, 1).indices.tolist() == [0, 1]  # the original's label: index of the first maximum
    assert table_rows(["t", "u"], tied.numpy()) == "t\tothers\t0.5\t0.5\nu\tvirus\t0.25\t0.75\n"


def test_predict_refuses_dimension_mismatch_and_duplicates(cli, tmp_path, classifier):
    _, path = classifier
    features(tmp_path / "wide.pt", ["a", "b"], 24, 1)
    result = cli("predict", "--merged", tmp_path / "wide.pt", "--classifier", path, "--output", tmp_path / "p.tsv")
    assert (result.code, result.stderr) == (
        1, f"virnucpro predict: error: {tmp_path / 'wide.pt'}: 24 features per row, but {path} expects 20\n"
    )  # fmt: skip
    features(tmp_path / "x.pt", ["a", "b"], 20, 1)
    features(tmp_path / "y.pt", ["c", "a", "d", "c"], 20, 2)
    result = cli("predict", "--merged", tmp_path / "x.pt", tmp_path / "y.pt", "--classifier", path,
                 "--output", tmp_path / "p.tsv")  # fmt: skip
    assert (result.code, result.stderr) == (
        1, f"virnucpro predict: error: {tmp_path / 'y.pt'}: sequence IDs occur more than once across the merged "
           "files: 'a', 'c'\n"
    )  # fmt: skip
    assert not (tmp_path / "p.tsv").exists()


def test_predict_refuses_missing_inputs_and_devices(cli, tmp_path, classifier):
    _, path = classifier
    result = cli("predict", "--merged", tmp_path / "none.pt", "--classifier", path, "--output", tmp_path / "p.tsv")
    assert (result.code, result.stderr) == (1, f"virnucpro predict: error: {tmp_path / 'none.pt'}: no such file\n")
    features(tmp_path / "x.pt", ["a"], 20, 1)
    result = cli("predict", "--merged", tmp_path / "x.pt", "--classifier", tmp_path / "c.pth", "--output",
                 tmp_path / "p.tsv")  # fmt: skip
    assert (result.code, result.stderr) == (1, f"virnucpro predict: error: {tmp_path / 'c.pth'}: no such file\n")
    if not torch.cuda.is_available():
        result = cli("predict", "--merged", tmp_path / "x.pt", "--classifier", path, "--output", tmp_path / "p.tsv",
                     "--device", "cuda")  # fmt: skip
        assert (result.code, result.stderr) == (
            3,
            "virnucpro predict: error: --device cuda: CUDA was asked for but no CUDA GPU is available\n",
        )
    assert not (tmp_path / "p.tsv").exists()


def test_empty_merged_files_give_the_header_only(cli, tmp_path, classifier):
    _, path = classifier
    features(tmp_path / "e.pt", [], 20, 1)
    assert cli("predict", "--merged", tmp_path / "e.pt", "--classifier", path, "--output", tmp_path / "p.tsv").code == 0
    assert (tmp_path / "p.tsv").read_text() == "Sequence_ID\tPrediction\tscore1\tscore2\n"


def test_predict_warns_on_chunk_size_mismatch(cli, tmp_path, classifier):
    _, path = classifier
    features(tmp_path / "x.pt", ["a"], 20, 1)
    argv = ["predict", "--merged", tmp_path / "x.pt", "--classifier", path, "--output", tmp_path / "p.tsv"]
    result = cli(*argv, "--chunk-size", "300")
    assert result.code == 0
    assert result.stderr.startswith(
        "[virnucpro] 500_model.pth was trained on 500 bp chunks but the input was cut into 300 bp chunks: scores "
        "will be unreliable (use the 300 bp classifier, or prepare with --chunk-size 500)\n"
    )
    assert "trained on" not in cli(*argv, "--chunk-size", "500").stderr


def test_bin_script_predict(tmp_path, classifier):
    _, path = classifier
    features(tmp_path / "m.pt", ["x", "y"], 20, 1)
    done = run_bin("predict", "--merged", tmp_path / "m.pt", "--classifier", path, "--output", tmp_path / "p.tsv")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "p.tsv").read_text().count("\n") == 3
