"""Deployment (issue 10): what every target gets from the configuration, the images, the CI and release
workflows, and what nf-test discovers; without a Nextflow engine (one nfconfig.groovy run for all queries).

Nextflow behaviour relied on, read in nextflow-io/nextflow at 2aad02f (26.08.0-edge) and v25.10.4:
  * the local executor hands out GPUs from the launch environment's CUDA_VISIBLE_DEVICES, and only from
    26.05.0-edge (commit 0285c3b, #5850): modules/nextflow/src/main/groovy/nextflow/processor/
    AcceleratorTracker.groovy:50-57 (no variable: a no-op tracker), LocalPollingMonitor.groovy:199-222,
    executor/local/LocalTaskHandler.groovy:178-181; v25.10.4 and v26.04.6 have no AcceleratorTracker;
  * a registry is put in front of a container name without one (a first path part with no '.' or ':'),
    for Docker and, behind docker://, Singularity/Apptainer: container/ContainerHandler.groovy:152-180, 218, 255;
    docker.registryOverride (Docker only) is the one way to replace a registry already in the name;
  * the AWS CLI named by aws.batch.cliPath is mounted into every job (its grandparent directory, read-only):
    plugins/nf-amazon/.../batch/AwsBatchTaskHandler.groovy:597-602; spot retries: :852-863;
  * Google Batch: google.batch.spot sets the provisioning model (GoogleBatchTaskHandler.groovy:485-486),
    maxSpotAttempts only adds a retry policy on exit 50001 (:576-581, BatchConfig.groovy:36-38, 158, 164), and a
    machine type without ',' or '*' is used as given (:939-945);
  * storeDir is ignored, with a warning, for a process with any output other than val/path, e.g. an eval:
    processor/TaskProcessor.groovy:876-880, 912-923 (tuple elements are checked one by one: :786-790).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import ROOT
from tests.nextflow_tools import PROCESS_SHELL, resolve

# the modules that run the project's images (MULTIQC runs nf-core's MultiQC image, named in full)
MODULES = sorted(m for m in (ROOT / "modules" / "local").glob("*/main.nf") if m.parent.name != "multiqc")
GPU_PROCESSES = {"EMBED_DNABERT", "EMBED_ESM", "TRAIN"}
ENGINES = ["apptainer", "charliecloud", "docker", "podman", "singularity"]
DIRECTIVES = ["accelerator", "cpus", "memory", "time", "machineType", "queue", "container", "containerOptions",
              "storeDir", "publishDir", "executor"]  # fmt: skip
SETTINGS = ["google.batch.spot", "google.batch.maxSpotAttempts", "google.batch.bootDiskSize", "aws.batch.cliPath",
            "aws.batch.maxSpotAttempts", "aws.region", "fusion.enabled", "wave.enabled", "process.shell",
            "process.resourceLimits", *(f"{e}.registry" for e in ENGINES),
            *(f"{e}.envWhitelist" for e in ENGINES)]  # fmt: skip
GPU_ERROR = "-profile gpu on the local executor: "
# single-GPU hosts an embedding task must fit: (vCPUs, GiB a task may take). ECS keeps some of an instance's
# memory for its agent and the OS, so an AWS job must leave about 2 GiB of a 32 GiB instance free
SINGLE_GPU_HOSTS = {"g5.2xlarge": (8, 30), "g6.2xlarge": (8, 30), "g2-standard-8": (8, 32), "slurm-32GB-slot": (8, 32)}
# Google accelerator-optimised machine types: vCPUs, GB, the GPU they carry (gcloud accelerator type)
GOOGLE_GPU_MACHINES = {"g2-standard-8": (8, 32, "nvidia-l4"), "g2-standard-16": (16, 64, "nvidia-l4"),
                       "a2-highgpu-1g": (12, 85, "nvidia-tesla-a100"), "a3-highgpu-1g": (26, 234, "nvidia-h100-80gb")}  # fmt: skip

LOCAL_GPU = {  # name: (launch environment, Nextflow version, GPUs in /proc/driver/nvidia/gpus, refused?)
    "old_engine_lists_two": ({"CUDA_VISIBLE_DEVICES": "0,1"}, "25.10.4", 2, True),
    "old_engine_lists_one": ({"CUDA_VISIBLE_DEVICES": "0"}, "25.10.4", 4, False),
    "old_engine_one_gpu": ({}, "26.04.6", 1, False),
    "old_engine_four_gpus_unexported": ({}, "26.04.6", 4, True),
    "edge_lists_two": ({"CUDA_VISIBLE_DEVICES": "0,1"}, "26.05.0-edge", 2, False),
    "stable_lists_four_uuids": ({"CUDA_VISIBLE_DEVICES": "GPU-a,GPU-b,GPU-c,GPU-d"}, "26.10.0", 4, False),
    "edge_four_gpus_unexported": ({}, "26.08.0-edge", 4, True),
}


def query(profiles: str, **extra: object) -> dict:
    return {"profiles": profiles, "processes": {name: labels for name, labels in PROCESS_LABELS.items()},
            "directives": DIRECTIVES, "settings": SETTINGS, **extra}  # fmt: skip


def module_labels() -> dict[str, list[str]]:
    """Each process's labels (one process per module file; test_nextflow.py checks that with nf-lang)."""
    found = {}
    for module in MODULES:
        text = module.read_text()
        found[re.search(r"^process (\w+) \{", text, re.M).group(1)] = re.findall(r"^\s*label '(\w+)'", text, re.M)
    return found


