"""report: the original consensus byte for byte, per-sequence calls, and a self-contained HTML page."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import REFERENCE
from virnucpro.prepare import prepare

PAIRS = sorted(p.name.removesuffix(".prediction_results.txt") for p in REFERENCE.glob("*.prediction_results.txt"))
DUPLICATE_IDS = {"s04_headers_duplicates"}  # prepare refuses repeated input IDs


def test_every_reference_pair_is_covered():
    assert len(PAIRS) == 12
    for stem in PAIRS:
        assert (REFERENCE / f"{stem}.prediction_results_highestscore.csv").is_file()


@pytest.mark.parametrize("stem", [s for s in PAIRS if s.split(".")[0] not in DUPLICATE_IDS])
def test_consensus_is_byte_identical_to_the_original(cli, tmp_path, stem):
    """The reference predictions with the chunks table prepare writes for the same input and chunk size."""
    case, size = stem.split(".chunked")
    prepare(REFERENCE / f"{case}.fa", tmp_path / "prep", case, int(size))
    chunks = tmp_path / "prep" / f"{case}.chunks.tsv"
    result = cli("report", "--predictions", REFERENCE / f"{stem}.prediction_results.txt", "--chunks", chunks,
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 0, result.stderr
    produced = (tmp_path / "out" / "prediction_results_highestscore.tsv").read_bytes()
    assert produced == (REFERENCE / f"{stem}.prediction_results_highestscore.csv").read_bytes()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["chunk_size"] == int(size)  # read from the prepare.json next to the chunks table
    sequences = {line.split("\t")[1] for line in chunks.read_text().splitlines()[1:]}
    contigs = [line.split("\t") for line in (tmp_path / "out" / "contig_summary.tsv").read_text().splitlines()[1:]]
    assert {row[0] for row in contigs} == sequences and len(contigs) == len(sequences)
    assert summary["viral_chunks"] == produced.count(b"\tTrue\n")


@pytest.mark.parametrize("size", [300, 500])
def test_consensus_with_repeated_ids_matches_the_original(cli, tmp_path, size):
    """s04 repeats input IDs, so its frames repeat IDs too, and it holds the quoting quirks: the consensus function
    still matches the original (it groups repeats, as the original does), while `report` refuses such predictions
    (predict never writes them)."""
    from virnucpro.report import consensus_table

    stem = f"s04_headers_duplicates.chunked{size}"
    predictions = REFERENCE / f"{stem}.prediction_results.txt"
    expected = (REFERENCE / f"{stem}.prediction_results_highestscore.csv").read_text()
    assert consensus_table(predictions) == expected
    chunks = tmp_path / "s04.chunks.tsv"
    rows = {}
    for line in predictions.read_text().splitlines()[1:]:
        chunk = line.split("\t")[0][:-2]
        rows.setdefault(chunk, set()).add(line.split("\t")[0][-2:])
    chunks.write_text("chunk_id\tcontig_id\tstart\tend\tlength\tframes\n" + "".join(
        f"{c}\t{c.rsplit('_chunk_', 1)[0]}\t0\t{size}\t{size}\t{','.join(sorted(f))}\n" for c, f in rows.items()
    ))  # fmt: skip
    result = cli("report", "--predictions", predictions, "--chunks", chunks, "--outdir", tmp_path / "out")
    assert result.code == 1
    assert re.fullmatch(r"virnucpro report: error: \S+: line \d+: 'same_id_chunk_1F\d' occurs twice\n", result.stderr)


def test_quoting_quirks_of_the_original(cli, tmp_path):
    """IDs with quotes: the consensus keeps pandas' reading and writing of them, the per-sequence table the raw ID."""
    (tmp_path / "p.tsv").write_text(
        'Sequence_ID\tPrediction\tscore1\tscore2\n"quoted"id_chunk_1F1\tvirus\t0.25\t0.75\n'
        'mid"quote_chunk_1R2\tothers\t0.75\t0.25\n'
    )
    (tmp_path / "q.chunks.tsv").write_text(
        'chunk_id\tcontig_id\tstart\tend\tlength\tframes\n"quoted"id_chunk_1\t"quoted"id\t0\t300\t300\tF1\n'
        'mid"quote_chunk_1\tmid"quote\t0\t300\t300\tR2\n'
    )
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "q.chunks.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 0, result.stderr
    assert (tmp_path / "out" / "prediction_results_highestscore.tsv").read_text() == (
        'Modified_ID\tIs_Virus\n"mid""quote_chunk_1"\tFalse\nquotedid_chunk_1\tTrue\n'
    )
    assert [line.split("\t")[0] for line in (tmp_path / "out" / "contig_summary.tsv").read_text().splitlines()] == [
        "contig_id", '"quoted"id', 'mid"quote'
    ]  # fmt: skip


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
    assert summary.pop("call_rule").startswith("virus when at least half of the sequence's chunks")
    histogram = [0] * 20
    for score in (0.8, 0.1, 0.6, 0.3, 0.55, 0.2, 0.5):
        histogram[int(score * 20)] += 1
    assert summary == {
        "name": "demo", "sequences": 4, "calls": {"virus": 2, "others": 1, "no_prediction": 1}, "chunks": 8,
        "chunks_with_frames": 6, "viral_chunks": 3, "frames": 7, "frames_virus": 3, "chunk_size": None,
        "longest_chunk": 501, "virus_score_histogram": histogram,
    }  # fmt: skip


