"""nf-core tools 4.2.1's own lint, run offline: every check of `nf-core pipelines lint`, one by one through its
Python API, and `nf-core modules lint --local` over every local module (meta.yml against nf-core's module meta
schema, environment.yml against its environment schema, main.nf against nf-core's rules).

Nextflow and GitHub are out of reach here, so tests/nfcore_offline.py replaces exactly what needs them: the
pipeline's configuration (`nextflow config -o json`) comes from tools/nfconfig.groovy, the containers
(`nextflow inspect`) from the container directives rendered by tools/nfrender.groovy, the GitHub workflow schema
from check-jsonschema's copy, and nf-core/modules' schemas from tests/data/nf-core/ (origin in its README). The
checks that read the configuration are as good as the resolver's rendering of it; .github/workflows/linting.yml
runs the same lint with the real `nextflow config` and clone of nf-core/modules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import DATA, ROOT
from tests.nextflow_tools import extract, render, resolve

MODULES = sorted((ROOT / "modules" / "local").glob("*/main.nf"))
CONFIG_SCOPES = ["params", "manifest", "process", "timeline", "report", "trace", "dag", "validation", "env",
                 "docker", "singularity", "apptainer", "podman", "conda"]  # fmt: skip
NF_CORE_SCHEMAS = DATA / "nf-core" / "modules"

# Warnings that stay, each for a reason (docs/README.md, "nf-core lint")
EXPECTED_PIPELINE_WARNINGS = {
    ("files_exist", "File not found: `ro-crate-metadata.json`"),
    ("nextflow_config", "Config variable not found: `manifest.diagram`"),
    ("nextflow_config", "Config ``manifest.version`` should end in ``dev``: ``0.1.0``"),
    ("system_exit", "`System.exit` in nflint.groovy: _System.exit(errorCount ? 1 : 0)_  [line 91]"),
}
EXPECTED_MODULE_WARNINGS = {
    *((module, "main_nf_module_no_punctuation") for module in ("embed_dnabert", "embed_esm", "fetch_models")),
    *((module, "process_standard_label") for module in ("embed_dnabert", "embed_esm", "train")),  # process_gpu
    # MultiQC's version stays off the versions topic, which MultiQC reads (as in nf-core's own module)
    ("multiqc", "main_nf_version_topic"),
    ("multiqc", "main_nf_version_emit"),
    ("multiqc", "has_meta_containers"),
    ("multiqc", "bioconda_version"),  # offline only: the version is looked up on anaconda.org
}


def copy_tree(target: Path) -> Path:
    """The repository's files (tracked, and new ones git does not ignore) in `target`, as a fresh clone has them."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    return target


def modules_clone(home: Path) -> None:
    """A stand-in for nf-core tools' clone of nf-core/modules: a git repository with the two schemas."""
    source = home / "modules-source"
    (source / "modules" / "nf-core").mkdir(parents=True)
    for name in ("meta-schema.json", "environment-schema.json"):
        shutil.copy(NF_CORE_SCHEMAS / name, source / "modules" / name)
    (source / "modules" / "nf-core" / ".gitkeep").touch()
    (source / ".nf-core.yml").write_text("repository_type: modules\norg_path: nf-core\n")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "master"], cwd=source, check=True)
    subprocess.run([*git, "add", "-A"], cwd=source, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "stand-in"], cwd=source, check=True)
    subprocess.run(["git", "clone", "-q", str(source), str(home / "nfcore" / "nf-core" / "modules")], check=True)


def containers(tree: Path, workdir: Path) -> dict[str, dict[str, str]]:
    workdir.mkdir(exist_ok=True)
    """What `nextflow inspect -profile docker|singularity` gives for each module: its container directive, rendered."""
    processes = {
        path: content["processes"][0] for path, content in extract(sorted(tree.glob("modules/local/*/main.nf"))).items()
    }
    specs = []
    for path, process in processes.items():
        [directive] = [d["text"] for d in process["directives"] if d["name"] == "container"]
        for engine in ("docker", "singularity"):
            specs.append({"name": f"{path}|{engine}", "script": directive.removeprefix("container "), "outputs": [],
                          "bindings": {"workflow": {"containerEngine": engine}, "task": {"ext": {}}}})  # fmt: skip
    result: dict[str, dict[str, str]] = {}
    for item in render(specs, workdir):
        path, engine = item["name"].split("|")
        result.setdefault(str(Path(path).resolve()), {})[engine] = item["command"]
    return result


FAULTS = {  # planted in a second copy: (file, text, replacement or None to delete the file, what the lint reports)
    "no_when": ("modules/local/merge/main.nf", "    when:\n    task.ext.when == null || task.ext.when\n\n", "",
                ("modules", "merge", "when_exist")),
    "meta_without_keywords": ("modules/local/predict/meta.yml", "keywords:\n", "words:\n",
                              ("modules", "predict", "meta_yml_valid")),
    "no_site_profiles": ("nextflow.config", '/nfcore_custom.config" : "/dev/null"', '/custom.config" : "/dev/null"',
                         ("pipeline", "nextflow_config", "Lines for loading custom profiles not found")),
    "no_mimetype": ("nextflow_schema.json", '"mimetype": "text/csv",', "", ("pipeline", "schema_lint", "Input mimetype is missing")),
    "no_citations": ("CITATIONS.md", None, None, ("pipeline", "files_exist", "File not found: `CITATIONS.md`")),
}  # fmt: skip


