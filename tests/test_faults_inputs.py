"""Fault injection, hostile names and paths, wrong or damaged data given to each step (issue 13).

Every case: the exit status, exactly one stderr line without a traceback, and nothing deleted, created or
half-written at a final path."""

from __future__ import annotations

import shutil

import pytest
import torch

from tests.conftest import DEMO, MODELS, RUN_ARGS
from tests.fault_helpers import files, one_line_error
from virnucpro.features import load_features, save_features


@pytest.fixture
def shared(tmp_path, clean_demo_run):
    """An outdir holding another sample's finished run, and a victim directory beside it."""
    out = tmp_path / "work" / "out"
    shutil.copytree(clean_demo_run, out)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("not ours")
    return out


HOSTILE_PREFIXES = [
    (".", "starts with '.'"),
    ("..", "starts with '.'"),
    ("../../../victim", "starts with '.'"),
    ("../victim", "starts with '.'"),
    ("sub/name", "holds a path separator"),
    ("/abs", "holds a path separator"),
    (".hidden", "starts with '.'"),
    ("", "is empty"),
    ("tab\there", "holds a control character"),
    ("new\nline", "holds a control character"),
    ("x" * 201, "is 201 bytes long; at most 200"),
    ("bad\udcffutf8", "is not UTF-8 text"),
]


@pytest.mark.parametrize(("prefix", "problem"), HOSTILE_PREFIXES)
def test_hostile_prefix_with_restart_deletes_nothing(cli, shared, prefix, problem):
    """The restart used to remove every sample's results, the outdir, or a directory outside it."""
    before = files(shared.parents[1])
    result = cli("run", "--input", DEMO, "--outdir", shared, "--prefix", prefix, "--restart", "-q", *RUN_ARGS)
    assert one_line_error(result, problem).startswith(f"virnucpro run: error: --prefix {prefix!r}: {problem}")
    assert files(shared.parents[1]) == before


@pytest.mark.parametrize(("prefix", "problem"), HOSTILE_PREFIXES[:6])
def test_hostile_prefix_in_prepare(cli, tmp_path, prefix, problem):
    result = cli("prepare", "--input", DEMO, "--outdir", tmp_path / "out", "--prefix", prefix)
    one_line_error(result, problem)
    assert not (tmp_path / "out").exists()


def test_input_names_that_make_no_prefix(cli, tmp_path):
    source = tmp_path / ".hidden.fa"
    source.write_text(">a\nACGT\n")
    result = cli("prepare", "--input", source, "--outdir", tmp_path / "out")
    one_line_error(result, "the name of '.hidden.fa' (use --prefix NAME): '.hidden': starts with '.'")


def test_glob_characters_in_names_touch_no_other_sample(cli, tmp_path):
    """Preparing 'sample[1].fa' or --prefix '*' into a shared outdir used to delete other samples' shards."""
    out = tmp_path / "shared"
    for name in ("s1", "sample1", "other"):
        source = tmp_path / f"{name}.fa"
        source.write_text(">a\nATGAAACCCGGGTTTAAA\n>b\nATGCCCAAATTTGGG\n")
        assert cli("prepare", "--input", source, "--outdir", out, "--shard-size", "1").code == 0
    before = files(out)
    glob_named = tmp_path / "sample[1].fa"
    glob_named.write_text(">a\nATGAAACCCGGGTTTAAA\n")
    for argv in (("--input", glob_named), ("--input", glob_named, "--prefix", "*"), ("--input", glob_named,
                                                                                   "--prefix", "s?")):  # fmt: skip
        result = cli("prepare", *argv, "--outdir", out, "-q")
        assert result.code == 0, result.stderr
    after = files(out)
    assert {k: v for k, v in after.items() if k in before} == before  # every other sample's file, untouched
    assert "sample[1].shard_00001.fna" in after and "*.manifest.tsv" in after and "s?.chunks.tsv" in after


def test_glob_prefix_restart_in_a_shared_outdir(cli, shared, clean_demo_run):
    """A restart of sample '*' removes its own outputs only."""
    before = files(shared)
    result = cli("run", "--input", DEMO, "--outdir", shared, "--prefix", "*", "--restart", "-q", *RUN_ARGS)
    assert result.code == 0, result.stderr
    after = files(shared)
    assert {k: v for k, v in after.items() if k in before and "pipeline_info" not in k} == {
        k: v for k, v in before.items() if "pipeline_info" not in k
    }
    assert (shared / "report" / "*" / "report.html").is_file()


