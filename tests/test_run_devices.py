"""virnucpro run on several devices: device lists, the scheduler, identical outputs, worker faults, Ctrl-C."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT, RUN_ARGS
from tests.test_run import same_outputs
from virnucpro.devices import parse_devices, thread_shares
from virnucpro.errors import DeviceError, InputError
from virnucpro.schedule import estimated_tokens, largest_first, make_job, per_token_work, plan


def test_device_lists():
    assert parse_devices("auto", gpus=0) == ["cpu"]
    assert parse_devices("auto", gpus=2) == ["cuda:0", "cuda:1"]
    assert parse_devices("cpu", gpus=4) == ["cpu"]
    assert parse_devices("cpu,cpu", gpus=0) == ["cpu", "cpu"]
    assert parse_devices("3", gpus=0) == ["cpu", "cpu", "cpu"]
    assert parse_devices("2", gpus=4) == ["cuda:0", "cuda:1"]
    assert parse_devices("cuda:0,cuda:3", gpus=4) == ["cuda:0", "cuda:3"]
    assert parse_devices("cuda,cuda:0", gpus=1) == ["cuda:0", "cuda:0"]
    assert parse_devices(" CUDA:1 , cpu", gpus=2) == ["cuda:1", "cpu"]


@pytest.mark.parametrize(
    ("spec", "gpus", "error", "message"),
    [
        ("cuda:0", 0, DeviceError, "--devices cuda:0: CUDA was asked for but no CUDA GPU is available"),
        ("cuda:2", 2, DeviceError, "--devices cuda:2: cuda:2 asked for, but only 2 CUDA GPU(s) are visible"),
        ("3", 2, DeviceError, "--devices 3: only 2 CUDA GPU(s) are visible"),
        ("0", 2, InputError, "--devices 0: the number of workers must be at least 1"),
        ("gpu0", 1, InputError, "--devices 'gpu0': 'gpu0' is not auto, a number, cpu, cuda or cuda:N"),
        ("cpu,,cpu", 1, InputError, "--devices 'cpu,,cpu': '' is not auto, a number, cpu, cuda or cuda:N"),
    ],
)
def test_bad_device_lists(spec, gpus, error, message):
    with pytest.raises(error) as caught:
        parse_devices(spec, gpus=gpus)
    assert str(caught.value) == message


def test_cores_are_shared_between_workers():
    assert thread_shares(["cpu", "cpu"], cores=16) == [8, 8]
    assert thread_shares(["cpu"] * 3, cores=2) == [1, 1, 1]
    assert thread_shares(["cuda:0"], cores=16) == [16]


def test_costs_follow_tokens_and_model_size():
    assert estimated_tokens("esm", 10, 1660) == 1680  # residues + BOS/EOS
    assert estimated_tokens("dnabert", 10, 1660) == round(4990 / 4.6) + 20  # 3 bases per residue, plus one
    esm3b, dnabert = per_token_work(36, 2560), per_token_work(12, 768)
    big = make_job("shard_00001", "esm", Path("a.faa"), Path("a.pt"), 200_000, 33_000_000, esm3b)
    small = make_job("shard_00001", "dnabert", Path("a.fna"), Path("a.pt"), 200_000, 33_000_000, dnabert)
    assert 40 < big.cost / small.cost < 60  # ESM-2 3B weighs about fifty DNABERT-S units of the same shard
    assert big.name == "shard_00001 ESM-2" and small.name == "shard_00001 DNABERT-S"


def skewed_units(seed: int, shards: int) -> list:
    """Both models' units of shards of very different sizes (a long tail of small last shards)."""
    rng = random.Random(seed)
    units = []
    for number in range(1, shards + 1):
        sequences = rng.choice([200_000, 200_000, 150_000, 60_000, 3_000, 40])
        residues = sequences * rng.randint(100, 167)
        shard = f"shard_{number:05d}"
        units.append(make_job(shard, "esm", Path(f"{shard}.faa"), Path("x"), sequences, residues, 36 * 2560**2))
        units.append(make_job(shard, "dnabert", Path(f"{shard}.fna"), Path("y"), sequences, residues, 12 * 768**2))
    return units


@pytest.mark.parametrize(("seed", "shards", "workers"), [(1, 13, 2), (2, 40, 8), (3, 9, 4), (4, 5, 3), (5, 64, 7)])
def test_devices_finish_within_one_unit_of_each_other(seed, shards, workers):
    units = skewed_units(seed, shards)
    assigned = plan(units, workers)
    assert sorted(u.name for part in assigned for u in part) == sorted(u.name for u in units)  # each once
    loads = [sum(u.cost for u in part) for part in assigned]
    largest = max(u.cost for u in units)
    assert max(loads) - min(loads) <= largest
    # each device's last unit is the smallest it ran: the tail is what balances the loads
    for part in assigned:
        assert [u.cost for u in part] == sorted((u.cost for u in part), reverse=True)


def test_order_is_by_cost_not_by_file():
    units = skewed_units(7, 6)
    ordered = largest_first(units)
    assert [u.cost for u in ordered] == sorted((u.cost for u in units), reverse=True)
    assert ordered[0].model == "esm"


# -- whole runs on CPU workers -------------------------------------------------------------------------------


MODEL_ARGS = RUN_ARGS[2:]  # the bundled test models (RUN_ARGS begins with --shard-size 7)


def run_argv(out: Path, *extra: object) -> list[str]:
    return [str(a) for a in (sys.executable, "-m", "virnucpro", "run", "--input", DEMO, "--outdir", out, *MODEL_ARGS,
                             *extra)]  # fmt: skip


MARKER = "VIRNUCPRO_TEST_RUN_MARKER"