def plant_faults(tree: Path) -> None:
    for path, old, new, _ in FAULTS.values():
        if old is None:
            (tree / path).unlink()
            continue
        text = (tree / path).read_text()
        assert old in text, (path, old)
        (tree / path).write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def lint(tmp_path_factory) -> dict[str, dict]:
    """tests/nfcore_offline.py over a copy of the repository ("clean") and a copy with FAULTS planted, side by side."""
    import check_jsonschema

    work = tmp_path_factory.mktemp("nfcore")
    trees = {"clean": copy_tree(work / "clean"), "faulty": copy_tree(work / "faulty")}
    plant_faults(trees["faulty"])
    modules_clone(work / "home")
    configs = resolve([{"profiles": "", "root": str(tree), "settings": CONFIG_SCOPES} for tree in trees.values()], work)
    schema = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "github-workflows.json"
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "home"), "XDG_CACHE_HOME": str(work / "cache"),
           "HOME": str(work / "home"), "NXF_HOME": str(work / "nxf"), "PYTHONPATH": str(ROOT)}  # fmt: skip
    runs = {}
    for (name, tree), config in zip(trees.items(), configs, strict=True):
        inputs = {"config": {**{k: v for k, v in config["settings"].items() if v is not None},
                             "params": config["params"], "plugins": config["plugins"]},
                  "containers": containers(tree, work / name), "workflow_schema": str(schema)}  # fmt: skip
        (work / f"{name}.json").write_text(json.dumps(inputs))
        runs[name] = subprocess.Popen([sys.executable, "-m", "tests.nfcore_offline", str(tree), str(work / f"{name}.json")],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=work)  # fmt: skip
    results = {}
    for name, run in runs.items():
        stdout, stderr = run.communicate()
        assert run.returncode == 0, stderr[-3000:]
        results[name] = json.loads(stdout)
    return results


def summary(results: dict) -> str:
    return "\n".join(f"{kind.upper()} {test}: {message}" for test, by_kind in results.items()
                     for kind in ("failed", "warned") for message in by_kind[kind])  # fmt: skip


def test_pipeline_lint_has_no_failures(lint):
    pipeline = lint["clean"]["pipeline"]
    assert not [(test, m) for test, result in pipeline.items() for m in result["failed"]], summary(pipeline)
    warned = {(test, message) for test, result in pipeline.items() for message in result["warned"]}
    assert warned == EXPECTED_PIPELINE_WARNINGS, summary(pipeline)
    passed = sum(len(result["passed"]) for result in pipeline.values())
    assert passed >= 150, passed


def test_modules_lint_has_no_failures(lint):
    modules = lint["clean"]["modules"]
    assert not modules["failed"], modules["failed"]
    assert {(module, test) for module, test, _ in modules["warned"]} == EXPECTED_MODULE_WARNINGS, modules["warned"]
    valid = {module for module, test, _ in modules["passed"] if test == "meta_yml_valid"}
    assert valid == {path.parent.name for path in MODULES}  # against nf-core's meta schema
    environments = {module for module, test, _ in modules["passed"] if test == "environment_yml_valid"}
    assert environments == {path.parent.name for path in MODULES}


@pytest.mark.parametrize("fault", FAULTS)
def test_lint_reports_planted_faults(lint, fault):
    kind, where, what = FAULTS[fault][3]
    faulty = lint["faulty"][kind]
    if kind == "pipeline":
        reported = [m for m in faulty[where]["failed"] + faulty[where]["warned"]]
        assert any(what in message for message in reported), (fault, reported)
        assert not any(
            what in m for m in lint["clean"]["pipeline"][where]["failed"] + lint["clean"]["pipeline"][where]["warned"]
        )
    else:  # a local module's failures are warnings in nf-core tools
        assert (where, what) in {(module, test) for module, test, _ in faulty["warned"] + faulty["failed"]}, fault
        assert (where, what) not in {(module, test) for module, test, _ in lint["clean"]["modules"]["warned"]}


def test_the_lint_configuration_skips_only_nf_core_organisation_checks():
    """.nf-core.yml: every skipped check and file is listed in docs/README.md with its reason."""
    settings = yaml.safe_load((ROOT / ".nf-core.yml").read_text())
    assert settings["repository_type"] == "pipeline"
    assert settings["template"]["org"] == "virnucpro-nf" and settings["template"]["name"] == "virnucpro-nf"
    documented = (ROOT / "docs" / "README.md").read_text()
    for test, value in settings["lint"].items():
        for entry in value if isinstance(value, list) else [test]:
            assert f"`{entry}`" in documented, (test, entry)


def test_environments_pin_what_the_images_install():
    """Every VirNucPro module's environment.yml is the same, with the images' versions (containers/)."""
    requirements = dict(
        line.split("==")
        for line in (ROOT / "containers" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    dockerfile = (ROOT / "containers" / "Dockerfile.cpu").read_text()
    requirements["torch"] = re.search(r"torch==([\d.]+)", dockerfile).group(1)
    texts = {
        path.parent.name: (path.parent / "environment.yml").read_text()
        for path in MODULES
        if path.parent.name != "multiqc"
    }
    assert len(set(texts.values())) == 1, sorted(texts)  # one conda environment for all
    environment = yaml.safe_load(next(iter(texts.values())))
    [pip] = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert dict(entry.split("==") for entry in pip) == requirements
    multiqc = yaml.safe_load((ROOT / "modules" / "local" / "multiqc" / "environment.yml").read_text())
    main = (ROOT / "modules" / "local" / "multiqc" / "main.nf").read_text()
    [version] = [d.split("=")[1] for d in multiqc["dependencies"]]
    assert f"multiqc:{version}--" in main and re.search(
        rf'"multiqc=={re.escape(version)}"', (ROOT / "pyproject.toml").read_text()
    )