PROCESS_LABELS: dict[str, list[str]] = {}
SLURM = ["nextflow.config", "conf/slurm_gpu.config"]
QUERIES = {
    **{f"local:{name}": ("gpu,docker", {"env": env, "nextflow": version, "nvidia_gpus": gpus})
       for name, (env, version, gpus, _) in LOCAL_GPU.items()},
    "awsbatch_lists_two": ("awsbatch,gpu,docker", {"env": {"CUDA_VISIBLE_DEVICES": "0,1"}, "nvidia_gpus": 2,
                                                   "params": {"awsqueue": "cpu", "awsqueue_gpu": "gpu"}}),
    "slurm_lists_two": ("gpu,apptainer", {"configs": SLURM, "env": {"CUDA_VISIBLE_DEVICES": "0,1"}, "nvidia_gpus": 2}),
    "docker_lists_two": ("docker", {"env": {"CUDA_VISIBLE_DEVICES": "0,1"}, "nvidia_gpus": 2}),
    "gpu,docker": ("gpu,docker", {}),
    "google,gpu": ("google,gpu", {"params": {"google_project": "p"}}),
    "gpu,google": ("gpu,google", {"params": {"google_project": "p"}}),
    "google": ("google", {"params": {"google_project": "p"}}),
    "google_standard_vms": ("google,gpu", {"params": {"google_project": "p", "google_spot": "false"}}),
    "google_a100": ("google,gpu", {"params": {"google_project": "p", "google_gpu_machine": "a2-highgpu-1g",
                                              "google_gpu_type": "nvidia-tesla-a100"}}),
    "awsbatch,gpu,docker": ("awsbatch,gpu,docker", {"params": {"awsqueue": "cpu", "awsqueue_gpu": "gpu"}}),
    "awsbatch_own_cli": ("awsbatch,gpu,docker", {"params": {"awsqueue": "q", "awscli": "/opt/aws-cli/bin/aws"}}),
    "awsbatch,fusion,gpu,docker": ("awsbatch,fusion,gpu,docker", {"params": {"awsqueue": "q"}}),
    "fusion,awsbatch,gpu,docker": ("fusion,awsbatch,gpu,docker", {"params": {"awsqueue": "q"}}),
    "google,fusion,gpu": ("google,fusion,gpu", {"params": {"google_project": "p"}}),
    "slurm": ("gpu,apptainer", {"configs": SLURM}),
    "test,docker": ("test,docker", {}),
    "mirror": ("singularity", {"params": {"container_registry": "registry.example.org/mirror"}}),
    "no_profile": ("", {}),
    "models_dir": ("", {"params": {"models_dir": "s3://bucket/virnucpro-models"}}),
}  # fmt: skip


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict[str, dict]:
    PROCESS_LABELS.update(module_labels())
    queries = {name: query(profiles, **extra) for name, (profiles, extra) in QUERIES.items()}
    results = resolve(list(queries.values()), tmp_path_factory.mktemp("deploy"))
    return dict(zip(queries, results, strict=True))