def marked_env(tag: str) -> dict[str, str]:
    """The environment of a run whose processes (workers included) can be found afterwards by `marked_pids`."""
    return {**os.environ, "PYTHONPATH": str(ROOT), MARKER: tag}


def marked_pids(tag: str) -> list[int]:
    """Processes that carry the marker: a run's parent and every child it started."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if f"{MARKER}={tag}".encode() in environ.split(b"\0"):
            found.append(int(proc.name))
    return found


def wait_for_line(process: subprocess.Popen, needle: str, timeout: float = 120) -> str:
    """Read the run's stderr until a line containing `needle`; return everything read."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"no line with {needle!r} in:\n{''.join(seen)}")


def gone(tag: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while marked_pids(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not marked_pids(tag)


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    done = subprocess.run(run_argv(out, "--shard-size", "7", "--devices", "cpu,cpu"), env=marked_env("two"),
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out, done.stderr


def test_two_workers_give_the_outputs_of_one(clean_demo_run, two_worker_run):
    out, stderr = two_worker_run
    same_outputs(out, clean_demo_run)  # clean_demo_run: the same input and shard size, one device
    assert "run [2/4] DNABERT-S and ESM-2 embeddings of 5 shard(s) on cpu, cpu" in stderr
    assert "run: 10 embedding job(s) (5 DNABERT-S, 5 ESM-2)" in stderr
    for device_summary in ("run: worker 1 (cpu) 1 thread: ", "run: worker 2 (cpu) 1 thread: ", "run: wall time"):
        assert device_summary in stderr
    assert stderr.count("merge: ") == 5


def test_one_shard_gives_the_same_outputs_on_one_or_two_workers(tmp_path):
    outputs = []
    for devices in ("cpu", "cpu,cpu"):
        out = tmp_path / devices.replace(",", "_")
        done = subprocess.run(run_argv(out, "--devices", devices), env=marked_env("one"), capture_output=True,
                              text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append(out)
    same_outputs(*outputs)


def test_a_killed_worker_ends_the_run_with_one_line_and_the_next_run_resumes(clean_demo_run, tmp_path):
    out = tmp_path / "killed"
    argv = run_argv(out, "--shard-size", "7", "--devices", "cpu,cpu")
    # the worker embedding shard 2 with ESM-2 kills itself (kill -9) with its output written under a temporary
    # name, just before the rename (virnucpro.atomic.failpoint)
    env = {**marked_env("killed"), "VIRNUCPRO_KILL_AT": "rename demo.shard_00002.esm.pt"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower() or "Traceback" in line]
    assert done.returncode == 1, done.stderr
    assert len(errors) == 1, done.stderr
    assert re.fullmatch(r"virnucpro run: error: worker [12] \(cpu\): the worker process was killed by signal 9 while "
                        r"running shard_00002 ESM-2; completed units are kept: run the same command again to resume",
                        errors[0]), errors[0]  # fmt: skip
    assert errors[0] == done.stderr.splitlines()[-1]
    assert gone("killed"), "a worker outlived the run"
    assert not (out / "embed_esm" / "demo" / "demo.shard_00002.esm.pt").exists()
    assert list((out / "embed_esm" / "demo").glob(".demo.shard_00002.esm.pt.tmp-*"))  # killed before the rename
    resumed = subprocess.run(argv, env=marked_env("resumed"), capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "already done" in resumed.stderr
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    same_outputs(out, clean_demo_run)


def test_a_failing_unit_ends_the_run_with_one_line(clean_demo_run, tmp_path):
    out = tmp_path / "failing"
    shutil.copytree(clean_demo_run, out)
    shutil.rmtree(out / "embed_esm")
    (out / "embed_esm").write_text("not a directory\n")  # the worker cannot make its output directory
    done = subprocess.run(run_argv(out, "--shard-size", "7", "--devices", "cpu,cpu"), env=marked_env("failing"),
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0] == done.stderr.splitlines()[-1], done.stderr
    assert re.fullmatch(r"virnucpro run: error: worker [12] \(cpu\): shard_0000[1-5] ESM-2: .*embed_esm.*", errors[0])
    assert gone("failing")
    assert (out / "embed_esm").read_text() == "not a directory\n"


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_run_leaves_no_process_behind(tmp_path, how):
    tag = f"interrupt-{how}"
    out = tmp_path / "interrupted"
    process = subprocess.Popen(run_argv(out, "--shard-size", "7", "--devices", "cpu,cpu", "-v"), env=marked_env(tag),
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for_line(process, "ready in")
    assert len(marked_pids(tag)) >= 3  # the run and its two workers
    process.send_signal(how)
    _, rest = process.communicate(timeout=60)
    assert (process.returncode, rest.splitlines()[-1]) == (
        (130, "virnucpro run: interrupted") if how == signal.SIGINT else (143, "virnucpro run: terminated")
    )
    assert "Traceback" not in rest
    assert gone(tag), f"processes outlived the run: {marked_pids(tag)}"
    assert not (out / "report").exists()


def test_workers_die_with_a_killed_run(tmp_path):
    process = subprocess.Popen(run_argv(tmp_path / "out", "--shard-size", "7", "--devices", "cpu,cpu", "-v"),
                               env=marked_env("orphans"), stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for_line(process, "ready in")
    process.kill()
    process.wait()
    assert gone("orphans"), "workers outlived their killed parent"


def test_bad_devices_are_refused_before_anything_is_written(cli, tmp_path):
    result = cli("run", "--input", DEMO, "--outdir", tmp_path / "out", *MODEL_ARGS, "--devices", "tpu")
    assert (result.code, result.stderr) == (
        1,
        "virnucpro run: error: --devices 'tpu': 'tpu' is not auto, a number, cpu, cuda or cuda:N\n",
    )
    assert not (tmp_path / "out").exists()
