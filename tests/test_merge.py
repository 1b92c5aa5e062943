"""merge joins by ID in the .fna order, refuses mismatches, and writes a plain torch file in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest
import torch

from tests.conftest import ROOT, run_bin
from virnucpro.features import load_features, save_features


def features(path, ids, dim, seed):
    data = torch.randn(len(ids), dim, generator=torch.Generator().manual_seed(seed))
    save_features(path, ids, data)
    return data


def test_merge_joins_by_id_in_dnabert_order(cli, tmp_path):
    ids = [f"c_chunk_{i}F1" for i in range(5000)]
    dna = features(tmp_path / "a.pt", ids, 8, 1)
    esm = features(tmp_path / "b.pt", list(reversed(ids)), 12, 2)  # the same IDs in another order
    result = cli("merge", "--dnabert", tmp_path / "a.pt", "--esm", tmp_path / "b.pt", "--output", tmp_path / "m.pt")
    assert result.code == 0, result.stderr
    merged = torch.load(tmp_path / "m.pt", weights_only=True)
    assert set(merged) == {"ids", "data"} and merged["ids"] == ids
    assert merged["data"].dtype == torch.float32 and merged["data"].shape == (5000, 20)
    assert torch.equal(merged["data"], torch.cat([dna, esm.flip(0)], dim=1))
    with zipfile.ZipFile(tmp_path / "m.pt") as archive:
        assert archive.testzip() is None  # every record's CRC is right, as torch.save writes it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "b.pt", "m.pt"]  # no temporary file left


def test_merge_of_empty_shards(cli, tmp_path):
    features(tmp_path / "a.pt", [], 8, 1)
    features(tmp_path / "b.pt", [], 12, 2)
    result = cli("merge", "--dnabert", tmp_path / "a.pt", "--esm", tmp_path / "b.pt", "--output", tmp_path / "m.pt")
    assert result.code == 0, result.stderr
    assert load_features(tmp_path / "m.pt")[1].shape == (0, 20)


@pytest.mark.parametrize(
    ("dna_ids", "esm_ids", "message"),
    [
        (["a", "b", "c"], ["a", "c"], "1 ID(s) of {a} are missing from {b}: 'b'"),
        (["a", "c"], ["a", "b", "c"], "1 ID(s) of {b} are missing from {a}: 'b'"),
        (["a", "a", "b"], ["a", "b", "c"], "{a}: 1 ID(s) occur more than once: 'a'"),
        (["a", "b"], ["b", "a", "b"], "{b}: 1 ID(s) occur more than once: 'b'"),
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "b.pt"]


def test_merge_refuses_missing_and_foreign_files(cli, tmp_path):
    features(tmp_path / "a.pt", ["x"], 4, 1)
    result = cli("merge", "--dnabert", tmp_path / "a.pt", "--esm", tmp_path / "b.pt", "--output", tmp_path / "m.pt")
    assert (result.code, result.stderr) == (1, f"virnucpro merge: error: {tmp_path / 'b.pt'}: no such file\n")
    torch.save({"ids": ["x"], "data": torch.zeros(2, 3)}, tmp_path / "b.pt")
    result = cli("merge", "--dnabert", tmp_path / "a.pt", "--esm", tmp_path / "b.pt", "--output", tmp_path / "m.pt")
    assert result.stderr == (f"virnucpro merge: error: {tmp_path / 'b.pt'}: 'data' must be a [N, D] tensor with one "
                             "row per id (1 ids, data (2, 3))\n")  # fmt: skip
    assert not (tmp_path / "m.pt").exists()


MEMORY_PROBE = """
import sys, threading, time
import torch
from virnucpro.merge import merge_features

def anonymous_kib():
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("RssAnon:"))

base, peak, done = anonymous_kib(), [0], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], anonymous_kib())
        time.sleep(0.002)
sampler = threading.Thread(target=sample)
sampler.start()
merge_features(*sys.argv[1:])
done.set()
sampler.join()
print(base * 1024, peak[0] * 1024)
"""


def test_merge_memory_does_not_grow_with_the_shard(tmp_path):
    """30,000 x (768 + 2560) floats (a 400 MB output): the anonymous memory merge adds stays far below the output
    size (measured: 0.08x, the ids and one block; a merge that builds the output in memory adds at least 1x); `bench/merge.py` measures 200,000 rows."""
    rows = 30_000
    ids = [f"s{i}" for i in range(rows)]
    features(tmp_path / "a.pt", ids, 768, 1)
    features(tmp_path / "b.pt", ids[::-1], 2560, 2)
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "m.pt"],
                          capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    base, peak = map(int, done.stdout.split())
    output = rows * 3328 * 4
    assert (peak - base) < 0.15 * output, (peak - base) / output
    assert load_features(tmp_path / "m.pt")[1].shape == (rows, 3328)


def test_bin_script_merge(tmp_path):
    features(tmp_path / "a.pt", ["x", "y"], 8, 1)
    features(tmp_path / "b.pt", ["y", "x"], 12, 2)
    done = run_bin("merge", "--dnabert", tmp_path / "a.pt", "--esm", tmp_path / "b.pt", "--output", tmp_path / "m.pt")
    assert done.returncode == 0, done.stderr
    assert load_features(tmp_path / "m.pt")[0] == ["x", "y"]
