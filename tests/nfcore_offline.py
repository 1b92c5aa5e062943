"""nf-core tools' lint (`nf-core pipelines lint`, `nf-core modules lint --local`) without Nextflow and without GitHub.

Run by tests/test_nfcore_lint.py in a subprocess (nf-core's code is patched here, never in the test process):
    python -m tests.nfcore_offline PIPELINE_DIR INPUTS.json > RESULTS.json
INPUTS: {"config": what `nextflow config -o json` gives (from tools/nfconfig.groovy), "containers": {main.nf path:
{"docker": image, "singularity": image}} (what `nextflow inspect -profile ...` gives), "workflow_schema": path of the
GitHub workflow JSON schema}. The caller sets XDG_CONFIG_HOME to a directory holding a stand-in for nf-core tools'
clone of nf-core/modules (nf-core/modules/: .nf-core.yml, modules/meta-schema.json, modules/environment-schema.json).
RESULTS: {"pipeline": {test: {"passed": [...], "warned": [...], "failed": [...], "ignored": [...]}},
          "modules": {"passed": [[module, test, message], ...], "warned": [...], "failed": [...]}}.
What needs Nextflow or the network is replaced, and nothing else:
* `nextflow config -o json` (nf_core.utils.fetch_wf_config) by the INPUTS config;
* `nextflow -v` by the pipeline's version floor, `nextflow inspect` by the INPUTS containers;
* the download of the GitHub workflow schema (actions_schema_validation) by the INPUTS schema file, and that of
  nf-core's list of its pipelines and the ORCID look-up of authors (files_unchanged renders nf-core's template,
  with an RO-Crate, to compare files with) by an empty list and no ORCID.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ["HIDE_PROGRESS"] = "1"


def patch(inputs: dict) -> None:
    import nf_core.components.nfcore_component
    import nf_core.pipelines.rocrate
    import nf_core.utils
    import requests

    config = inputs["config"]
    nf_core.utils.fetch_wf_config = lambda *_args, **_kwargs: json.loads(json.dumps(config))
    floor = config["manifest"]["nextflowVersion"].lstrip("!>=")
    nf_core.utils.get_nf_version = lambda: (*map(int, floor.split(".")), False)

    def inspect(component, profile=None) -> str | None:
        return inputs["containers"].get(str(Path(component.main_nf).resolve()), {}).get(profile or "docker")

    nf_core.components.nfcore_component.NFCoreComponent.get_container_with_inspect = inspect

    schema = json.loads(Path(inputs["workflow_schema"]).read_text())
    real_get = requests.get

    class Response:
        status_code = 200

        @staticmethod
        def json() -> dict:
            return schema

    class Catalogue(Response):  # nf-core's list of its pipelines: this one is not among them
        @staticmethod
        def json() -> dict:
            return {"remote_workflows": []}

    def get(url, *args, **kwargs):
        if url == "https://www.schemastore.org/github-workflow":
            return Response()
        if url == "https://nf-co.re/pipelines.json":
            return Catalogue()
        return real_get(url, *args, **kwargs)

    requests.get = get
    nf_core.pipelines.rocrate.get_orcid = lambda _name: None  # the template's RO-Crate looks its authors up on ORCID


def lint_pipeline(root: Path) -> dict[str, dict[str, list[str]]]:
    """Each check of `nf-core pipelines lint`, one by one (a check that raises is reported as failed)."""
    from nf_core.pipelines.lint import PipelineLint

    results = {}
    for test in PipelineLint._get_all_lint_tests(release_mode=False):
        lint = PipelineLint(root, hide_progress=True)
        lint._load()
        lint.lint_tests = [test]
        try:
            lint._lint_pipeline()
        except Exception as error:
            lint.failed.append((test, f"crashed: {error!r}"))
        results[test] = {kind: [str(message) for _, message in getattr(lint, kind)]
                         for kind in ("passed", "warned", "failed", "ignored")}  # fmt: skip
    return results


def lint_modules(root: Path) -> dict[str, list[list[str]]]:
    """`nf-core modules lint --local`: every module under modules/local."""
    from nf_core.modules.lint import ModuleLint

    lint = ModuleLint(root, no_pull=True, hide_progress=True)
    lint.lint(local=True, print_results=False, show_passed=True)
    return {kind: [[result.component_name, result.lint_test, result.message] for result in getattr(lint, kind)]
            for kind in ("passed", "warned", "failed")}  # fmt: skip


def main(root: str, inputs_path: str) -> None:
    inputs = json.loads(Path(inputs_path).read_text())
    patch(inputs)
    results = {"pipeline": lint_pipeline(Path(root)), "modules": lint_modules(Path(root))}
    json.dump(results, sys.stdout, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