def gib(memory: str) -> float:
    """Nextflow's memory literal as GiB (MemoryUnit: 1 GB = 1024^3 bytes)."""
    amount, unit = memory.split(".")
    return float(amount) * {"MB": 2**-10, "GB": 1, "TB": 2**10}[unit]


def effective(resources: dict, limits: dict) -> tuple[int, float]:
    """cpus and GiB a task asks for after process.resourceLimits (TaskConfig.getResourceLimit)."""
    return min(resources["cpus"], limits["cpus"]), min(gib(resources["memory"]), gib(limits["memory"]))


# ----------------------------------------------------------------------------------------------- GPU workstations


@pytest.mark.parametrize("case", LOCAL_GPU)
def test_local_executor_never_stacks_gpu_tasks_on_one_gpu_silently(resolved, case):
    refused = LOCAL_GPU[case][3]
    for process, got in resolved[f"local:{case}"]["processes"].items():
        if process not in GPU_PROCESSES:
            assert got["accelerator"] is None, (case, process)
        elif refused:
            error = got["accelerator"]["error"]
            assert error.startswith(GPU_ERROR) and "NXF_VER=26.05.0-edge" in error, error
            assert "export CUDA_VISIBLE_DEVICES=0 " in error, error  # how to share one GPU on purpose
        else:
            assert got["accelerator"] == {"request": 1, "limit": 1}, (case, process, got["accelerator"])


def test_the_refusal_names_the_reason_and_every_gpu(resolved):
    old = resolved["local:old_engine_lists_two"]["processes"]["EMBED_ESM"]["accelerator"]["error"]
    assert "Nextflow 25.10.4 does not give local tasks their own GPU" in old
    assert "export CUDA_VISIBLE_DEVICES=0,1;" in old
    unexported = resolved["local:edge_four_gpus_unexported"]["processes"]["EMBED_ESM"]["accelerator"]["error"]
    assert "this host has 4 GPUs and CUDA_VISIBLE_DEVICES is not exported" in unexported
    assert "export CUDA_VISIBLE_DEVICES=0,1,2,3;" in unexported


def test_schedulers_that_assign_gpus_are_not_refused(resolved):
    for name in ("awsbatch_lists_two", "slurm_lists_two"):
        for process in GPU_PROCESSES:
            assert resolved[name]["processes"][process]["accelerator"] == {"request": 1, "limit": 1}, name
    for process in GPU_PROCESSES:  # without -profile gpu nothing asks for a GPU, whatever the host has
        assert resolved["docker_lists_two"]["processes"][process]["accelerator"] is None


def test_the_assigned_gpu_reaches_every_container_engine(resolved):
    settings = resolved["gpu,docker"]["settings"]
    for engine in ("docker", "podman", "singularity", "apptainer"):
        assert settings[f"{engine}.envWhitelist"] == "CUDA_VISIBLE_DEVICES", engine
    gpu_image = (ROOT / "containers" / "Dockerfile.gpu").read_text()
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID" in gpu_image  # CUDA numbers GPUs as nvidia-smi and schedulers do


# ------------------------------------------------------------------------------------------------------ resources


def test_an_embedding_task_fits_the_common_single_gpu_hosts(resolved):
    for name in ("gpu,docker", "awsbatch,gpu,docker", "google,gpu", "slurm"):
        result = resolved[name]
        for process in GPU_PROCESSES:
            cpus, memory = effective(result["processes"][process], result["settings"]["process.resourceLimits"])
            assert (cpus, memory) == (4, 24), (name, process)
            for host, (host_cpus, host_gib) in SINGLE_GPU_HOSTS.items():
                assert cpus <= host_cpus and memory <= host_gib, (name, process, host)
        # the CPU steps keep their own labels
        assert result["processes"]["MERGE"]["memory"] == "12.GB", name


