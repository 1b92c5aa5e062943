"""The MultiQC custom-content file of `report` (and so of `virnucpro run`), read by the real MultiQC (PyPI).

The pipeline's MULTIQC process, fed by the REPORT script blocks of two samples, is run in test_nextflow_scripts.py.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA
from virnucpro.multiqc import COLUMNS, TABLE_ID, custom_content_name

MODELS = DATA / "models"
MODEL_ARGS = ["--dnabert", MODELS / "dnabert_s", "--esm", MODELS / "esm2_t2_64_test.pt",
              "--classifier", MODELS / "500_model.pth"]  # fmt: skip


def expected_row(summary: dict) -> dict[str, int]:
    """The table row the custom content must hold: the counts of summary.json."""
    return {"sequences": summary["sequences"], **summary["calls"], "chunks": summary["chunks"],
            "viral_chunks": summary["viral_chunks"], "frames": summary["frames"]}  # fmt: skip


def test_report_writes_the_counts_as_custom_content(cli, tmp_path):
    fixtures = DATA / "nextflow"
    result = cli("report", "--predictions", fixtures / "demo.prediction_results.tsv",
                 "--chunks", fixtures / "demo.chunks.tsv", "--outdir", tmp_path)  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads((tmp_path / "demo_virnucpro_mqc.json").read_text())
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert document["data"] == {"demo": expected_row(summary)}
    # and the same counts derived from the per-sequence table and the predictions
    contigs = list(csv.DictReader((tmp_path / "contig_summary.tsv").open(), delimiter="\t"))
    calls = [row["call"] for row in contigs]
    assert document["data"]["demo"] == {
        "sequences": len(contigs), "virus": calls.count("virus"), "others": calls.count("others"),
        "no_prediction": calls.count("no_prediction"), "chunks": sum(int(row["chunks"]) for row in contigs),
        "viral_chunks": sum(int(row["viral_chunks"]) for row in contigs),
        "frames": len((fixtures / "demo.prediction_results.tsv").read_text().splitlines()) - 1,
    }  # fmt: skip
    assert min(document["data"]["demo"].values()) > 0
    assert (document["id"], document["plot_type"], document["pconfig"]["id"]) == ("virnucpro", "table", TABLE_ID)
    assert list(document["headers"]) == list(document["data"]["demo"]) == list(COLUMNS)
    assert not list(tmp_path.glob(".*tmp*"))  # written through a temporary name


def multiqc(*args: object, cwd: Path) -> Path:
    """Run the real MultiQC from the test environment; return its multiqc_data directory."""
    executable = shutil.which("multiqc", path=str(Path(sys.executable).parent)) or shutil.which("multiqc")
    assert executable, "multiqc is a test dependency (pip install -e '.[test]')"
    done = subprocess.run([executable, "--force", "--no-ansi", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return cwd / "multiqc_data"


def read_table(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row.pop("Sample"): row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.mark.slow
def test_multiqc_tables_two_samples_of_virnucpro_run(tmp_path):
    """Single-machine users: `virnucpro run` per sample, then `multiqc` over the runs' report directories."""
    from virnucpro.cli import main

    inputs = {
        "s06_genome_like": DATA / "reference" / "s06_genome_like.fa",
        "no_frames": DATA / "nextflow" / "no_frames.fa",
    }
    for name, fasta in inputs.items():
        args = ["run", "--input", fasta, "--outdir", tmp_path / name, "-q", *MODEL_ARGS]
        assert main([str(a) for a in args]) == 0
        assert (tmp_path / name / "report" / name / custom_content_name(name)).is_file()
    data = multiqc(*(tmp_path / name / "report" for name in inputs), cwd=tmp_path)
    table = read_table(data / f"multiqc_{TABLE_ID}.txt")
    assert sorted(table) == sorted(inputs)
    for name in inputs:
        summary = json.loads((tmp_path / name / "report" / name / "summary.json").read_text())
        assert {key: int(float(value)) for key, value in table[name].items()} == expected_row(summary)
    assert table["no_frames"]["no_prediction"] == table["no_frames"]["sequences"] != "0"
