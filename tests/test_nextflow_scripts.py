"""Each process's `script:` and `stub:` blocks, rendered with Groovy as Nextflow renders them (tools/nfrender.groovy,
one JVM for all of them) with realistic meta and task bindings, then run with bash in a work directory staged the
way Nextflow stages it, on the bundled demo data and test models: every declared output must appear. The chain
ends with MULTIQC (the real multiqc) over the two samples' REPORT outputs and the run's versions, parameter
summary and methods description. Every stub also runs with no Python, virnucpro or multiqc on PATH.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import nf_snapshots
from tests.conftest import DATA, ROOT
from tests.nextflow_tools import PROCESS_SHELL, call_functions, extract, groovy_value, render

MODELS = DATA / "models"
SHARDS = ["shard_00001", "shard_00002"]  # demo.fa has 30 kept frames at 500 bp: two shards of up to 16
CHAIN = [
    "prepare",
    *(f"{step}.{shard}" for shard in SHARDS for step in ("dnabert", "esm", "merge")),
    "predict",
    "report",
]
GPU = {"request": 1, "limit": 1}  # task.accelerator where the process_gpu label asks for a GPU


@dataclass
class Task:
    """One rendered block and the work directory it runs in."""

    name: str
    workdir: Path
    spec: dict
    rendered: dict | None = None
    done: bool = False


def task_binding(process: str, accelerator: dict | None = None, args: str | None = None) -> dict:
    return {"process": f"VIRNUCPRO:{process}", "index": 1, "attempt": 1, "cpus": 2, "memory": "12 GB",
            "accelerator": accelerator, "ext": {"args": args} if args else {}}  # fmt: skip


def stage(workdir: Path, files: dict[str, Path]) -> None:
    """Nextflow's staging: a symbolic link per input, under the name the process gives it."""
    for name, source in files.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).symlink_to(source)


class Plan:
    """Every task of one sample's run through the pipeline, plus stubs and render-only variants."""

    def __init__(self, processes: dict[str, dict], root: Path) -> None:
        self.processes, self.root, self.tasks = processes, root, {}

    def add(self, key: str, name: str, bindings: dict, files: dict[str, Path] | None = None, block: str = "script",
            accelerator: dict | None = None, args: str | None = None, values: dict | None = None) -> Path:  # fmt: skip
        workdir = self.root / key
        workdir.mkdir(parents=True)
        stage(workdir, files or {})
        process = self.processes[name]
        spec = {"name": key, "script": process[block], "outputs": process["outputs"],
                "bindings": {"task": task_binding(name, accelerator, args), **bindings}, "values": values or {}}  # fmt: skip
        self.tasks[key] = Task(key, workdir, spec)
        return workdir


