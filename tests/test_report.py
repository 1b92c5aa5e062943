"""report: the original consensus byte for byte, per-sequence calls, and a self-contained HTML page."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import REFERENCE
from tests.prepare_helpers import read_one_line_fasta

CASES = ["s01_random_lengths", "s02_open_frames", "s03_case_and_iupac", "s06_genome_like", "s07_many_short"]


def chunks_table_from_reference(case: str, length: int, path):
    """A chunks table for the reference chunk file (coordinates are not needed by the consensus)."""
    identified = {line[1:-2] for line in (REFERENCE / f"{case}.chunked{length}.identified_protein.faa").read_text().split()
                  if line.startswith(">")}  # fmt: skip
    rows = ["chunk_id\tcontig_id\tstart\tend\tlength\tframes"]
    for chunk_id, sequence in read_one_line_fasta(REFERENCE / f"{case}.chunked{length}.fa"):
        if chunk_id in {r.split("\t")[0] for r in rows}:
            continue  # s04 repeats an ID; the original merges its chunks
        frames = "F1" if chunk_id in identified else ""
        rows.append(f"{chunk_id}\t{chunk_id.rsplit('_chunk_', 1)[0]}\t0\t{len(sequence)}\t{len(sequence)}\t{frames}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("length", [300, 500])
@pytest.mark.parametrize("case", CASES)
def test_consensus_is_byte_identical_to_the_original(cli, tmp_path, case, length):
    chunks = chunks_table_from_reference(case, length, tmp_path / f"{case}.chunks.tsv")
    result = cli("report", "--predictions", REFERENCE / f"{case}.chunked{length}.prediction_results.txt",
                 "--chunks", chunks, "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 0, result.stderr
    produced = (tmp_path / "out" / "prediction_results_highestscore.tsv").read_bytes()
    assert produced == (REFERENCE / f"{case}.chunked{length}.prediction_results_highestscore.csv").read_bytes()


@pytest.mark.parametrize("length", [300, 500])
def test_consensus_with_repeated_ids_matches_the_original(cli, tmp_path, length):
    """s04 repeats an input ID, so its frames repeat IDs too: the consensus function still matches the original
    (it groups them, as the original does), while `report` refuses such predictions (predict never writes them)."""
    from virnucpro.report import consensus_table

    predictions = REFERENCE / f"s04_headers_duplicates.chunked{length}.prediction_results.txt"
    expected = (REFERENCE / f"s04_headers_duplicates.chunked{length}.prediction_results_highestscore.csv").read_text()
    assert consensus_table(predictions) == expected
    chunks = chunks_table_from_reference("s04_headers_duplicates", length, tmp_path / "s04.chunks.tsv")
    result = cli("report", "--predictions", predictions, "--chunks", chunks, "--outdir", tmp_path / "out")
    assert result.code == 1
    assert result.stderr.endswith(": 'same_id_chunk_1F1' occurs twice\n")


PREDICTIONS = """Sequence_ID\tPrediction\tscore1\tscore2
phage_chunk_1F1\tvirus\t0.2\t0.8
phage_chunk_1R2\tothers\t0.9\t0.1
phage_chunk_2F3\tvirus\t0.4\t0.6
host_chunk_1F2\tothers\t0.7\t0.3
host_chunk_2R1\tvirus\t0.45\t0.55
host_chunk_3F1\tothers\t0.8\t0.2
tie_chunk_1F1\tothers\t0.5\t0.5
"""
CHUNKS = """chunk_id\tcontig_id\tstart\tend\tlength\tframes
phage_chunk_1\tphage\t0\t500\t500\tF1,R2
phage_chunk_2\tphage\t250\t751\t501\tF3
host_chunk_1\thost\t0\t500\t500\tF2
host_chunk_2\thost\t500\t1000\t500\tR1
host_chunk_3\thost\t1000\t1500\t500\tF1
host_chunk_4\thost\t1500\t2000\t500\t
<b>&odd_chunk_1\t<b>&odd\t0\t120\t120\t
tie_chunk_1\ttie\t0\t300\t300\tF1
"""


@pytest.fixture
def small_report(cli, tmp_path):
    (tmp_path / "p.tsv").write_text(PREDICTIONS)
    (tmp_path / "demo.chunks.tsv").write_text(CHUNKS)
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "demo.chunks.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 0, result.stderr
    return tmp_path / "out"


def test_contig_summary_has_every_sequence_in_input_order(small_report):
    assert (small_report / "contig_summary.tsv").read_text() == (
        "contig_id\tlength\tchunks\tchunks_with_frames\tviral_chunks\tmax_virus_score\tmean_virus_score\tcall\n"
        "phage\t751\t2\t2\t1\t0.800000\t0.700000\tvirus\n"  # chunk 1: max P(virus) 0.8 < max P(others) 0.9
        "host\t2000\t4\t3\t1\t0.550000\t0.350000\tothers\n"
        "<b>&odd\t120\t1\t0\t0\tNA\tNA\tno_prediction\n"
        "tie\t300\t1\t1\t1\t0.500000\t0.500000\tvirus\n"
    )
    assert (small_report / "prediction_results_highestscore.tsv").read_text() == (
        "Modified_ID\tIs_Virus\nhost_chunk_1\tFalse\nhost_chunk_2\tTrue\nhost_chunk_3\tFalse\n"
        "phage_chunk_1\tFalse\nphage_chunk_2\tTrue\ntie_chunk_1\tTrue\n"
    )


def test_summary_json(small_report):
    summary = json.loads((small_report / "summary.json").read_text())
    assert {k: v for k, v in summary.items() if k != "call_rule"} == {
        "name": "demo", "sequences": 4, "calls": {"virus": 2, "others": 1, "no_prediction": 1}, "chunks": 8,
        "chunks_with_frames": 6, "chunks_predicted": 6, "viral_chunks": 3, "frames": 7, "frames_virus": 3,
        "chunk_size": 501,
    }  # fmt: skip


def test_html_is_self_contained_escaped_and_complete(small_report):
    html = (small_report / "report.html").read_text()
    assert not re.search(r"(src|href)=|https?://|@import", html)
    assert "&lt;b&gt;&amp;odd" in html and "<b>&odd" not in html
    assert html.count("<tr>") == 5  # header + 4 sequences
    assert html.count('class="track"') == 3  # sequences with a prediction
    assert "<svg" in html and "addEventListener('click'" in html
    assert "VirNucPro report: demo" in html


def test_report_is_deterministic(cli, small_report, tmp_path):
    again = tmp_path / "again"
    assert cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "demo.chunks.tsv",
               "--outdir", again).code == 0  # fmt: skip
    for name in ("prediction_results_highestscore.tsv", "contig_summary.tsv", "summary.json", "report.html"):
        assert (again / name).read_bytes() == (small_report / name).read_bytes()


def test_no_kept_frame_gives_an_empty_but_valid_report(cli, tmp_path):
    (tmp_path / "p.tsv").write_text("Sequence_ID\tPrediction\tscore1\tscore2\n")
    (tmp_path / "x.chunks.tsv").write_text(
        "chunk_id\tcontig_id\tstart\tend\tlength\tframes\nr_chunk_1\tr\t0\t90\t90\t\n"
    )
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "x.chunks.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 0
    assert "no chunk has a stop-free frame" in result.stderr
    out = tmp_path / "out"
    assert (out / "prediction_results_highestscore.tsv").read_text() == "Modified_ID\tIs_Virus\n"
    assert (out / "contig_summary.tsv").read_text().splitlines()[1] == "r\t90\t1\t0\t0\tNA\tNA\tno_prediction"
    assert "No chunk has a stop-free frame" in (out / "report.html").read_text()


@pytest.mark.parametrize(
    ("predictions", "message"),
    [
        ("Sequence_ID\tPrediction\tscore1\tscore2\nghost_chunk_1F1\tvirus\t0.1\t0.9\n",
         "{p}: line 2: 'ghost_chunk_1F1' belongs to no chunk with kept frames in the chunks table"),
        ("Sequence_ID\tPrediction\tscore1\tscore2\nphage_chunk_1F1\tvirus\t0.1\t0.9\n",
         "{p}: 1 chunk(s) with kept frames have no prediction (first: 'phage_chunk_2'): a shard is missing from the predictions"),
        ("id\tscore\n", "{p}: not a predictions table (expected the header 'Sequence_ID\\tPrediction\\tscore1\\tscore2')"),
        ("Sequence_ID\tPrediction\tscore1\tscore2\nphage_chunk_1F1\tvirus\tx\t0.9\n",
         "{p}: line 2: expected Sequence_ID, Prediction and two scores"),
    ],
)  # fmt: skip
def test_inconsistent_inputs_are_errors(cli, tmp_path, predictions, message):
    (tmp_path / "p.tsv").write_text(predictions)
    (tmp_path / "c.chunks.tsv").write_text(
        "chunk_id\tcontig_id\tstart\tend\tlength\tframes\nphage_chunk_1\tphage\t0\t500\t500\tF1\n"
        "phage_chunk_2\tphage\t250\t751\t501\tF3\n"
    )
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "c.chunks.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert (result.code, result.stderr) == (1, f"virnucpro report: error: {message.format(p=tmp_path / 'p.tsv')}\n")
    assert not (tmp_path / "out").exists()