def embeddings(clean, kind):
    return clean / f"embed_{kind}" / "demo" / f"demo.shard_00001.{kind}.pt"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["embed-esm", "--input", "{fna}", "--model", MODELS / "esm2_t2_64_test.pt", "--output", "{missing}/o.pt"],
         "{missing}/o.pt: cannot be written: the directory {missing} does not exist"),
        (["embed-dnabert", "--input", "{fna}", "--model", MODELS / "dnabert_s", "--output", "{tmp}"],
         "{tmp}: is a directory, expected a file name"),
        (["merge", "--dnabert", "{dnabert}", "--esm", "{esm}", "--output", "{missing}/m.pt"],
         "{missing}/m.pt: cannot be written: the directory {missing} does not exist"),
        (["predict", "--merged", "{merged}", "--classifier", MODELS / "500_model.pth", "--output", "{tmp}"],
         "{tmp}: is a directory, expected a file name"),
        (["report", "--predictions", "{predictions}", "--chunks", "{tmp}", "--outdir", "{tmp}/r"],
         "{tmp}: is a directory, expected a chunks table"),
        (["report", "--predictions", "{predictions}", "--chunks", "{chunks}", "--outdir", "{file}"],
         "{file}: exists and is not a directory"),
        (["report", "--predictions", "{latin1}", "--chunks", "{chunks}", "--outdir", "{tmp}/r"],
         "{latin1}: line 2 is not UTF-8 text: not a predictions table"),
        (["run", "--input", DEMO, "--outdir", "{file}", *RUN_ARGS], "{file}: exists and is not a directory"),
        (["run", "--input", "{tmp}", "--outdir", "{tmp}/o", *RUN_ARGS], "{tmp}: not a file"),
        (["merge", "--dnabert", "{esm}", "--esm", "{dnabert}", "--output", "{tmp}/m.pt"],
         "{esm}: holds ESM-2 embeddings, but --dnabert needs DNABERT-S embeddings (are --dnabert and --esm swapped?)"),
        (["merge", "--dnabert", "{dnabert}", "--esm", "{merged}", "--output", "{tmp}/m.pt"],
         "{merged}: holds merged features, but --esm needs ESM-2 embeddings"),
        (["predict", "--merged", "{esm}", "--classifier", MODELS / "500_model.pth", "--output", "{tmp}/p.tsv"],
         "{esm}: holds ESM-2 embeddings; predict needs merged features (virnucpro merge)"),
        (["embed-esm", "--input", "{fna}", "--model", MODELS / "esm2_t2_64_test.pt", "--output", "{tmp}/o.pt"],
         "{fna}: record 1 (ID 'phage_like_1_chunk_2R1'): a nucleotide sequence, not a protein: give the "
         "protein shard (.faa), not the nucleotide one (.fna)"),
        (["merge", "--dnabert", "{nan}", "--esm", "{esm}", "--output", "{tmp}/m.pt"],
         "{nan}: the row of ID 'phage_like_1_chunk_7F2' holds NaN: not a valid feature vector"),
        (["predict", "--merged", "{inf}", "--classifier", MODELS / "500_model.pth", "--output", "{tmp}/p.tsv"],
         "{inf}: the row of ID 'phage_like_1_chunk_8F3' holds infinity: not a valid feature vector"),
    ],
)  # fmt: skip
def test_step_refusals(cli, tmp_path, clean_demo_run, argv, message):
    """Each used to succeed with a wrong result or end in a traceback."""
    clean = clean_demo_run
    prepared = clean / "prepare" / "demo"
    ids, data = load_features(embeddings(clean, "dnabert"))
    broken = data.clone()
    broken[2, 5] = float("nan")
    save_features(tmp_path / "nan.pt", ids, broken, "DNABERT-S")
    merged_ids, merged = load_features(clean / "merge" / "demo" / "demo.shard_00001.merged.pt")
    broken = merged.clone()
    broken[3, 0] = float("inf")
    save_features(tmp_path / "inf.pt", merged_ids, broken)
    (tmp_path / "file").write_text("")
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes(b"Sequence_ID\tPrediction\tscore1\tscore2\nna\xefve_chunk_1F1\tvirus\t0.1\t0.9\n")
    names = {
        "fna": prepared / "demo.shard_00001.fna", "missing": tmp_path / "missing", "tmp": tmp_path,
        "dnabert": embeddings(clean, "dnabert"), "esm": embeddings(clean, "esm"),
        "merged": clean / "merge" / "demo" / "demo.shard_00001.merged.pt",
        "predictions": clean / "predict" / "demo" / "prediction_results.tsv", "chunks": prepared / "demo.chunks.tsv",
        "file": tmp_path / "file", "latin1": latin1, "nan": tmp_path / "nan.pt", "inf": tmp_path / "inf.pt",
    }  # fmt: skip
    before = files(tmp_path)
    result = cli(*(str(a).format(**names) for a in argv), "-q")
    assert one_line_error(result) == f"virnucpro {argv[0]}: error: {message.format(**names)}"
    assert files(tmp_path) == before  # nothing written, nothing left behind