def test_gpu_resources_do_not_grow_on_a_retry():
    base = (ROOT / "conf" / "base.config").read_text()
    gpu = base[base.index("withLabel: 'process_gpu'") :]
    assert "cpus   = { 4 }" in gpu and "memory = { 24.GB }" in gpu  # a second attempt must fit the same machine


def test_host_memory_benchmark_measures_the_real_command():
    source = (ROOT / "bench" / "host_memory.py").read_text()
    assert '"bin" / "embed-esm"' in source and "RssAnon" in source and "VmHWM" in source


# ---------------------------------------------------------------------------------------------------------- clouds


@pytest.mark.parametrize("order", ["google,gpu", "gpu,google"])
def test_google_gpu_tasks_get_a_machine_that_fits_and_carries_their_gpu(resolved, order):
    result = resolved[order]
    settings = result["settings"]
    assert settings["google.batch.spot"] is True and settings["google.batch.maxSpotAttempts"] == 3
    for process, got in result["processes"].items():
        assert got["executor"] == "google-batch", process
        if process in GPU_PROCESSES:
            machine = got["machineType"]
            vcpus, memory, gpu = GOOGLE_GPU_MACHINES[machine]
            assert got["accelerator"] == {"request": 1, "limit": 1, "type": gpu}
            assert got["cpus"] <= vcpus and gib(got["memory"]) <= memory, (process, machine)
            assert got["containerOptions"] is None  # Batch ignores Docker GPU flags
        else:
            assert got["machineType"] is None and got["accelerator"] is None, process


def test_google_machine_type_only_with_gpu_and_spot_can_be_turned_off(resolved):
    for process, got in resolved["google"]["processes"].items():
        assert got["machineType"] is None and got["accelerator"] is None, process
    standard = resolved["google_standard_vms"]["settings"]
    assert standard["google.batch.spot"] is False and standard["google.batch.maxSpotAttempts"] == 0
    a100 = resolved["google_a100"]["processes"]["EMBED_ESM"]
    vcpus, memory, gpu = GOOGLE_GPU_MACHINES[a100["machineType"]]
    assert a100["accelerator"]["type"] == gpu and a100["cpus"] <= vcpus and gib(a100["memory"]) <= memory


def test_awsbatch_stages_files_with_the_ami_cli_or_fusion(resolved):
    aws = resolved["awsbatch,gpu,docker"]
    assert aws["settings"]["aws.batch.cliPath"] == "/home/ec2-user/miniconda/bin/aws"
    assert aws["settings"]["aws.batch.maxSpotAttempts"] == 3
    assert resolved["awsbatch_own_cli"]["settings"]["aws.batch.cliPath"] == "/opt/aws-cli/bin/aws"
    for process, got in aws["processes"].items():
        assert got["executor"] == "awsbatch", process
        assert got["queue"] == ("gpu" if process in GPU_PROCESSES else "cpu"), process
        assert got["accelerator"] == ({"request": 1, "limit": 1} if process in GPU_PROCESSES else None), process
    for order in ("awsbatch,fusion,gpu,docker", "fusion,awsbatch,gpu,docker", "google,fusion,gpu"):
        settings = resolved[order]["settings"]
        assert settings["fusion.enabled"] is True and settings["wave.enabled"] is True, order
    assert resolved["awsbatch,gpu,docker"]["settings"]["fusion.enabled"] is None


# ------------------------------------------------------------------------------------------- images and registries


def image_name(container: str, registry: str | None) -> str:
    """The image an engine pulls (ContainerHandler.normalizeDockerImageName, ContainerHandler.groovy:152-180)."""
    first = container.split("/")[0] if "/" in container else ""
    if not registry or "." in first or ":" in first:
        return container
    return registry.rstrip("/") + "/" + container


