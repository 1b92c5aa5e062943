"""bench/gpu_suite.sh: its --smoke run (the same parts as on a GPU, tiny, on the CPU) and its verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import gpu_suite


def test_smoke_run_writes_every_part_and_the_table(tmp_path):
    out = tmp_path / "suite"
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_suite.sh"), str(out), "--smoke"], capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHON": sys.executable})  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "gpu_suite.json").read_text())
    assert report["mode"] == "smoke"
    assert list(report["parts"]) == ["esm", "dnabert", "run", "run_2w", "train"]
    for name, part in report["parts"].items():
        assert part["status"] == "ok", (name, part["stderr_tail"])
    esm = report["parts"]["esm"]["result"]
    assert set(esm["chunks"]) == {"500", "300"}
    assert all(esm["chunks"][c]["ours"]["tokens_per_s"] > 0 and esm["chunks"][c]["original"]["proteins"] == 32
               for c in ("500", "300"))  # fmt: skip
    assert report["parts"]["run_2w"]["result"]["devices"] == ["cpu", "cpu"]
    assert report["parts"]["run"]["result"]["sequences"] == report["parts"]["run_2w"]["result"]["sequences"]
    assert report["parts"]["train"]["result"]["speedup"] > 0
    table = (out / "gpu_suite.md").read_text()
    for name, *_ in gpu_suite.TARGETS:
        assert f"| {name} | " in table
    assert "MISSED" not in table and "not measured" not in table and "n/a (smoke run)" in table
    for profile in ("profile_esm.txt", "profile_dnabert.txt"):
        text = (out / profile).read_text()
        assert "Self CPU" in text and "aten::" in text


def test_verdicts_compare_each_figure_with_its_target():
    results = {
        "esm": {
            "result": {"chunks": {"500": {"ours": {"tokens_per_s": 120_000}, "speedup": 12.0}}, "model_ready_s": 8}
        },
        "run": {"status": "timed out"},
    }
    header = {"device": "H100", "date": "2026-12-01", "torch": "2.11", "python": "3.12", "command": "x"}
    parts = {"esm": {"status": "ok", "seconds": 100, "box_s": 230}, "run": {"status": "timed out", "seconds": 95,
                                                                           "box_s": 95}}  # fmt: skip
    table = gpu_suite.markdown({**results, **{k: {**results.get(k, {}), **v} for k, v in parts.items()}}, header, False)
    assert "| ESM-2 3B end to end, 500 bp | 120,000 tokens/s | >= 100,000 tokens/s | met |" in table
    assert "| ESM-2 3B vs the original path, 500 bp | 12 × | >= 19 × | MISSED |" in table
    assert "| ESM-2 3B model ready | 8 s | <= 10 s | met |" in table
    assert "| run: non-embedding share (prepare, predict, report) | - | < 5% | not measured |" in table
    assert "| run | timed out | 95 (95) |" in table


def test_missing_packages_are_named(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')  # no site-packages: no torch
    (fake / "python").chmod(0o755)
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_suite.sh"), str(tmp_path / "out")], capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHON": str(fake / "python")})  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("gpu_suite: missing Python packages: torch, numpy, esm, transformers, tokenizers")
    assert "bench/gpu_wheels.sh makes one" in done.stderr