def build_plan(processes: dict[str, dict], root: Path) -> Plan:
    plan = Plan(processes, root)
    demo_fa, no_frames_fa = DATA / "demo" / "demo.fa", DATA / "nextflow" / "no_frames.fa"
    prepare = plan.add("prepare", "PREPARE", {"meta": {"id": "demo"}, "fasta": "demo.fa", "annotations": [],
                                              "chunk_size": 500, "shard_size": 16}, {"demo.fa": demo_fa})  # fmt: skip
    plan.add("prepare_no_frames", "PREPARE", {"meta": {"id": "no_frames"}, "fasta": "no_frames.fa", "annotations": [],
                                              "chunk_size": 500, "shard_size": 16}, {"no_frames.fa": no_frames_fa})  # fmt: skip
    merged = {}
    for shard in SHARDS:
        key = f"demo.{shard}"
        meta = {"id": key, "sample": "demo", "shard_id": shard, "n_shards": len(SHARDS)}
        dna = plan.add(f"dnabert.{shard}", "EMBED_DNABERT", {"meta": meta, "fna": f"{key}.fna", "model": "dnabert_s"},
                       {f"{key}.fna": prepare / f"{key}.fna", "dnabert_s": MODELS / "dnabert_s"})  # fmt: skip
        esm = plan.add(f"esm.{shard}", "EMBED_ESM", {"meta": meta, "faa": f"{key}.faa", "weights": "esm.pt"},
                       {f"{key}.faa": prepare / f"{key}.faa", "esm.pt": MODELS / "esm2_t2_64_test.pt"})  # fmt: skip
        merge = plan.add(f"merge.{shard}", "MERGE", {"meta": meta, "dnabert": "a.pt", "esm": "b.pt"},
                         {"a.pt": dna / f"{key}.dnabert.pt", "b.pt": esm / f"{key}.esm.pt"})  # fmt: skip
        merged[f"merged/{key}.merged.pt"] = merge / f"{key}.merged.pt"
    predict = plan.add("predict", "PREDICT", {"meta": {"id": "demo"}, "merged": list(merged),
                                              "classifier": "500_model.pth", "chunk_size": 500},
                       {**merged, "500_model.pth": MODELS / "500_model.pth"})  # fmt: skip
    plan.add("report", "REPORT", {"meta": {"id": "demo"}, "chunk_size": 500, "predictions": "prediction_results.tsv",
                                  "chunks": "demo.chunks.tsv"},
             {"prediction_results.tsv": predict / "prediction_results.tsv",
              "demo.chunks.tsv": prepare / "demo.chunks.tsv"})  # fmt: skip
    plan.add("report_no_frames", "REPORT", {"meta": {"id": "no_frames"}, "chunk_size": 500, "predictions": "NO_PREDICTIONS.tsv",
                                            "chunks": "no_frames.chunks.tsv"},
             {"NO_PREDICTIONS.tsv": ROOT / "assets" / "NO_PREDICTIONS.tsv",
              "no_frames.chunks.tsv": root / "prepare_no_frames" / "no_frames.chunks.tsv"})  # fmt: skip
    # MULTIQC as MULTIQC_REPORT feeds it: the samples' custom content, then the run's versions, summary and methods
    # (written by test_multiqc_reports_both_samples before it runs), each staged as "?/*"
    generated = root / "multiqc_inputs"
    files = {"1/demo_virnucpro_mqc.json": root / "report" / "demo_virnucpro_mqc.json",
             "2/no_frames_virnucpro_mqc.json": root / "report_no_frames" / "no_frames_virnucpro_mqc.json",
             **{f"{i}/{name}": generated / name for i, name in enumerate(MULTIQC_GENERATED, start=3)},
             "config/multiqc_config.yml": ROOT / "assets" / "multiqc_config.yml"}  # fmt: skip
    # (static plot export needs a headless browser, which MultiQC's container has and this machine lacks)
    plan.add("multiqc", "MULTIQC", {"meta": {"id": "virnucpro"}, "multiqc_files": [f for f in files if f[0].isdigit()],
                                    "multiqc_config": "config/multiqc_config.yml", "multiqc_logo": [],
                                    "replace_names": [], "sample_names": []}, files,
             args="--cl-config 'export_plots: false'")  # fmt: skip
    add_training(plan)
    for name, bindings in STUB_BINDINGS.items():
        plan.add(f"stub.{name}", name, bindings, block="stub")
    for name in ("EMBED_DNABERT", "EMBED_ESM"):  # rendered only: there is no GPU here
        plan.add(f"gpu.{name}", name, STUB_BINDINGS[name], accelerator=GPU, args="--batch-tokens 4096")
    plan.add("gpu.TRAIN", "TRAIN", STUB_BINDINGS["TRAIN"], accelerator=GPU, args="--max-epochs 50",
             values={"labels": [["a.pt", "viral", "viral"]]})  # fmt: skip
    plan.add("fetch_models", "FETCH_MODELS", {"chunk_size": 300})
    for index, case in enumerate(nf_snapshots.CASES):  # the inputs of the nf-test cases that take a snapshot
        plan.add(f"snap.{index}", case.process, case.bindings, case.staged, block=case.block)
    return plan


MULTIQC_GENERATED = ["virnucpro_software_mqc_versions.yml", "workflow_summary_mqc.yaml", "methods_description_mqc.yaml"]

