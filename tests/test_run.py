"""virnucpro run: the chain on one machine with the bundled test models; resume, kill and restart."""

from __future__ import annotations

import filecmp
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import DATA, ROOT
from virnucpro.testmodels import make_test_models

MODELS = DATA / "models"
DEMO = DATA / "demo" / "demo.fa"
MODEL_ARGS = ["--dnabert", MODELS / "dnabert_s", "--esm", MODELS / "esm2_t2_64_test.pt",
              "--classifier", MODELS / "500_model.pth"]  # fmt: skip
REPORT_FILES = ["prediction_results_highestscore.tsv", "contig_summary.tsv", "summary.json", "report.html"]


def test_regenerated_test_models_are_identical(tmp_path):
    make_test_models(tmp_path)
    committed = sorted(p.relative_to(MODELS) for p in MODELS.rglob("*") if p.is_file())
    assert committed == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for relative in committed:
        assert (tmp_path / relative).read_bytes() == (MODELS / relative).read_bytes(), relative


def all_outputs(outdir):
    return sorted(p.relative_to(outdir) for p in outdir.rglob("*") if p.is_file() and "pipeline_info" not in p.parts)


def same_outputs(a, b) -> None:
    assert all_outputs(a) == all_outputs(b)
    for relative in all_outputs(a):
        assert filecmp.cmp(a / relative, b / relative, shallow=False), relative


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One complete run with several shards, and the same steps called one by one through the CLI."""
    from virnucpro.cli import main

    out = tmp_path_factory.mktemp("run")
    assert (
        main([str(a) for a in ("run", "--input", DEMO, "--outdir", out, "--shard-size", "7", "-q", *MODEL_ARGS)]) == 0
    )
    return out


def test_layout_and_results(demo_run):
    prepared = demo_run / "prepare" / "demo"
    shards = [line.split("\t")[0] for line in (prepared / "demo.manifest.tsv").read_text().splitlines()[1:]]
    assert shards == ["shard_00001", "shard_00002", "shard_00003", "shard_00004", "shard_00005"]
    for shard in shards:
        for step, suffix in (("embed_dnabert", "dnabert"), ("embed_esm", "esm"), ("merge", "merged")):
            assert (demo_run / step / "demo" / f"demo.{shard}.{suffix}.pt").is_file()
    for name in REPORT_FILES:
        assert (demo_run / "report" / "demo" / name).is_file()
    summary = (demo_run / "report" / "demo" / "contig_summary.tsv").read_text().splitlines()
    assert len(summary) == 18  # header + every input sequence
    assert (demo_run / "pipeline_info" / "demo.run.json").is_file()


def test_run_equals_the_steps_called_one_by_one(cli, demo_run, tmp_path):
    prepared = tmp_path / "prepare"
    assert cli("prepare", "--input", DEMO, "--outdir", prepared, "--shard-size", "7").code == 0
    merged = []
    for number in range(1, 6):
        stem = f"demo.shard_{number:05d}"
        steps = [
            ("embed-dnabert", "--input", prepared / f"{stem}.fna", "--model", MODELS / "dnabert_s",
             "--output", tmp_path / f"{stem}.dnabert.pt"),
            ("embed-esm", "--input", prepared / f"{stem}.faa", "--model", MODELS / "esm2_t2_64_test.pt",
             "--output", tmp_path / f"{stem}.esm.pt"),
            ("merge", "--dnabert", tmp_path / f"{stem}.dnabert.pt", "--esm", tmp_path / f"{stem}.esm.pt",
             "--output", tmp_path / f"{stem}.merged.pt"),
        ]  # fmt: skip
        for argv in steps:
            result = cli(*argv)
            assert result.code == 0, result.stderr
        merged.append(tmp_path / f"{stem}.merged.pt")
    assert cli("predict", "--merged", *merged, "--classifier", MODELS / "500_model.pth",
               "--output", tmp_path / "prediction_results.tsv").code == 0  # fmt: skip
    assert cli("report", "--predictions", tmp_path / "prediction_results.tsv", "--chunks",
               prepared / "demo.chunks.tsv", "--outdir", tmp_path / "report").code == 0  # fmt: skip
    assert filecmp.cmp(tmp_path / "prediction_results.tsv", demo_run / "predict/demo/prediction_results.tsv", False)
    for name in REPORT_FILES:
        assert filecmp.cmp(tmp_path / "report" / name, demo_run / "report" / "demo" / name, shallow=False), name


def test_second_run_skips_finished_units(cli, demo_run):
    before = {p: p.stat().st_mtime_ns for p in demo_run.rglob("*") if "pipeline_info" not in p.parts}
    result = cli("run", "--input", DEMO, "--outdir", demo_run, "--shard-size", "7", *MODEL_ARGS)
    assert result.code == 0, result.stderr
    assert result.stderr.count("already done") == 18  # prepare, 5 shards x (2 models + merge), predict, report
    assert {p: p.stat().st_mtime_ns for p in demo_run.rglob("*") if "pipeline_info" not in p.parts} == before


def test_killed_run_resumes_to_identical_outputs(demo_run, tmp_path):
    out = tmp_path / "killed"
    argv = [sys.executable, "-m", "virnucpro", "run", "--input", DEMO, "--outdir", out, "--shard-size", "7",
            *MODEL_ARGS]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([str(a) for a in argv], env=env, stderr=subprocess.DEVNULL)
    target = out / "embed_esm" / "demo" / "demo.shard_00002.esm.pt"
    deadline = time.monotonic() + 120
    while not target.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "report").exists(), "the run finished before it could be killed"
    done = subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert re.search(r"embed-esm: shard \d/5 already done", done.stderr)  # ESM-2 jobs go first: some are reused
    same_outputs(out, demo_run)


def test_another_input_recomputes_what_it_reaches_and_restart_recomputes_all(cli, tmp_path):
    """The same sample name with an edited input: only units whose inputs changed run again, and the outputs
    equal a clean run of the edited input; --restart recomputes every unit."""
    out, clean = tmp_path / "out", tmp_path / "clean"
    source = tmp_path / "demo.fa"
    source.write_text(DEMO.read_text())
    assert cli("run", "--input", source, "--outdir", out, "--shard-size", "7", *MODEL_ARGS).code == 0
    source.write_text(DEMO.read_text().replace("ACGT", "ACGA", 5))
    result = cli("run", "--input", source, "--outdir", out, "--shard-size", "7", *MODEL_ARGS)
    assert result.code == 0, result.stderr
    assert "prepare: already done" not in result.stderr
    assert 0 < result.stderr.count("already done") < 15  # shards the edit did not reach are reused
    assert cli("run", "--input", source, "--outdir", clean, "--shard-size", "7", *MODEL_ARGS).code == 0
    same_outputs(out, clean)
    result = cli("run", "--input", source, "--outdir", out, "--shard-size", "7", "--restart", *MODEL_ARGS)
    assert result.code == 0 and "already done" not in result.stderr
    same_outputs(out, clean)


def test_input_without_kept_frames(cli, tmp_path):
    source = tmp_path / "stops.fa"
    source.write_text(">a\n" + "TTAG" * 200 + "\n")
    result = cli("run", "--input", source, "--outdir", tmp_path / "out", *MODEL_ARGS)
    assert result.code == 0, result.stderr
    report = tmp_path / "out" / "report" / "stops"
    assert (report / "prediction_results_highestscore.tsv").read_text() == "Modified_ID\tIs_Virus\n"
    assert (report / "contig_summary.tsv").read_text().splitlines()[1].endswith("\tno_prediction")


def test_classifier_and_chunk_size_mismatch_is_warned(cli, tmp_path):
    result = cli("run", "--input", DEMO, "--outdir", tmp_path / "out", "--chunk-size", "300", *MODEL_ARGS)
    assert result.code == 0
    assert "500_model.pth was trained on 500 bp chunks but the input was cut into 300 bp chunks" in result.stderr
