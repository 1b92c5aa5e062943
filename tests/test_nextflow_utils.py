"""The start-up and completion helpers of subworkflows/local/utils_virnucpro_pipeline, evaluated with Groovy (the
nf-lang jar's), and the files they render: the MultiQC software versions, workflow summary and methods description,
and the completion e-mails. The MultiQC run over these files is in test_nextflow_scripts.py.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.conftest import ROOT
from tests.nextflow_tools import call_functions, groovy_value

VERSIONS = [  # the versions topic: [process, tool, version], as the modules' eval outputs give them
    ["VIRNUCPRO:PREPARE", "virnucpro", "0.1.0"],
    ["VIRNUCPRO:PREPARE", "python", "3.11.7"],
    ["VIRNUCPRO:EMBED_ESM", "torch", "2.11.0+cu126"],
    ["VIRNUCPRO:EMBED_ESM", "cuda", "None"],  # torch.version.cuda of a CPU build
    ["VIRNUCPRO:EMBED_ESM", "fair-esm", ""],  # a stub run without the software
    ["VIRNUCPRO:MERGE", "virnucpro", "it's 1.0"],
]
SUMMARY = {"Input/output options": {"input": "samples.csv", "outdir": "<results & more>"},
           "Model options": {"classifier": "500_model.pth", "dnabert_s": None}, "Empty group": {}}  # fmt: skip
WORKFLOW = {"manifest": {"name": "virnucpro-nf/virnucpro-nf", "version": "0.1.0"}, "nextflow": {"version": "25.10.4"},
            "commandLine": "nextflow run virnucpro-nf/virnucpro-nf -profile gpu,docker --input s.csv"}  # fmt: skip


RUN = {**WORKFLOW, "runName": "happy_turing", "success": True, "complete": "2026-01-02T10:00:00Z", "duration": "1h 2m",
       "exitStatus": 0, "errorMessage": None, "errorReport": None, "start": "2026-01-02T08:58:00Z",
       "scriptFile": "/p/main.nf", "scriptId": "abc", "repository": None, "commitId": None, "revision": None,
       "projectDir": "/p", "nextflow": {"version": "25.10.4", "build": "1"}}  # fmt: skip
FAILED = {**RUN, "success": False, "exitStatus": 137, "errorMessage": "Process `EMBED_ESM (s.shard_00001)` failed",
          "errorReport": "Command exit status: 137 <killed>"}  # fmt: skip


def template(name: str, fields: str) -> str:
    """Groovy: render assets/NAME with GStringTemplateEngine and the given fields, as completionEmail does."""
    path = ROOT / "assets" / name
    return f"new groovy.text.GStringTemplateEngine().createTemplate(new File('{path}').text).make({fields}).toString()"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    workdir = tmp_path_factory.mktemp("utils")
    methods = (ROOT / "assets" / "methods_description_template.yml").read_text()
    report = workdir / "multiqc_report.html"
    report.write_text("<html>" + "x" * 200 + "</html>")
    mail = {"email": "me@example.org", "subject": "[virnucpro-nf/virnucpro-nf] Successful: happy_turing",
            "email_txt": "text", "email_html": "<p>html</p>", "mqcFile": str(report)}  # fmt: skip
    calls = {
        "email_txt": template(
            "email_template.txt", f"emailFields({groovy_value(RUN)}, {groovy_value(SUMMARY)}, 'v0.1.0')"
        ),
        "email_html": template(
            "email_template.html", f"emailFields({groovy_value(FAILED)}, {groovy_value(SUMMARY)}, 'v0.1.0')"
        ),
        "email_failed_txt": template(
            "email_template.txt", f"emailFields({groovy_value(FAILED)}, {groovy_value(SUMMARY)}, 'v0.1.0')"
        ),
        "sendmail": template("sendmail_template.txt", groovy_value({**mail, "mqcMaxSize": 10_000})),
        "sendmail_large": template("sendmail_template.txt", groovy_value({**mail, "mqcMaxSize": 100})),
        "versions": f"softwareVersionsYaml({groovy_value(VERSIONS)}, 'virnucpro-nf/virnucpro-nf', 'v0.1.0-g1a2b3c4', '25.10.4')",
        "summary": f"workflowSummaryYaml({groovy_value(SUMMARY)}, 'virnucpro-nf/virnucpro-nf')",
        "methods": f"methodsDescriptionText({groovy_value(methods)}, {groovy_value(WORKFLOW)}, {groovy_value(WORKFLOW['manifest'])})",
        "methods_doi": f"methodsDescriptionText({groovy_value(methods)}, {groovy_value(WORKFLOW)}, "
        f"{groovy_value({**WORKFLOW['manifest'], 'doi': 'https://doi.org/10.5281/zenodo.1, 10.5281/zenodo.2'})})",
        "version_git": "workflowVersion('0.1.0', '1a2b3c4d5e6f')",
        "version_v": "workflowVersion('v2.0', null)",
        "sample_names": "['demo.fa.gz', 'x.fasta', 'reads.fq', 'a.b.fna', 'y.fna.bz2', 'z.fa.xz'].collect { n -> sampleName(n) }.join(' ')",
        "trailing_comma": "groovy.json.JsonOutput.toJson(profileProblem('test,docker,', []))",
        "positional": "groovy.json.JsonOutput.toJson(profileProblem('test,docker', ['docker']))",
        "fine": "groovy.json.JsonOutput.toJson(profileProblem('test,docker', []))",
        "monochrome": "groovy.json.JsonOutput.toJson(logColours(true))",
        "colours": "logColours(false).red == '\\033[0;31m'",
        "no_profile": "noProfileWarning('virnucpro-nf/virnucpro-nf')",
        "hint": "errorHint('https://github.com/virnucpro-nf/virnucpro-nf', '/runs/x')",
    }
    return call_functions(calls, workdir)


def test_software_versions_in_multiqc_format(rendered):
    assert yaml.safe_load(rendered["versions"]) == {
        "EMBED_ESM": {"cuda": "None", "fair-esm": "", "torch": "2.11.0+cu126"},
        "MERGE": {"virnucpro": "it's 1.0"},
        "PREPARE": {"python": "3.11.7", "virnucpro": "0.1.0"},
        "Workflow": {"virnucpro-nf/virnucpro-nf": "v0.1.0-g1a2b3c4", "Nextflow": "25.10.4"},
    }
    assert rendered["versions"].splitlines()[0] == "EMBED_ESM:"  # processes sorted, the workflow last


def test_workflow_summary_is_a_multiqc_html_section(rendered):
    section = yaml.safe_load(rendered["summary"])
    assert section["id"] == "virnucpro-nf-virnucpro-nf-summary"  # the id that assets/multiqc_config.yml orders
    assert section["plot_type"] == "html" and section["section_name"] == "virnucpro-nf/virnucpro-nf Workflow Summary"
    html = section["data"]
    assert "<dt>outdir</dt><dd><samp>&lt;results &amp; more&gt;</samp></dd>" in html  # escaped
    assert "<dt>dnabert_s</dt><dd><samp><span" in html and "N/A" in html
    assert "Empty group" not in html and html.index("Input/output options") < html.index("Model options")


def test_methods_description_renders_the_run_and_the_references(rendered):
    section = yaml.safe_load(rendered["methods"])
    mqc = yaml.safe_load((ROOT / "assets" / "multiqc_config.yml").read_text())
    assert section["id"] in mqc["report_section_order"] and section["plot_type"] == "html"
    html = section["data"]
    assert "virnucpro-nf/virnucpro-nf v0.1.0" in html and "Nextflow v25.10.4" in html
    assert "<code>nextflow run virnucpro-nf/virnucpro-nf -profile gpu,docker --input s.csv</code>" in html
    for doi in ("10.1093/bib/bbaf224", "arxiv.org/abs/2402.08777", "10.1126/science.ade2574", "10.1093/bioinformatics/btw354",
                "10.1038/nbt.3820"):  # fmt: skip
        assert doi in html, doi
    assert "${" not in html and "no DOI has been minted yet" in html
    with_doi = yaml.safe_load(rendered["methods_doi"])["data"]
    assert "(doi: <a href='https://doi.org/10.5281/zenodo.1'>10.5281/zenodo.1</a>), (doi: <a" in with_doi
    assert "no DOI has been minted yet" not in with_doi


def test_version_and_sample_names(rendered):
    assert rendered["version_git"] == "v0.1.0-g1a2b3c4"
    assert rendered["version_v"] == "v2.0"
    assert rendered["sample_names"] == "demo x reads.fq a.b y z"
    from virnucpro.prepare import default_prefix  # the same names as virnucpro's own default prefix

    assert [default_prefix(n) for n in ("demo.fa.gz", "x.fasta", "a.b.fna", "y.fna.bz2", "z.fa.xz")] == [
        "demo",
        "x",
        "a.b",
        "y",
        "z",
    ]


def test_profile_checks(rendered):
    assert json.loads(rendered["trailing_comma"])["error"].startswith("-profile 'test,docker,' ends with a comma")
    positional = json.loads(rendered["positional"])
    assert positional["error"] is None and positional["warning"].startswith("Positional argument 'docker' ignored")
    assert json.loads(rendered["fine"]) == {"error": None, "warning": None}


def test_log_texts(rendered):
    assert set(json.loads(rendered["monochrome"]).values()) == {""}
    assert rendered["colours"] == "true"
    assert "No -profile and no -c config file" in rendered["no_profile"] and "nf-core/configs" in rendered["no_profile"]
    assert rendered["hint"].startswith("Pipeline failed.") and "/runs/x/.nextflow.log" in rendered["hint"]
    assert re.search(r"docs/usage\.md$", rendered["hint"])


def test_completion_emails(rendered):
    text = rendered["email_txt"]
    assert text.startswith("virnucpro-nf/virnucpro-nf v0.1.0\n") and "The run completed successfully." in text
    assert "Completed: 2026-01-02T10:00:00Z (duration: 1h 2m)" in text and "  outdir: <results & more>" in text
    assert "  Nextflow version: 25.10.4" in text and "FAILED" not in text
    failed = rendered["email_failed_txt"]
    assert "THE RUN FAILED (exit status 137)." in failed and "Command exit status: 137 <killed>" in failed
    html = rendered["email_html"]
    assert html.startswith("<!DOCTYPE html>") and "The run failed (exit status 137)" in html
    assert "Command exit status: 137 &lt;killed&gt;" in html and "<code>&lt;results &amp; more&gt;</code>" in html


def test_sendmail_message_attaches_a_small_report(rendered):
    message = rendered["sendmail"]
    assert message.startswith("To: me@example.org\nSubject: [virnucpro-nf/virnucpro-nf] Successful: happy_turing\n")
    parts = message.split("--virnucpro-nf-mime-boundary")
    assert parts[-1].strip() == "--" and len(parts) == 4  # header, html, attachment, closing
    assert 'Content-Disposition: attachment; filename="multiqc_report.html"' in parts[2]
    encoded = parts[2].split("\n\n", 1)[1].strip()
    import base64

    assert base64.b64decode(encoded.replace("\n", "")).decode() == "<html>" + "x" * 200 + "</html>"
    assert max(len(line) for line in encoded.splitlines()) == 76
    assert "attachment" not in rendered["sendmail_large"]  # larger than --max_multiqc_email_size