TRAIN_DATA = DATA / "train"
# --mode train on two bundled genomes (one gzip-compressed): one shard each at 64 frames per shard
TRAIN_SAMPLES = [("virus_a", "viral", "viral", ""), ("bacterium_a", "host", "bacteria", ".gz")]
TRAIN_CHAIN = [f"{step}.{sample}" for sample, *_ in TRAIN_SAMPLES for step in ("prepare", "dnabert", "esm", "merge")]


def add_training(plan: Plan) -> None:
    """PREPARE with annotations, both embeddings and MERGE per sample, then TRAIN on both and EVALUATE."""
    merged, rows = {}, []
    for sample, label, group, gz in TRAIN_SAMPLES:
        fna, gbff = f"{sample}.genomic.fna{gz}", f"{sample}.genomic.gbff{gz}"
        meta = {"id": sample, "label": label, "group": group}
        prepare = plan.add(f"prepare.{sample}", "PREPARE", {"meta": meta, "fasta": fna, "annotations": gbff,
                                                            "chunk_size": 300, "shard_size": 64},
                           {fna: TRAIN_DATA / fna, gbff: TRAIN_DATA / gbff})  # fmt: skip
        key = f"{sample}.shard_00001"
        shard = {**meta, "id": key, "sample": sample, "shard_id": "shard_00001", "n_shards": 1}
        dna = plan.add(f"dnabert.{sample}", "EMBED_DNABERT", {"meta": shard, "fna": f"{key}.fna", "model": "dnabert_s"},
                       {f"{key}.fna": prepare / f"{key}.fna", "dnabert_s": MODELS / "dnabert_s"})  # fmt: skip
        esm = plan.add(f"esm.{sample}", "EMBED_ESM", {"meta": shard, "faa": f"{key}.faa", "weights": "esm.pt"},
                       {f"{key}.faa": prepare / f"{key}.faa", "esm.pt": MODELS / "esm2_t2_64_test.pt"})  # fmt: skip
        merge = plan.add(f"merge.{sample}", "MERGE", {"meta": shard, "dnabert": "a.pt", "esm": "b.pt"},
                         {"a.pt": dna / f"{key}.dnabert.pt", "b.pt": esm / f"{key}.esm.pt"})  # fmt: skip
        merged[f"merged/{key}.merged.pt"] = merge / f"{key}.merged.pt"
        rows.append([f"{key}.merged.pt", label, group])
    train = plan.add("train", "TRAIN", {"meta": {"id": "classifier"}, "merged": list(merged), "chunk_size": 300},
                     merged, args="--max-epochs 3 --pth", values={"labels": rows})  # fmt: skip
    plan.add("evaluate", "EVALUATE", {"meta": {"id": "holdout"}, "merged": list(merged),
                                      "classifier": "classifier.safetensors", "chunk_size": 300},
             {**merged, "classifier.safetensors": train / "classifier.safetensors"}, values={"labels": rows})  # fmt: skip


STUB_BINDINGS = {
    "PREPARE": {"meta": {"id": "s"}, "fasta": "s.fa", "annotations": [], "chunk_size": 500, "shard_size": 7},
    "EMBED_DNABERT": {"meta": {"id": "s.shard_00001"}, "fna": "x.fna", "model": "m"},
    "EMBED_ESM": {"meta": {"id": "s.shard_00001"}, "faa": "x.faa", "weights": "m.pt"},
    "MERGE": {"meta": {"id": "s.shard_00001"}, "dnabert": "a.pt", "esm": "b.pt"},
    "PREDICT": {"meta": {"id": "s"}, "merged": ["merged/a.pt"], "classifier": "c.pth", "chunk_size": 500},
    "REPORT": {"meta": {"id": "s"}, "predictions": "p.tsv", "chunks": "s.chunks.tsv", "chunk_size": 500},
    "FETCH_MODELS": {"chunk_size": 500},
    "MULTIQC": {
        "meta": {"id": "virnucpro"},
        "multiqc_files": ["1/s_virnucpro_mqc.json"],
        "multiqc_config": [],
        "multiqc_logo": [],
        "replace_names": [],
        "sample_names": [],
    },
    "TRAIN": {"meta": {"id": "classifier"}, "merged": ["merged/a.pt"], "chunk_size": 300},
    "EVALUATE": {
        "meta": {"id": "holdout"},
        "merged": ["merged/a.pt"],
        "classifier": "c.safetensors",
        "chunk_size": 300,
    },
}


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Plan:
    processes = {}
    for content in extract(sorted((ROOT / "modules" / "local").glob("*/main.nf"))).values():
        processes |= {process["name"]: process for process in content["processes"]}
    root = tmp_path_factory.mktemp("tasks")
    built = build_plan(processes, root)
    for task, rendered in zip(built.tasks.values(), render([t.spec for t in built.tasks.values()], root), strict=True):
        assert rendered["name"] == task.name
        task.rendered = rendered
    return built


