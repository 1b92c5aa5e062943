"""A disk that fills up (a small tmpfs; mounting needs root, as in CI and on the development machine), and one
that is read-only (issue 13).

A full disk used to end in a SIGBUS in merge (its shared memory map) and in tracebacks elsewhere. Now: exit 1,
one line saying the disk is full, no temporary file left, every file at a final path complete and identical
to a clean run's, and the same command finishes the job once there is room again."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import DEMO, MODELS, RUN_ARGS
from tests.fault_helpers import (
    assert_complete_or_absent,
    assert_same_outputs,
    files,
    one_line_error,
    read_only,
    resize,
    small_filesystem,
)
from virnucpro.features import save_features

FULL = "no space left on device"


@pytest.mark.parametrize("size", ["24k", "64k", "112k", "176k", "204k", "216k", "240k"])
def test_run_on_a_disk_that_fills_up_then_resumes(cli, tmp_path, clean_demo_run, size):
    """Each size runs out at another step: prepare, DNABERT-S, ESM-2, merge, report, report.html, run.json
    (bench/faults.py tries every size from 8 to 264 KiB)."""
    with small_filesystem(tmp_path / "disk", size) as disk:
        out = disk / "out"
        one_line_error(cli("run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS), FULL)
        assert_complete_or_absent(out, clean_demo_run)
        resize(disk, "32m")
        result = cli("run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS)
        assert result.code == 0, result.stderr
        assert_same_outputs(out, clean_demo_run)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, clean_demo_run):
    """Inputs for each step, on a disk with room: one shard of the demo, large features."""
    from virnucpro.cli import main

    work = tmp_path_factory.mktemp("inputs")
    assert main(["prepare", "--input", str(DEMO), "--outdir", str(work), "-q"]) == 0
    ids = [f"s_chunk_{i}F1" for i in range(3000)]
    generator = torch.Generator().manual_seed(0)
    save_features(work / "a.pt", ids, torch.randn(3000, 64, generator=generator), "DNABERT-S")
    save_features(work / "b.pt", ids, torch.randn(3000, 64, generator=generator), "ESM-2")
    save_features(work / "m.pt", ids, torch.randn(3000, 128, generator=generator))
    return work


STEPS = {
    "prepare": ["prepare", "--input", DEMO, "--outdir", "{disk}/out"],
    "embed-dnabert": ["embed-dnabert", "--input", "{inputs}/demo.shard_00001.fna", "--model", MODELS / "dnabert_s",
                      "--output", "{disk}/o.pt"],
    "embed-esm": ["embed-esm", "--input", "{inputs}/demo.shard_00001.faa", "--model", MODELS / "esm2_t2_64_test.pt",
                  "--output", "{disk}/o.pt"],
    "merge": ["merge", "--dnabert", "{inputs}/a.pt", "--esm", "{inputs}/b.pt", "--output", "{disk}/m.pt"],
    "predict": ["predict", "--merged", "{inputs}/m.pt", "--classifier", MODELS / "500_model.pth", "--output",
                "{disk}/p.tsv"],
    "report": ["report", "--predictions", "{clean}/predict/demo/prediction_results.tsv", "--chunks",
               "{clean}/prepare/demo/demo.chunks.tsv", "--outdir", "{disk}"],
    "export-classifier": ["export-classifier", MODELS / "500_model.pth", "{disk}/c.safetensors"],
}  # fmt: skip


@pytest.mark.parametrize("step", sorted(STEPS))
def test_each_step_on_a_full_disk(cli, tmp_path, inputs, clean_demo_run, step):
    with small_filesystem(tmp_path / "disk", "8k") as disk:
        names = {"disk": disk, "inputs": inputs, "clean": clean_demo_run}
        result = cli(*(str(a).format(**names) for a in STEPS[step]), "-q")
        one_line_error(result, FULL)
        written = files(disk)
        assert not [name for name in written if name.rsplit("/", 1)[-1].startswith(".")], written
        if step == "report":  # what was renamed into place before the disk filled is complete
            expected = files(clean_demo_run / "report" / "demo")
            assert all(expected[name] == content for name, content in written.items()), sorted(written)
        else:
            assert not written or (step == "prepare" and not [n for n in written if ".shard_" in n]), sorted(written)


def test_run_into_a_read_only_outdir(cli, tmp_path, clean_demo_run):
    with small_filesystem(tmp_path / "disk", "1m") as disk:
        read_only(disk)
        one_line_error(cli("run", "--input", DEMO, "--outdir", disk / "out", "-q", *RUN_ARGS),
                       f"{disk / 'out'}: cannot be created (read-only file system)")  # fmt: skip
        one_line_error(cli("run", "--input", DEMO, "--outdir", disk, "-q", *RUN_ARGS),
                       f"{disk / 'pipeline_info'}: cannot be created (read-only file system)")  # fmt: skip