def test_chunk_size_option(cli, small_report, tmp_path):
    assert cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "demo.chunks.tsv",
               "--outdir", tmp_path / "again", "--chunk-size", "500").code == 0  # fmt: skip
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["chunk_size"] == 500
    assert "500 bp chunks." in (tmp_path / "again" / "report.html").read_text()


def test_html_is_self_contained_escaped_and_complete(small_report):
    html = (small_report / "report.html").read_text()
    assert not re.search(r"(src|href)=|https?://|@import|url\(", html)
    assert "&lt;b&gt;&amp;odd" in html and "<b>&odd" not in html
    assert html.count("<tr>") == 5  # header + 4 sequences
    assert html.count('class="track"') == 2  # sequences of more than one chunk with a prediction: phage, host
    assert "<svg" in html and "addEventListener('click'" in html
    assert "VirNucPro report: demo" in html and "Chunks of up to 501 bp." in html


def test_report_is_deterministic(cli, small_report, tmp_path):
    again = tmp_path / "again"
    assert cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "demo.chunks.tsv",
               "--outdir", again).code == 0  # fmt: skip
    for name in ("prediction_results_highestscore.tsv", "contig_summary.tsv", "summary.json", "report.html"):
        assert (again / name).read_bytes() == (small_report / name).read_bytes()


def test_no_kept_frame_gives_an_empty_but_valid_report(cli, tmp_path):
    (tmp_path / "p.tsv").write_text("Sequence_ID\tPrediction\tscore1\tscore2\n")
    (tmp_path / "x.chunks.tsv").write_text(
        "chunk_id\tcontig_id\tstart\tend\tlength\tframes\nr_chunk_1\tr\t0\t90\t90\t\ns_chunk_1\ts\t0\t5\t5\t\n"
    )
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "x.chunks.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 0
    assert "no chunk has a stop-free frame" in result.stderr
    out = tmp_path / "out"
    assert (out / "prediction_results_highestscore.tsv").read_text() == "Modified_ID\tIs_Virus\n"
    assert (out / "contig_summary.tsv").read_text().splitlines()[1:] == [
        "r\t90\t1\t0\t0\tNA\tNA\tno_prediction", "s\t5\t1\t0\t0\tNA\tNA\tno_prediction"
    ]  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["calls"], summary["frames"]) == ({"virus": 0, "others": 0, "no_prediction": 2}, 0)
    assert "No chunk has a stop-free frame" in (out / "report.html").read_text()


def test_no_kept_frame_from_prepare_to_report(cli, tmp_path):
    """The original crashes on an input without a stop-free frame; prepare writes no shard and the predictions
    are the header alone (as `virnucpro run` writes them), and report succeeds."""
    (tmp_path / "masked.fa").write_text(">masked\n" + "N" * 360 + "\n")  # no codon translates
    assert prepare(tmp_path / "masked.fa", tmp_path / "prep", "masked", 300).frames == 0
    (tmp_path / "p.tsv").write_text("Sequence_ID\tPrediction\tscore1\tscore2\n")
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "prep" / "masked.chunks.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 0, result.stderr
    assert (tmp_path / "out" / "contig_summary.tsv").read_text().splitlines()[1] == (
        "masked\t360\t2\t0\t0\tNA\tNA\tno_prediction"
    )