def run_block(command: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """bash as Nextflow runs a task (process.shell), with bin/ and the test environment's python on PATH."""
    path = f"{ROOT / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    return subprocess.run(["bash", *PROCESS_SHELL[1:], "-c", command], cwd=workdir, capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT), "PATH": path})  # fmt: skip


def run_eval(command: str, workdir: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """An `eval` output as Nextflow runs it: `bash -c "CMD"` in the task directory, without the task shell's
    options (BashWrapperBuilder.groovy:259, nxf_eval_cmd), so a pipeline's status is its last command's."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": path or f"{ROOT / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(
        ["/bin/bash", "-c", command], cwd=workdir, capture_output=True, text=True, check=False, env=env
    )


VERSIONS: dict[str, str] = {}  # the same few version commands everywhere: each runs once


def execute(task: Task) -> None:
    if task.done:
        return
    done = run_block(task.rendered["command"], task.workdir)
    assert done.returncode == 0, (task.name, task.rendered["command"], done.stderr)
    for output in task.rendered["outputs"]:
        for pattern in output["paths"]:
            assert output["optional"] or list(task.workdir.glob(pattern)), (task.name, pattern)
        for command in output["evals"]:
            if command not in VERSIONS:
                found = run_eval(command, task.workdir)
                assert found.returncode == 0, (task.name, command, found.stderr)
                VERSIONS[command] = found.stdout.strip()
            assert VERSIONS[command] and "\n" not in VERSIONS[command], (task.name, command, VERSIONS[command])
    task.done = True


def execute_all(plan: Plan, keys: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:  # independent tasks, as Nextflow would run them
        list(pool.map(execute, [plan.tasks[key] for key in keys]))


def run_chain(plan: Plan) -> None:
    """The demo sample through every step, and the sample without kept frames through PREPARE and REPORT (once)."""
    execute_all(plan, ["prepare", "prepare_no_frames"])
    manifest = (plan.root / "prepare" / "demo.manifest.tsv").read_text().splitlines()
    assert [row.split("\t")[0] for row in manifest[1:]] == SHARDS
    execute_all(plan, [f"{step}.{shard}" for shard in SHARDS for step in ("dnabert", "esm")])
    execute_all(plan, [f"merge.{shard}" for shard in SHARDS])
    execute_all(plan, ["predict"])
    execute_all(plan, ["report", "report_no_frames"])


def test_one_sample_runs_through_every_script_block(plan):
    run_chain(plan)
    # PREDICT got the shards in order: its rows are the kept frames in manifest order
    frames = [
        line[1:]
        for shard in SHARDS
        for line in (plan.root / "prepare" / f"demo.{shard}.fna").read_text().splitlines()
        if line.startswith(">")
    ]
    rows = (plan.root / "predict" / "prediction_results.tsv").read_text().splitlines()
    assert rows[0] == "Sequence_ID\tPrediction\tscore1\tscore2"
    assert [row.split("\t")[0] for row in rows[1:]] == frames and len(frames) == 30
    assert len((plan.root / "report" / "contig_summary.tsv").read_text().splitlines()) == 18  # 17 sequences
    # -resume and `cache 'deep'` need outputs that depend only on the inputs: no work directory, no time stamp
    stamp = re.compile(rb"20\d\d-\d\d-\d\d[T ]\d\d:\d\d")
    for key in CHAIN:
        for path in (plan.root / key).iterdir():
            if path.is_file() and not path.is_symlink():
                content = path.read_bytes()
                assert str(plan.root).encode() not in content and not stamp.search(content), path


def test_a_sample_without_kept_frames_is_reported_from_the_empty_table(plan):
    if not (plan.root / "report_no_frames" / "contig_summary.tsv").exists():
        execute_all(plan, ["prepare_no_frames"])
        execute_all(plan, ["report_no_frames"])
    prepare = plan.root / "prepare_no_frames"
    assert (prepare / "no_frames.manifest.tsv").read_text() == "shard_id\tn_sequences\tn_residues\tfna\tfaa\n"
    assert not list(prepare.glob("*.shard_*"))  # PREPARE's optional `shards` output is absent: no GPU task
    summary = (plan.root / "report_no_frames" / "contig_summary.tsv").read_text().splitlines()
    assert len(summary) == 2 and summary[1].startswith("stops_only\t") and summary[1].endswith("\tno_prediction")
    consensus = plan.root / "report_no_frames" / "prediction_results_highestscore.tsv"
    assert consensus.read_text() == "Modified_ID\tIs_Virus\n"


def test_stubs_make_every_declared_output(plan):
    execute_all(plan, [f"stub.{name}" for name in STUB_BINDINGS])


def test_gpu_tasks_insist_on_cuda_and_pass_ext_args(plan):
    for name, shard in (("EMBED_DNABERT", "dnabert"), ("EMBED_ESM", "esm")):
        gpu = plan.tasks[f"gpu.{name}"].rendered["command"].split()
        assert gpu[gpu.index("--device") + 1] == "cuda" and gpu[-2:] == ["--batch-tokens", "4096"], gpu
        cpu = plan.tasks[f"{shard}.{SHARDS[0]}"].rendered["command"].split()
        assert cpu[cpu.index("--device") + 1] == "auto", cpu
    gpu = plan.tasks["gpu.TRAIN"].rendered["command"].split()
    assert gpu[gpu.index("--device") + 1] == "cuda" and gpu[-2:] == ["--max-epochs", "50"], gpu
    cpu = plan.tasks["train"].rendered["command"].split()
    assert cpu[cpu.index("--device") + 1] == "auto", cpu


def test_training_runs_through_every_script_block(plan):
    """--mode train's tasks on two bundled genomes: training-mode PREPARE, embeddings, MERGE, TRAIN, EVALUATE."""
    import json

    from virnucpro.models.classifier import load_classifier

    for step in ("prepare", "dnabert", "esm", "merge"):
        execute_all(plan, [f"{step}.{sample}" for sample, *_ in TRAIN_SAMPLES])
    for sample, *_ in TRAIN_SAMPLES:
        prepared = plan.root / f"prepare.{sample}"
        assert json.loads((prepared / f"{sample}.prepare.json").read_text())["annotations"]["cds"] > 5
        assert len((prepared / f"{sample}.manifest.tsv").read_text().splitlines()) == 2  # one shard
    execute_all(plan, ["train"])
    execute_all(plan, ["evaluate"])
    train = plan.root / "train"
    assert (train / "labels.tsv").read_text() == (
        "file\tlabel\tgroup\nvirus_a.shard_00001.merged.pt\tviral\tviral\n"
        "bacterium_a.shard_00001.merged.pt\thost\tbacteria\n"
    )
    assert load_classifier(train / "classifier.safetensors").input_dim == 128
    assert load_classifier(train / "300_model.pth").input_dim == 128  # --pth from ext.args
    assert len((train / "metrics.tsv").read_text().splitlines()) == 4  # --max-epochs 3 from ext.args
    frames = sum(int(line.split("\t")[1]) for sample, *_ in TRAIN_SAMPLES
                 for line in (plan.root / f"prepare.{sample}" / f"{sample}.manifest.tsv").read_text().splitlines()[1:])  # fmt: skip
    assert json.loads((plan.root / "evaluate" / "evaluation.json").read_text())["frames"]["rows"] == frames
    stamp = re.compile(rb"20\d\d-\d\d-\d\d[T ]\d\d:\d\d")
    for key in [*TRAIN_CHAIN, "train", "evaluate"]:
        for path in (plan.root / key).iterdir():
            if path.is_file() and not path.is_symlink():
                content = path.read_bytes()
                assert str(plan.root).encode() not in content and not stamp.search(content), path


def test_fetch_models_command_and_outputs(plan):
    """FETCH_MODELS needs a network; its command and declared outputs are checked against fetch-models instead."""
    from virnucpro.fetch_models import ESM_FILES

    rendered = plan.tasks["fetch_models"].rendered
    assert rendered["command"].split() == ["virnucpro", "fetch-models", "--dest", "models"]
    paths = [path for output in rendered["outputs"] for path in output["paths"]]
    assert paths == ["models/dnabert_s", f"models/esm2/{Path(ESM_FILES[0]).name}", "models/classifier/300_model.pth"]


def test_nf_test_snapshots_are_what_the_blocks_produce(plan):
    """Each committed main.nf.test.snap holds what its test's outputs are (tests/nf_snapshots.py)."""
    keys = [f"snap.{index}" for index in range(len(nf_snapshots.CASES))]
    execute_all(plan, keys)
    results = {
        (case.module, case.test): nf_snapshots.content(
            case, plan.tasks[key].rendered["outputs"], plan.tasks[key].workdir
        )
        for case, key in zip(nf_snapshots.CASES, keys, strict=True)
    }
    if os.environ.get("UPDATE_NF_SNAPSHOTS"):
        nf_snapshots.write(results)
    for module in sorted({case.module for case in nf_snapshots.CASES}):
        snaps = json.loads(nf_snapshots.snap_path(module).read_text())
        cases = [case for case in nf_snapshots.CASES if case.module == module]
        assert sorted(snaps) == sorted(case.test for case in cases), module
        tests = (nf_snapshots.snap_path(module).parent / "main.nf.test").read_text().split('    test("')[1:]
        for case in cases:
            assert snaps[case.test]["content"] == results[(module, case.test)], (module, case.test)
            [block] = [t for t in tests if t.startswith(case.test + '")')]
            assert nf_snapshots.snapshot_call(case) in block, (module, case.test)


def versions_topic(plan: Plan) -> list[list[str]]:
    """What the `versions` topic of a prediction run carries after its tasks ran: [process, tool, version] per eval
    output (the training tasks of this plan belong to another run)."""
    entries = []
    for key in (*CHAIN, "prepare_no_frames", "report_no_frames"):
        task = plan.tasks[key]
        if not task.done:
            continue
        for output in task.rendered["outputs"]:
            tool = re.search(r"val\('([\w-]+)'\), eval\(", output["declaration"])
            if tool and "topic: versions" in output["declaration"]:
                [command] = output["evals"]
                entry = [task.spec["bindings"]["task"]["process"], tool.group(1), VERSIONS[command]]
                entries += [entry] if entry not in entries else []  # the topic's .unique()
    return entries


def test_multiqc_reports_both_samples(plan):
    """MULTIQC's script block, with the real multiqc, over what MULTIQC_REPORT gives it for a run of two samples."""
    run_chain(plan)
    for name, task in (("demo", "report"), ("no_frames", "report_no_frames")):
        produced = plan.root / task / f"{name}_virnucpro_mqc.json"  # the committed fixtures of the MULTIQC nf-test
        assert produced.read_bytes() == (DATA / "nextflow" / "multiqc" / produced.name).read_bytes(), name
    entries = versions_topic(plan)
    assert {process for process, _, _ in entries} == {
        f"VIRNUCPRO:{p}" for p in ("PREPARE", "EMBED_DNABERT", "EMBED_ESM", "MERGE", "PREDICT", "REPORT")
    }
    methods = (ROOT / "assets" / "methods_description_template.yml").read_text()
    workflow = {"manifest": {"name": "virnucpro-nf/virnucpro-nf", "version": "0.1.0"}, "nextflow": {"version": "25.10.4"},
                "commandLine": "nextflow run virnucpro-nf/virnucpro-nf -profile test,docker"}  # fmt: skip
    summary = {"Input/output options": {"input": "samplesheet.csv", "outdir": "results"}}
    texts = call_functions({
        MULTIQC_GENERATED[0]: f"softwareVersionsYaml({groovy_value(entries)}, 'virnucpro-nf/virnucpro-nf', 'v0.1.0', '25.10.4')",
        MULTIQC_GENERATED[1]: f"workflowSummaryYaml({groovy_value(summary)}, 'virnucpro-nf/virnucpro-nf')",
        MULTIQC_GENERATED[2]: f"methodsDescriptionText({groovy_value(methods)}, {groovy_value(workflow)}, {groovy_value(workflow['manifest'])})",
    }, plan.root)  # fmt: skip
    (plan.root / "multiqc_inputs").mkdir(exist_ok=True)
    for name, text in texts.items():
        (plan.root / "multiqc_inputs" / name).write_text(text)
    execute(plan.tasks["multiqc"])

    data = plan.root / "multiqc" / "multiqc_data"
    with (data / "multiqc_virnucpro_calls.txt").open() as handle:
        table = {row.pop("Sample"): row for row in csv.DictReader(handle, delimiter="\t")}
    assert sorted(table) == ["demo", "no_frames"]
    for name, task in (("demo", "report"), ("no_frames", "report_no_frames")):
        counts = json.loads((plan.root / task / "summary.json").read_text())
        expected = {"sequences": counts["sequences"], **counts["calls"], "chunks": counts["chunks"],
                    "viral_chunks": counts["viral_chunks"], "frames": counts["frames"]}  # fmt: skip
        assert {key: int(float(value)) for key, value in table[name].items()} == expected, name
    with (data / "multiqc_software_versions.txt").open() as handle:
        versions = {row.pop("Sample"): row for row in csv.DictReader(handle, delimiter="\t")}
    assert sorted(versions) == sorted({p.split(":")[-1] for p, _, _ in entries} | {"Workflow"})
    assert versions["EMBED_ESM"]["fair-esm"] and versions["Workflow"]["Nextflow"] == "25.10.4"
    html = (plan.root / "multiqc" / "multiqc_report.html").read_text()
    for section in ("virnucpro-nf-virnucpro-nf-summary", "virnucpro-nf-virnucpro-nf-methods-description"):
        assert f'id="{section}"' in html, section
    log = (data / "multiqc.log").read_text()
    assert "Loading config settings from: config/multiqc_config.yml" in log
    assert not re.search(r"(?i)error|could not parse|failed|multiqc\.info", log), log


UTILITIES = ["basename", "cat", "cut", "head", "mkdir", "sed", "touch"]  # all the stubs and version commands use


def task_shell() -> list[str]:
    """nextflow.config's process.shell: the shell and options every task script runs with."""
    setting = re.search(r"^process\.shell\s*=\s*\[([^\]]*)\]", (ROOT / "nextflow.config").read_text(), re.M)
    return re.findall(r"['\"]([^'\"]+)['\"]", setting.group(1))


def test_stubs_run_without_the_software(plan, tmp_path):
    """`-stub-run` where neither Python nor the pipeline's tools exist: the stubs and every version command pass."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in UTILITIES:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    path = str(bin_dir)
    # the environment really lacks them: the old form of a version command fails here
    assert run_eval("python3 -c 'import torch; print(torch.__version__)'", tmp_path, path).returncode == 127
    for name in STUB_BINDINGS:
        task = plan.tasks[f"stub.{name}"]
        workdir = tmp_path / name
        workdir.mkdir()
        done = subprocess.run(["/bin/bash", *task_shell()[1:], "-c", task.rendered["command"]], cwd=workdir,
                              capture_output=True, text=True, check=False, env={"PATH": path})  # fmt: skip
        assert done.returncode == 0, (name, done.stderr)
        for output in task.rendered["outputs"]:
            for pattern in output["paths"]:
                assert output["optional"] or list(workdir.glob(pattern)), (name, pattern)
            for command in output["evals"]:
                found = run_eval(command, workdir, path)
                assert found.returncode == 0, (name, command, found.stderr)
