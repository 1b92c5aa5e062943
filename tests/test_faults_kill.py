"""kill -9 at many points, two runs on one outdir, damaged intermediates, models changed in place (issue 13).

Kill points are the failpoints of `virnucpro.atomic` (VIRNUCPRO_KILL_AT=LABEL[#N]: SIGKILL at that point;
VIRNUCPRO_KILL_AT=log:FILE lists them: 76 in a run of the demo, every one tried by bench/faults.py). After every
fault the files at final paths are complete and identical to a clean run's, and the next run (resuming, not
restarting) ends with exactly the clean run's outputs, recomputing only the units the fault reached."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import DEMO, MODELS, ROOT, RUN_ARGS
from tests.fault_helpers import assert_complete_or_absent, assert_same_outputs, files, one_line_error, outputs

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
RUN_KILL_POINTS = [
    "prepare: shard started#3",  # prepare's staging directory half written
    "rename demo.shard_00002.fna",  # prepare publishing
    "rename demo.manifest.tsv",
    "record prepare/demo",  # prepare's outputs in place, its record not written
    "rename demo.shard_00003.dnabert.pt",
    "record embed_dnabert/demo.shard_00005",
    "rename demo.shard_00002.esm.pt",
    "rename embed_esm.demo.shard_00004.json",  # the unit record's own temporary file
    "rename demo.shard_00004.merged.pt",
    "rename prediction_results.tsv",
    "rename summary.json",  # report half published
    "record report/demo",
    "rename digests.json",  # everything done but the digest cache
]
PREPARE_KILL_POINTS = ["prepare: shard started#2", "rename demo.shard_00003.faa", "rename demo.manifest.tsv"]


def command(*args: object) -> list[str]:
    return [sys.executable, "-m", "virnucpro", *map(str, args)]


def killed_at(point: str, *argv: object) -> int:
    """Run `virnucpro ARGV` in a forked copy of this process (torch already imported: a fraction of a second
    instead of seconds per case) that SIGKILLs itself at `point`; return its wait status as an exit code."""
    from virnucpro import atomic
    from virnucpro.cli import main

    pid = os.fork()
    if pid == 0:  # the child: a real process, really killed
        code = 99
        try:
            atomic._seen.clear()  # counts from this process's start, as in a fresh one
            os.environ["VIRNUCPRO_KILL_AT"] = point
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            code = main([str(a) for a in argv])
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("point", RUN_KILL_POINTS)
def test_run_killed_then_resumed(cli, tmp_path, clean_demo_run, point):
    out = tmp_path / "out"
    status = killed_at(point, "run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS)
    assert status == -signal.SIGKILL, f"the run was not killed at {point!r}"
    assert_complete_or_absent(out, clean_demo_run, temporary_allowed=True)
    result = cli("run", "--input", DEMO, "--outdir", out, *RUN_ARGS)
    assert result.code == 0, result.stderr
    assert_same_outputs(out, clean_demo_run)  # staging directories and temporary files are gone too


@pytest.fixture(scope="module")
def clean_prepare(tmp_path_factory):
    from virnucpro.cli import main

    out = tmp_path_factory.mktemp("clean-prepare")
    assert main(["prepare", "--input", str(DEMO), "--outdir", str(out), "--shard-size", "7", "-q"]) == 0
    return out


@pytest.mark.parametrize("point", PREPARE_KILL_POINTS)
def test_prepare_killed_then_run_again(cli, tmp_path, clean_prepare, point):
    """A killed prepare leaves its hidden staging directory; the next prepare of that name removes it."""
    out = tmp_path / "out"
    status = killed_at(point, "prepare", "--input", DEMO, "--outdir", out, "--shard-size", "7", "-q")
    assert status == -signal.SIGKILL
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".demo.prepare-")]
    assert len(leftovers) == 1
    assert cli("prepare", "--input", DEMO, "--outdir", out, "--shard-size", "7", "-q").code == 0
    assert files(out) == files(clean_prepare)


def test_a_staging_directory_in_use_is_not_removed(tmp_path):
    """Another prepare of the same name, still running (its lock held), keeps its staging directory."""
    from virnucpro.prepare import STAGING_LOCK, PrepareOutputs, remove_abandoned_staging

    busy, dead = tmp_path / ".demo.prepare-busy1234", tmp_path / ".demo.prepare-dead1234"
    other = tmp_path / ".demo2.prepare-dead1234"
    for directory in (busy, dead, other):
        directory.mkdir()
        (directory / STAGING_LOCK).write_text("")
    handle = os.open(busy / STAGING_LOCK, os.O_RDWR)
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        remove_abandoned_staging(PrepareOutputs(tmp_path, "demo"))
    finally:
        os.close(handle)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other.name, busy.name])


def test_a_second_run_on_the_same_outdir_is_refused(cli, tmp_path, clean_demo_run):
    """The second run used to delete the first's temporary file, and the first died with a traceback."""
    out = tmp_path / "out"
    first = subprocess.Popen(command("run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS), env=ENV,
                             stderr=subprocess.PIPE)  # fmt: skip
    lock = out / "pipeline_info" / "virnucpro.lock"
    deadline = time.monotonic() + 120
    while not (lock.is_file() and lock.read_text().startswith(f"pid {first.pid} ")) and time.monotonic() < deadline:
        assert first.poll() is None, first.stderr.read()
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # holds the lock, somewhere in the middle of its work
    try:
        before = files(out)
        result = cli("run", "--input", DEMO, "--outdir", out, "-q", *RUN_ARGS)
        one_line_error(result, f"{out}: another virnucpro run (pid {first.pid} on ", "is using this output directory")
        assert files(out) == before  # nothing of the first run's was touched, its temporary files included
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait() == 0, first.stderr.read()
    assert_same_outputs(out, clean_demo_run)


def test_lock_held_by_this_process_is_refused_too(cli, tmp_path):
    (tmp_path / "out" / "pipeline_info").mkdir(parents=True)
    handle = os.open(tmp_path / "out" / "pipeline_info" / "virnucpro.lock", os.O_RDWR | os.O_CREAT)
    os.write(handle, b"pid 1 on elsewhere\n")
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        one_line_error(cli("run", "--input", DEMO, "--outdir", tmp_path / "out", "-q", *RUN_ARGS),
                       "another virnucpro run (pid 1 on elsewhere)")  # fmt: skip
    finally:
        os.close(handle)


def flip_byte(path, offset=-100):
    """Change one byte inside a file, keeping its size and restoring its modification time."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    with open(path, "r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def units(out):
    return out / "pipeline_info" / "units" / "demo"


DAMAGE = {
    "truncated ESM-2 output": (lambda out: truncate(out / "embed_esm/demo/demo.shard_00002.esm.pt"), 17),
    "merged byte flipped, mtime kept": (lambda out: flip_byte(out / "merge/demo/demo.shard_00004.merged.pt"), 17),
    "unit record deleted": (lambda out: (units(out) / "embed_dnabert.demo.shard_00001.json").unlink(), 17),
    "unit record garbage": (lambda out: (units(out) / "merge.demo.shard_00003.json").write_text("{nope"), 17),
    "manifest edited": (lambda out: (out / "prepare/demo/demo.manifest.tsv").write_text(
        "shard_id\tn_sequences\tn_residues\tfna\tfaa\nshard_00001\t1\t1\t../../../x.fna\t../../../x.faa\n"), 17),
    "protein shard replaced": (lambda out: flip_byte(out / "prepare/demo/demo.shard_00003.faa", 5), 17),
    "predictions deleted": (lambda out: (out / "predict/demo/prediction_results.tsv").unlink(), 17),
    "report page emptied": (lambda out: (out / "report/demo/report.html").write_text(""), 17),
    "digest cache garbage": (lambda out: (out / "pipeline_info/digests.json").write_text("[[["), 18),
    "leftovers of a kill": (lambda out: [(out / "merge/demo/.demo.shard_00001.merged.pt.tmp-1-deadbeef").write_text("x"),
                                         (out / "prepare/demo/.demo.prepare-abcd1234").mkdir()], 18),
}  # fmt: skip


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_intermediates_are_recomputed(cli, tmp_path, clean_demo_run, damage):
    """The damaged unit (and whatever depends on what changed) is computed again; the rest is reused."""
    out = tmp_path / "out"
    shutil.copytree(clean_demo_run, out, symlinks=True)
    change, reused = DAMAGE[damage]
    change(out)
    result = cli("run", "--input", DEMO, "--outdir", out, *RUN_ARGS)
    assert result.code == 0, result.stderr
    assert result.stderr.count("already done") == reused, result.stderr
    assert_same_outputs(out, clean_demo_run)


@pytest.fixture(scope="module")
def other_esm(tmp_path_factory):
    """The bundled ESM-2 checkpoint with one weight changed in its bytes (same size, a valid file with a right
    CRC, other embeddings), and a clean run with it."""
    import struct
    import zipfile
    import zlib

    from virnucpro.cli import main
    from virnucpro.merge import _set_record_crc

    work = tmp_path_factory.mktemp("other-esm")
    path = work / "esm.pt"
    shutil.copy(MODELS / "esm2_t2_64_test.pt", path)
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
        data = bytearray(archive.read(info))
    with open(path, "rb") as handle:
        handle.seek(info.header_offset + 26)
        offset = info.header_offset + 30 + sum(struct.unpack("<HH", handle.read(4)))
    (value,) = struct.unpack_from("<f", data, 0)
    struct.pack_into("<f", data, 0, value + 0.5)
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    _set_record_crc(path, info.filename, zlib.crc32(data))
    clean = work / "clean"
    args = [*RUN_ARGS[:4], "--esm", path, *RUN_ARGS[6:]]
    assert main([str(a) for a in ("run", "--input", DEMO, "--outdir", clean, "-q", *args)]) == 0
    return path, clean


def test_model_changed_in_place_with_the_same_size_and_mtime(cli, tmp_path, other_esm, clean_demo_run):
    """Only the ESM-2 units and what follows them run again; a touched but unchanged model reuses everything."""
    changed, clean_other = other_esm
    assert (
        outputs(clean_other)["embed_esm/demo/demo.shard_00001.esm.pt"]
        != outputs(clean_demo_run)["embed_esm/demo/demo.shard_00001.esm.pt"]
    )
    esm = tmp_path / "esm.pt"
    shutil.copy2(MODELS / "esm2_t2_64_test.pt", esm)
    args = [*RUN_ARGS[:4], "--esm", esm, *RUN_ARGS[6:]]
    out = tmp_path / "out"
    assert cli("run", "--input", DEMO, "--outdir", out, *args).code == 0
    os.utime(esm)  # touched: a new mtime, the same content
    result = cli("run", "--input", DEMO, "--outdir", out, *args)
    assert result.stderr.count("already done") == 18, result.stderr
    st = esm.stat()
    assert changed.stat().st_size == st.st_size
    with open(esm, "r+b") as handle:  # rewritten in place: same size, and the old mtime put back
        handle.write(changed.read_bytes())
    os.utime(esm, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert esm.stat().st_size == st.st_size and esm.stat().st_mtime_ns == st.st_mtime_ns
    result = cli("run", "--input", DEMO, "--outdir", out, *args)
    assert result.code == 0, result.stderr
    assert result.stderr.count("already done") == 6, result.stderr  # prepare and the 5 DNABERT-S shards
    assert "embed-dnabert: shard 5/5 already done" in result.stderr
    assert_same_outputs(out, clean_other)


def test_another_classifier_recomputes_predict_and_report_only(cli, tmp_path, clean_demo_run):
    from virnucpro.testmodels.classifier import build_classifier, save_published_style

    out = tmp_path / "out"
    shutil.copytree(clean_demo_run, out)
    other = save_published_style(build_classifier(128, 16, seed=9), tmp_path / "500_model.pth")
    result = cli("run", "--input", DEMO, "--outdir", out, *RUN_ARGS[:6], "--classifier", other)
    assert result.code == 0, result.stderr
    assert result.stderr.count("already done") == 16, result.stderr
    assert (out / "predict/demo/prediction_results.tsv").read_bytes() != (
        clean_demo_run / "predict/demo/prediction_results.tsv"
    ).read_bytes()