def test_every_engine_takes_the_registry_from_one_setting(resolved):
    for engine in ENGINES:
        assert resolved["gpu,docker"]["settings"][f"{engine}.registry"] == "ghcr.io", engine
        assert resolved["mirror"]["settings"][f"{engine}.registry"] == "registry.example.org/mirror", engine
    test_image = resolved["test,docker"]["processes"]["EMBED_ESM"]["container"]  # conf/test.config
    assert image_name(test_image, "ghcr.io") == "ghcr.io/virnucpro-nf/virnucpro-cpu:0.1.0"
    mirror = resolved["mirror"]["settings"]["singularity.registry"]
    assert image_name(test_image, mirror) == "registry.example.org/mirror/virnucpro-nf/virnucpro-cpu:0.1.0"


def test_module_images_follow_the_registry_settings():
    for module in MODULES:
        [container] = re.findall(r"^\s*container '([^']+)'", module.read_text(), re.M)
        assert image_name(container, "registry.example.org/mirror").startswith("registry.example.org/"), module


def test_image_versions_agree():
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert re.search(rf"^\s*version\s*=\s*'{re.escape(version)}'", (ROOT / "nextflow.config").read_text(), re.M)
    for dockerfile in (ROOT / "containers").glob("Dockerfile.*"):
        assert f"ARG VERSION={version}\n" in dockerfile.read_text(), dockerfile
    for module in MODULES:
        [tag] = re.findall(r"^\s*container '[^']+:([^':]+)'", module.read_text(), re.M)
        assert tag == version, module


def test_images_are_multi_stage_non_root_labelled_and_reproducible():
    dates = set()
    for dockerfile in sorted((ROOT / "containers").glob("Dockerfile.*")):
        text = dockerfile.read_text()
        assert re.findall(r"^FROM (\S+)", text, re.M) == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"], dockerfile
        assert "FROM ${PYTHON_IMAGE} AS build\n" in text and "COPY --from=build /opt/venv /opt/venv" in text
        for label in ("title", "description", "version", "revision", "created", "source", "licenses"):
            assert f"org.opencontainers.image.{label}=" in text, (dockerfile, label)
        assert text.rstrip().splitlines()[-2:] == ["USER 1000", "WORKDIR /home/virnucpro"], dockerfile
        # Debian packages come from one snapshot.debian.org date, never from point-release version pins
        dates.update(re.findall(r"^ARG DEBIAN_SNAPSHOT=(\d{8}T\d{6}Z)$", text, re.M))
        assert "apt-get" not in text and not re.search(r"\b[a-z0-9.+-]+=\d[\w.:~+-]*deb\d", text), dockerfile
        assert "apt-install-snapshot.sh " in text, dockerfile
    assert len(dates) == 1, dates
    script = (ROOT / "containers" / "apt-install-snapshot.sh").read_text()
    assert "snapshot.debian.org/archive/debian/${DEBIAN_SNAPSHOT}" in script
    assert "snapshot.debian.org/archive/debian-security/${DEBIAN_SNAPSHOT}" in script


