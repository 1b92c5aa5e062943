"""merge joins by ID and refuses mismatches; predict equals a direct eval-mode softmax in the original format."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import ROOT, run_bin
from virnucpro.features import load_features, save_features
from virnucpro.testmodels.classifier import build_classifier, save_published_style


def features(path, ids, dim, seed):
    data = torch.randn(len(ids), dim, generator=torch.Generator().manual_seed(seed))
    save_features(path, ids, data)
    return data


def test_merge_joins_by_id_in_dnabert_order(cli, tmp_path):
    ids = [f"c_chunk_{i}F1" for i in range(50)]
    dna = features(tmp_path / "a.pt", ids, 8, 1)
    shuffled = list(reversed(ids))  # the ESM file may hold the same IDs in another order
    esm = features(tmp_path / "b.pt", shuffled, 12, 2)
    result = cli("merge", "--dnabert", tmp_path / "a.pt", "--esm", tmp_path / "b.pt", "--output", tmp_path / "m.pt")
    assert result.code == 0, result.stderr
    merged = torch.load(tmp_path / "m.pt", weights_only=True)
    assert merged["ids"] == ids
    assert merged["data"].dtype == torch.float32 and merged["data"].shape == (50, 20)
    assert torch.equal(merged["data"], torch.cat([dna, esm.flip(0)], dim=1))


@pytest.mark.parametrize(
    ("dna_ids", "esm_ids", "message"),
    [
        (["a", "b", "c"], ["a", "c"], "1 ID(s) of {a} are missing from {b}: 'b'"),
        (["a", "c"], ["a", "b", "c"], "1 ID(s) of {b} are missing from {a}: 'b'"),
        (["a", "a", "b"], ["a", "b", "c"], "{a}: 1 ID(s) occur more than once: 'a'"),
        (["x", "y"], ["a", "b", "c", "d", "e", "f", "g"], "2 ID(s) of {a} are missing from {b}: 'x', 'y'"),
        ([f"id{i}" for i in range(8)], [], "8 ID(s) of {a} are missing from {b}: 'id0', 'id1', 'id2', 'id3', 'id4' and 3 more"),
    ],
)  # fmt: skip
def test_merge_refuses_id_mismatches(cli, tmp_path, dna_ids, esm_ids, message):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    features(a, dna_ids, 4, 1)
    features(b, esm_ids, 6, 2)
    result = cli("merge", "--dnabert", a, "--esm", b, "--output", tmp_path / "m.pt")
    assert (result.code, result.stderr) == (1, f"virnucpro merge: error: {message.format(a=a, b=b)}\n")
    assert not (tmp_path / "m.pt").exists()


def test_merge_memory_stays_near_one_output(tmp_path):
    """60,000 x (768 + 2560) floats: peak memory must stay well under two copies of the output."""
    rows = 60_000
    ids = [f"s{i}" for i in range(rows)]
    features(tmp_path / "a.pt", ids, 768, 1)
    features(tmp_path / "b.pt", ids[::-1], 2560, 2)
    code = (
        "import resource; from virnucpro.merge import merge_features; import torch; torch.ones(1);"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        f"merge_features({str(tmp_path / 'a.pt')!r}, {str(tmp_path / 'b.pt')!r}, {str(tmp_path / 'm.pt')!r});"
        "print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    base, peak = (int(x) * 1024 for x in done.stdout.split())
    output = rows * 3328 * 4
    assert peak - base < 1.6 * output, (peak - base) / output


@pytest.fixture
def classifier(tmp_path):
    model = build_classifier(20, 8, seed=4)
    return model, save_published_style(model, tmp_path / "500_model.pth")


def test_predict_equals_direct_softmax_in_the_original_format(cli, tmp_path, classifier):
    model, path = classifier
    first, second = [f"c1_chunk_{i}F1" for i in range(300)], [f"c2_chunk_{i}R2" for i in range(40)]
    a = features(tmp_path / "1.merged.pt", first, 20, 1) * 4
    save_features(tmp_path / "1.merged.pt", first, a)
    b = features(tmp_path / "2.merged.pt", second, 20, 2)
    result = cli("predict", "--merged", tmp_path / "1.merged.pt", tmp_path / "2.merged.pt", "--classifier", path,
                 "--output", tmp_path / "prediction_results.tsv", "--device", "cpu")  # fmt: skip
    assert result.code == 0, result.stderr
    lines = (tmp_path / "prediction_results.tsv").read_text().splitlines()
    assert lines[0] == "Sequence_ID\tPrediction\tscore1\tscore2"
    with torch.no_grad():
        expected = torch.softmax(model.eval()(torch.cat([a, b])), dim=1).numpy()
    for line, name, (others, virus) in zip(lines[1:], first + second, expected, strict=True):
        seq, label, s1, s2 = line.split("\t")
        assert seq == name
        assert abs(float(s1) - others) <= 1e-6 and abs(float(s2) - virus) <= 1e-6
        assert (s1, s2) == (str(np.float32(others)), str(np.float32(virus)))  # the original's number format
        assert label == ("virus" if virus > others else "others")
    labels = {line.split("\t")[1] for line in lines[1:]}
    assert labels == {"virus", "others"}


def test_predict_ties_go_to_others(tmp_path):
    from virnucpro.predict import table_rows

    rows = table_rows(["t"], np.array([[0.5, 0.5]], dtype=np.float32))
    assert rows == "t\tothers\t0.5\t0.5\n"


def test_predict_refuses_dimension_mismatch_and_duplicates(cli, tmp_path, classifier):
    _, path = classifier
    features(tmp_path / "wide.pt", ["a", "b"], 24, 1)
    result = cli("predict", "--merged", tmp_path / "wide.pt", "--classifier", path, "--output", tmp_path / "p.tsv")
    assert (result.code, result.stderr) == (
        1, f"virnucpro predict: error: {tmp_path / 'wide.pt'}: 24 features per row, but {path} expects 20\n"
    )  # fmt: skip
    features(tmp_path / "x.pt", ["a", "b"], 20, 1)
    features(tmp_path / "y.pt", ["c", "a"], 20, 2)
    result = cli("predict", "--merged", tmp_path / "x.pt", tmp_path / "y.pt", "--classifier", path,
                 "--output", tmp_path / "p.tsv")  # fmt: skip
    assert (result.code, result.stderr) == (
        1, f"virnucpro predict: error: {tmp_path / 'y.pt'}: sequence IDs occur more than once across the merged files: 'a'\n"
    )  # fmt: skip
    assert not (tmp_path / "p.tsv").exists()


def test_predict_warns_on_chunk_size_mismatch(cli, tmp_path, classifier):
    _, path = classifier
    features(tmp_path / "x.pt", ["a"], 20, 1)
    result = cli("predict", "--merged", tmp_path / "x.pt", "--classifier", path, "--output", tmp_path / "p.tsv",
                 "--chunk-size", "300")  # fmt: skip
    assert result.code == 0
    assert "500_model.pth was trained on 500 bp chunks but the input was cut into 300 bp chunks" in result.stderr


def test_bin_scripts_merge_and_predict(tmp_path, classifier):
    _, path = classifier
    features(tmp_path / "a.pt", ["x", "y"], 8, 1)
    features(tmp_path / "b.pt", ["y", "x"], 12, 2)
    for argv in (
        ["merge", "--dnabert", tmp_path / "a.pt", "--esm", tmp_path / "b.pt", "--output", tmp_path / "m.pt"],
        ["predict", "--merged", tmp_path / "m.pt", "--classifier", path, "--output", tmp_path / "p.tsv"],
    ):
        done = run_bin(*argv)
        assert done.returncode == 0, done.stderr
    assert load_features(tmp_path / "m.pt")[0] == ["x", "y"]
    assert (tmp_path / "p.tsv").read_text().count("\n") == 3