def test_swapped_files_without_kind_records_at_the_published_widths(cli, tmp_path):
    """Files from elsewhere (no kind recorded) with DNABERT-S's 768 and ESM-2 3B's 2560 columns given the other way."""
    ids = ["a_chunk_1F1", "a_chunk_1F2"]
    save_features(tmp_path / "esm.pt", ids, torch.zeros(2, 2560))
    save_features(tmp_path / "dnabert.pt", ids, torch.zeros(2, 768))
    result = cli("merge", "--dnabert", tmp_path / "esm.pt", "--esm", tmp_path / "dnabert.pt", "--output",
                 tmp_path / "m.pt")  # fmt: skip
    one_line_error(result, "has 2560 features per row (ESM-2 3B's width)", "are --dnabert and --esm swapped?")
    assert not (tmp_path / "m.pt").exists()


def test_run_refuses_an_input_of_empty_records(cli, tmp_path):
    source = tmp_path / "empty.fa"
    source.write_text(">a\n>b\n")
    result = cli("run", "--input", source, "--outdir", tmp_path / "out", "-q", *RUN_ARGS)
    one_line_error(result, "all 2 record(s) are empty (headers without sequence): nothing to analyse")
    assert not list((tmp_path / "out").rglob("*.tsv"))


def test_dnabert_model_that_is_a_link_to_the_root(cli, tmp_path):
    """--dnabert pointing at '/' used to walk the whole file system and end in a traceback."""
    (tmp_path / "root").symlink_to("/")
    result = cli("run", "--input", DEMO, "--outdir", tmp_path / "out", "-q", *RUN_ARGS[:2], "--dnabert",
                 tmp_path / "root", *RUN_ARGS[4:])  # fmt: skip
    one_line_error(result, f"{tmp_path / 'root' / 'config.json'}: no such file")
    assert not (tmp_path / "out").exists()


def test_unmatched_quote_in_predictions_is_refused_by_report(cli, tmp_path):
    """pandas (the original's consensus) would read on from an opening '"' across lines: rows silently merged."""
    chunks = tmp_path / "x.chunks.tsv"
    chunks.write_text('chunk_id\tcontig_id\tstart\tend\tlength\tframes\n"a_chunk_1\t"a\t0\t9\t9\tF1\n'
                      "b_chunk_1\tb\t0\t9\t9\tF1\n")  # fmt: skip
    predictions = tmp_path / "p.tsv"
    predictions.write_text('Sequence_ID\tPrediction\tscore1\tscore2\n"a_chunk_1F1\tvirus\t0.1\t0.9\n'
                           "b_chunk_1F1\tothers\t0.9\t0.1\n")  # fmt: skip
    result = cli("report", "--predictions", predictions, "--chunks", chunks, "--outdir", tmp_path / "r")
    one_line_error(result, f"{predictions}: pandas ")
    assert not (tmp_path / "r").exists()


def test_input_fixed_after_prepare_failed(cli, tmp_path, clean_demo_run):
    """The corrected re-run used to be refused ("other input"); now it simply runs."""
    from tests.fault_helpers import assert_same_outputs

    source = tmp_path / "demo.fa"
    source.write_text(DEMO.read_text() + ">bad\nACGT7\n")
    out = tmp_path / "out"
    one_line_error(cli("run", "--input", source, "--outdir", out, "-q", *RUN_ARGS), "invalid character '7'")
    source.write_text(DEMO.read_text())
    assert cli("run", "--input", source, "--outdir", out, "-q", *RUN_ARGS).code == 0
    assert_same_outputs(out, clean_demo_run)