def test_the_apt_helper_refuses_to_run_without_a_snapshot_date():
    done = subprocess.run(["sh", str(ROOT / "containers" / "apt-install-snapshot.sh"), "procps"], capture_output=True,
                          text=True, check=False, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode != 0 and "set DEBIAN_SNAPSHOT to a snapshot.debian.org time stamp" in done.stderr


def test_make_images_builds_both_tags():
    done = subprocess.run(["make", "-n", "images", "sif"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for flavour in ("cpu", "gpu"):
        assert f"-f containers/Dockerfile.{flavour} -t ghcr.io/virnucpro-nf/virnucpro-{flavour}:0.1.0" in done.stdout
        # the file name Nextflow looks for in NXF_APPTAINER_CACHEDIR (SingularityCache.simpleName)
        assert f"ghcr.io-virnucpro-nf-virnucpro-{flavour}-0.1.0.img docker-daemon://ghcr.io/" in done.stdout


# ------------------------------------------------------------------------------------------------------ model cache


def test_fetch_models_keeps_a_persistent_cache(resolved):
    default = resolved["no_profile"]["processes"]["FETCH_MODELS"]
    assert default["storeDir"] == "results" and default["publishDir"]["enabled"] is False
    assert resolved["models_dir"]["processes"]["FETCH_MODELS"]["storeDir"] == "s3://bucket/virnucpro-models"
    for process, got in resolved["no_profile"]["processes"].items():
        assert process == "FETCH_MODELS" or got["storeDir"] is None, process


def test_fetch_models_has_only_path_outputs():
    text = (ROOT / "modules" / "local" / "fetch_models" / "main.nf").read_text()
    outputs = text[text.index("    output:") : text.index("    script:")]
    assert "eval(" not in outputs and "env(" not in outputs


# ------------------------------------------------------------------------------------------------- smaller items


def test_process_shell_has_no_noclobber(resolved):
    shell = resolved["no_profile"]["settings"]["process.shell"]
    assert shell == PROCESS_SHELL and "-C" not in shell  # the scripts check runs the blocks with it


def test_schema_refuses_gzipped_samplesheets():
    """--input: a plain samplesheet, or a FASTA in one of the compressions prepare reads (virnucpro.fasta)."""
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    spec = schema["$defs"]["input_output_options"]["properties"]["input"]
    for good in ("sheet.csv", "a.fa", "a.fasta.gz", "s3://b/x.fna.gz", "a.fa.bz2", "a.fna.xz", "a.fa.bgz"):
        jsonschema.validate(good, {"type": "string", "pattern": spec["pattern"]})
    for bad in ("sheet.csv.gz", "a.txt", "a.fa.zst"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, {"type": "string", "pattern": spec["pattern"]})


def bundled_file(url: str) -> Path:
    """The bundled file a test samplesheet's URL names, checked to be this clone's file at the URL's commit."""
    home = re.search(r"homePage\s*=\s*'https://github\.com/([^']+)'", (ROOT / "nextflow.config").read_text()).group(1)
    commit_path = r"/([0-9a-f]{40})/(\S+)"  # (no doubled braces: nf-core lint takes them for Jinja)
    found = re.fullmatch(r"https://raw\.githubusercontent\.com/" + re.escape(home) + commit_path, url)
    assert found, url
    commit, path = found.groups()
    stored = subprocess.run(["git", "rev-parse", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert stored.returncode == 0, f"{commit}:{path} is not in this clone (a shallow clone?): {stored.stderr}"
    local = subprocess.run(["git", "hash-object", path], cwd=ROOT, capture_output=True, text=True, check=True)
    assert stored.stdout == local.stdout, f"{path} changed since {commit}: the samplesheet needs a new commit"
    return ROOT / path


@pytest.mark.parametrize(("sheet", "header", "rows", "files"), [
    ("samplesheet_test.csv", "sample,fasta", 3, (1,)),
    ("samplesheet_train_test.csv", "sample,fasta,gbff,label,group", 6, (1, 2)),
])  # fmt: skip
def test_test_samplesheets_name_bundled_files_at_a_commit_of_this_repository(sheet, header, rows, files):
    """nf-schema turns a relative path into a file relative to the launch directory (SamplesheetConverter.groovy:225,
    Nextflow.file -> FileHelper.asPath -> Paths.get), so the rows (of -profile test and test_train) are URLs of
    files pinned at a commit: the profiles work from any launch directory and as `nextflow run <org>/<repo>`."""
    lines = (ROOT / "assets" / sheet).read_text().splitlines()
    assert lines[0] == header and len(lines) == rows + 1
    for line in lines[1:]:
        fields = line.split(",")
        for column in files:
            assert bundled_file(fields[column]).is_file(), line


# ---------------------------------------------------------------------------------------------------------- nf-test


def nf_test_files(tests_dir: str) -> list[str]:
    """What `nf-test test` runs without arguments: every *.nf.test or *.groovy.test under testsDir
    (askimed/nf-test RunTestsCommand.java: testPaths = [config.getTestsDir()], findTests walks it,
    isSupportedFile). Directories of tools and run outputs hold none; they are not walked."""
    found = []
    for folder, subfolders, files in os.walk(ROOT / tests_dir):
        subfolders[:] = [d for d in subfolders if d not in {".git", ".venv", ".nf-test", ".nfjar", "work", "results"}]
        found += [str(Path(folder, f).relative_to(ROOT)) for f in files if f.endswith((".nf.test", ".groovy.test"))]
    return sorted(found)


def test_nf_test_discovers_the_pipeline_and_every_module_test():
    config = (ROOT / "nf-test.config").read_text()
    tests_dir = re.search(r'^\s*testsDir "([^"]+)"', config, re.M).group(1)
    found = nf_test_files(tests_dir)
    modules = sorted((ROOT / "modules" / "local").glob("*/main.nf"))  # MULTIQC's test too
    expected = ["tests/default.nf.test", *(str(m.parent.relative_to(ROOT) / "tests" / "main.nf.test") for m in modules)]
    assert found == sorted(expected)
    assert nf_test_files("tests") == ["tests/default.nf.test"]  # the old testsDir missed all seven module tests
    assert re.search(r'^\s*profile "test"', config, re.M) and re.search(r'configFile "tests/nextflow.config"', config)


# ------------------------------------------------------------------------------------------------------- workflows


def test_workflows_validate_against_the_github_workflow_schema():
    tool = Path(sys.executable).parent / "check-jsonschema"
    assert tool.is_file(), "check-jsonschema is a test dependency (pip install -e '.[test]')"
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"ci.yml", "release.yml"}
    done = subprocess.run([str(tool), "--builtin-schema", "vendor.github-workflows", *map(str, workflows)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_release_publishes_both_images_on_a_version_tag():
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert re.search(r'on:\n  push:\n    tags: \["v\[0-9\]\+\.\[0-9\]\+\.\[0-9\]\+"\]', release)
    assert "flavour: [cpu, gpu]" in release and "file: containers/Dockerfile.${{ matrix.flavour }}" in release
    for line in ("push: true", "sbom: true", "provenance: mode=max", "packages: write",
                 "images: ghcr.io/virnucpro-nf/virnucpro-${{ matrix.flavour }}"):  # fmt: skip
        assert line in release, line


def test_ci_builds_both_images_and_runs_nf_test_with_snapshots():
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    images = ci[ci.index("\n  images:") : ci.index("\n  nextflow:")]
    assert "flavour: [cpu, gpu]" in images and "file: containers/Dockerfile.${{ matrix.flavour }}" in images
    version = re.search(r'setup-nf-test@v\d+\n\s+with:\n\s+version: "(\d+)\.(\d+)\.(\d+)"', ci).groups()
    assert tuple(map(int, version)) >= (0, 9, 4)  # 0.9.3's generated scripts break strict syntax
    assert ci.count("nextflow config -flat -sort -profile") == 2  # the v2 parser orders keys by profile order
    assert "nf-test test --profile +docker --ci" in ci  # --ci: a missing snapshot fails
    assert 'nextflow run "$GITHUB_WORKSPACE" -profile test,docker' in ci  # from another launch directory
    assert 'nextflow run "${{ github.repository }}" -r "${{ github.sha }}" -profile test,docker' in ci


# ------------------------------------------------------------------------------------------------------------ docs


def test_usage_has_a_first_run_for_every_target():
    usage = (ROOT / "docs" / "usage.md").read_text()
    section = usage[usage.index("## First run on each target") :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    for heading, command in [("### Workstation, one GPU", "-profile gpu,docker"),
                             ("### Workstation, several GPUs", "export CUDA_VISIBLE_DEVICES="),
                             ("### Slurm", "-c slurm_gpu.config -profile gpu,apptainer"),
                             ("### AWS Batch", "-profile awsbatch,gpu,docker"),
                             ("### Google Batch", "-profile google,gpu"),
                             ("### Offline site", "apptainer build")]:  # fmt: skip
        assert heading in section, heading
        part = section[section.index(heading) :]
        part = part[: part.index("\n### ", 1)] if "\n### " in part[1:] else part
        assert "```bash" in part and command in part, heading
        assert "Before" in part, heading  # what is needed beforehand