TWO_CHUNKS = (
    "chunk_id\tcontig_id\tstart\tend\tlength\tframes\nphage_chunk_1\tphage\t0\t500\t500\tF1\n"
    "phage_chunk_2\tphage\t250\t751\t501\tF3,R1\n"
)
HEADER = "Sequence_ID\tPrediction\tscore1\tscore2\n"


@pytest.mark.parametrize(
    ("predictions", "chunks", "message"),
    [
        (HEADER + "ghost_chunk_1F1\tvirus\t0.1\t0.9\n", TWO_CHUNKS,
         "{p}: line 2: 'ghost_chunk_1F1' is not a kept frame of any chunk in the chunks table"),
        (HEADER + "phage_chunk_1F2\tvirus\t0.1\t0.9\n", TWO_CHUNKS,
         "{p}: line 2: 'phage_chunk_1F2' is not a kept frame of any chunk in the chunks table"),
        (HEADER + "phage_chunk_1F1\tvirus\t0.1\t0.9\nphage_chunk_2R1\tvirus\t0.1\t0.9\n", TWO_CHUNKS,
         "{p}: 1 kept frame(s) of the chunks table have no prediction (first: 'phage_chunk_2F3'): a shard is missing "
         "from the predictions"),
        (HEADER, TWO_CHUNKS,
         "{p}: 3 kept frame(s) of the chunks table have no prediction (first: 'phage_chunk_1F1'): a shard is missing "
         "from the predictions"),
        (HEADER + "phage_chunk_1F1\tvirus\t0.1\t0.9\nphage_chunk_1F1\tvirus\t0.1\t0.9\n", TWO_CHUNKS,
         "{p}: line 3: 'phage_chunk_1F1' occurs twice"),
        ("id\tscore\n", TWO_CHUNKS,
         "{p}: not a predictions table (expected the header 'Sequence_ID\\tPrediction\\tscore1\\tscore2')"),
        (HEADER + "phage_chunk_1F1\tvirus\tx\t0.9\n", TWO_CHUNKS, "{p}: line 2: expected Sequence_ID, Prediction and two scores"),
        (HEADER + "phage_chunk_1F1\tvirus\t0.1\n", TWO_CHUNKS, "{p}: line 2: expected Sequence_ID, Prediction and two scores"),
        (HEADER + "phage_chunk_1F1\tmaybe\t0.1\t0.9\n", TWO_CHUNKS, "{p}: line 2: expected virus/others and two probabilities"),
        (HEADER + "phage_chunk_1F1\tvirus\t0.1\tnan\n", TWO_CHUNKS, "{p}: line 2: expected virus/others and two probabilities"),
        (HEADER, "chunk_id\tcontig\n", "{c}: not a chunks table (expected the header "
                                       "'chunk_id\\tcontig_id\\tstart\\tend\\tlength\\tframes')"),
        (HEADER, TWO_CHUNKS + "x_chunk_1\tx\t0\tten\t10\t\n",
         "{c}: line 4: expected chunk_id, contig_id, start, end, length and frames (F1-F3, R1-R3)"),
        (HEADER, TWO_CHUNKS + "x_chunk_1\tx\t0\t10\t10\tF4\n",
         "{c}: line 4: expected chunk_id, contig_id, start, end, length and frames (F1-F3, R1-R3)"),
        (HEADER, TWO_CHUNKS + "phage_chunk_1\tphage\t0\t10\t10\t\n", "{c}: line 4: chunk 'phage_chunk_1' occurs twice"),
    ],
)  # fmt: skip
def test_inconsistent_inputs_are_errors(cli, tmp_path, predictions, chunks, message):
    (tmp_path / "p.tsv").write_text(predictions)
    (tmp_path / "c.chunks.tsv").write_text(chunks)
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "c.chunks.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    expected = message.format(p=tmp_path / "p.tsv", c=tmp_path / "c.chunks.tsv")
    assert (result.code, result.stderr) == (1, f"virnucpro report: error: {expected}\n")
    assert not (tmp_path / "out").exists()


def test_missing_files(cli, tmp_path):
    (tmp_path / "c.chunks.tsv").write_text(TWO_CHUNKS)
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "c.chunks.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert (result.code, result.stderr) == (1, f"virnucpro report: error: {tmp_path / 'p.tsv'}: no such file\n")
    result = cli("report", "--predictions", tmp_path / "p.tsv", "--chunks", tmp_path / "none.tsv",
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert (result.code, result.stderr) == (1, f"virnucpro report: error: {tmp_path / 'none.tsv'}: no such file\n")
