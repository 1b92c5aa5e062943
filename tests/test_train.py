"""`virnucpro train` / `evaluate` end to end on synthetic genomes, with the bundled (random-weight) test models.

Viral-like genomes use GC-rich codons, host-like genomes AT-rich ones: the random embedders still carry that
composition, so a classifier trained on the training frames separates them, and `predict` then scores a new
input with it. Also: determinism, the published .pth output, the recipe's rules, and one-line errors.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import DATA
from tests.train_helpers import synthetic_genome, write_fasta, write_genbank
from virnucpro.cli import main

MODELS = DATA / "models"
EPOCHS = "25"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The MLP's batches are tiny: more threads only add synchronisation (and stall on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def virnucpro(*args: object) -> None:
    assert main([str(a) for a in (*args, "-q")]) == 0, args


def featurise(fna: Path, gbff: Path | None, outdir: Path, name: str) -> list[Path]:
    """prepare (training mode when `gbff`), both embeddings and merge per shard; the merged files in order."""
    annotations = ["--annotations", gbff] if gbff else []
    virnucpro("prepare", "--input", fna, *annotations, "--outdir", outdir, "--prefix", name, "--chunk-size", 300,
              "--shard-size", 64)  # fmt: skip
    merged = []
    for row in (outdir / f"{name}.manifest.tsv").read_text().splitlines()[1:]:
        shard, fna_shard, faa_shard = row.split("\t")[0], outdir / row.split("\t")[3], outdir / row.split("\t")[4]
        stem = outdir / f"{name}.{shard}"
        virnucpro("embed-dnabert", "--input", fna_shard, "--model", MODELS / "dnabert_s", "--output", f"{stem}.dnabert.pt",
                  "--device", "cpu")  # fmt: skip
        virnucpro("embed-esm", "--input", faa_shard, "--model", MODELS / "esm2_t2_64_test.pt", "--output",
                  f"{stem}.esm.pt", "--device", "cpu")  # fmt: skip
        virnucpro(
            "merge", "--dnabert", f"{stem}.dnabert.pt", "--esm", f"{stem}.esm.pt", "--output", f"{stem}.merged.pt"
        )
        merged.append(Path(f"{stem}.merged.pt"))
    return merged


GENOMES = [  # name, label, group, GC-rich codons
    ("virus_a", "viral", "", True), ("virus_b", "viral", "", True), ("virus_c", "viral", "", True),
    ("bacterium", "host", "bacteria", False), ("fungus", "host", "fungi", False), ("plant", "host", "plant", False),
]  # fmt: skip


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """Training frames of six genomes, featurised; a labels table; two new genomes in prediction mode."""
    root = tmp_path_factory.mktemp("train")
    rng = random.Random(11)
    merged, rows = [], []
    for number, (name, label, group, gc_rich) in enumerate(GENOMES):
        genome = synthetic_genome(rng, f"NC_{number:06d}.1", 45_000, gc_rich)
        fna = write_fasta(root / f"{name}.genomic.fna", [genome])
        gbff = write_genbank(root / f"{name}.genomic.gbff", [genome])
        for path in featurise(fna, gbff, root / name, name):
            merged.append(path)
            rows.append(f"{path.name}\t{label}\t{group}")
    labels = root / "labels.tsv"
    labels.write_text("file\tlabel\tgroup\n" + "\n".join(rows) + "\n")
    new = [synthetic_genome(rng, "new_viral", 6_000, True), synthetic_genome(rng, "new_host", 6_000, False)]
    new_merged = featurise(write_fasta(root / "new.fa", new), None, root / "new", "new")
    return {"root": root, "merged": merged, "labels": labels, "new_merged": new_merged}


@pytest.fixture(scope="module")
def trained(features):
    out = features["root"] / "trained"
    virnucpro("train", "--merged", *features["merged"], "--labels", features["labels"], "--outdir", out,
              "--chunk-size", 300, "--max-epochs", EPOCHS, "--pth")  # fmt: skip
    return out


def test_training_separates_viral_from_host_frames(trained):
    summary = json.loads((trained / "training.json").read_text())
    assert summary["test"]["roc_auc"] >= 0.9, summary["test"]
    data = summary["data"]
    assert data["balanced"] and data["viral_rows"] == data["host_rows"] > 100
    assert data["test_rows"] == int(data["rows"] * 0.1) and data["train_rows"] == data["rows"] - data["test_rows"]
    groups = {g: v for g, v in data["groups"].items() if g != "viral"}  # spread evenly over the host groups
    assert (
        sorted(groups) == ["bacteria", "fungi", "plant"]
        and sum(v["used"] for v in groups.values()) == data["viral_rows"]
    )
    share = data["viral_rows"] // 3
    assert all(v["used"] in (v["rows"], share, share + 1, share + 2) and v["used"] >= min(v["rows"], share)
               for v in groups.values())  # fmt: skip
    rows = (trained / "metrics.tsv").read_text().splitlines()
    assert rows[0] == "epoch\tlr\ttrain_loss\ttest_loss\taccuracy\tprecision\trecall\tf1\troc_auc\timproved"
    assert len(rows) == 1 + summary["epochs"] and summary["epochs"] <= int(EPOCHS)
    lrs = [float(r.split("\t")[1]) for r in rows[1:]]
    assert lrs[0] == 2e-4 and (len(lrs) <= 10 or lrs[10] == pytest.approx(2e-4 * 0.85))  # StepLR(10, 0.85)
    best = next(r for r in rows[1:] if r.split("\t")[0] == str(summary["best_epoch"])).split("\t")
    assert float(best[3]) == pytest.approx(min(float(r.split("\t")[3]) for r in rows[1:]))


def test_the_trained_classifier_scores_a_new_input_through_predict(features, trained, cli, tmp_path):
    from safetensors import safe_open

    classifier = trained / "classifier.safetensors"
    with safe_open(str(classifier), framework="pt") as handle:
        metadata = handle.metadata()
    assert metadata["format"] == "virnucpro-classifier" and metadata["chunk_size"] == "300"
    assert metadata["input_dim"] == "128" and json.loads(metadata["recipe"])["lr"] == 2e-4
    assert json.loads(metadata["data"])["viral_rows"] > 100
    for model in (classifier, trained / "300_model.pth"):  # ours, and the published whole-module format
        output = tmp_path / f"{model.suffix[1:]}.tsv"
        result = cli("predict", "--merged", *features["new_merged"], "--classifier", model, "--output", output,
                     "--chunk-size", 300)  # fmt: skip
        assert result.code == 0 and "trained on" not in result.stderr, result.stderr
        rows = [line.split("\t") for line in output.read_text().splitlines()[1:]]
        virus = {"new_viral": [], "new_host": []}
        for name, _, _, score2 in rows:
            virus[name.split("_chunk_")[0]].append(float(score2))
        assert virus["new_viral"] and virus["new_host"]
        assert np.mean(virus["new_viral"]) > np.mean(virus["new_host"]) + 0.2, virus
    assert (tmp_path / "safetensors.tsv").read_text() == (tmp_path / "pth.tsv").read_text()


def test_same_inputs_and_seed_give_identical_weights(features, tmp_path):
    """On the CPU (with the same number of CPU threads: a matrix product may sum in another order on another count)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    runs = {}
    for name, seed in (("first", "42"), ("again", "42"), ("other_seed", "7")):
        runs[name] = tmp_path / name
        virnucpro("train", "--merged", *features["merged"], "--labels", features["labels"], "--outdir", runs[name],
                  "--chunk-size", 300, "--max-epochs", 6, "--seed", seed, "--device", "cpu")  # fmt: skip
    first, again = (str(runs[name] / "classifier.safetensors") for name in ("first", "again"))
    with safe_open(first, "pt") as a, safe_open(again, "pt") as b:
        assert a.metadata() == b.metadata() and sorted(a.keys()) == sorted(b.keys())
        for name in a.keys():  # noqa: SIM118 - not a dict
            assert torch.equal(a.get_tensor(name), b.get_tensor(name)), name
    for output in ("metrics.tsv", "training.json", "training_report.html"):
        assert (runs["first"] / output).read_text() == (runs["again"] / output).read_text(), output
    other = load_file(runs["other_seed"] / "classifier.safetensors")
    assert not torch.equal(load_file(first)["hidden_layer.weight"], other["hidden_layer.weight"])


def test_evaluate_reports_the_same_metrics_for_our_and_the_published_format(features, trained, cli, tmp_path):
    test_rows = json.loads((trained / "training.json").read_text())["data"]["rows"]
    for model in (trained / "classifier.safetensors", trained / "300_model.pth", MODELS / "300_model.pth"):
        out = tmp_path / model.parent.name / model.suffix[1:]
        result = cli("evaluate", "--merged", *features["merged"], "--labels", features["labels"], "--classifier", model,
                     "--outdir", out, "--chunk-size", 300)  # fmt: skip
        assert result.code == 0, result.stderr
        summary = json.loads((out / "evaluation.json").read_text())
        frames = summary["frames"]
        assert frames["rows"] == sum(1 for p in features["merged"] for _ in _ids(p)) >= test_rows
        assert set(frames) >= {"accuracy", "precision", "recall", "f1", "roc_auc", "average_precision"}
        assert summary["chunks"]["rows"] <= frames["rows"]
        scores = (out / "evaluation_scores.tsv").read_text().splitlines()
        assert scores[0] == "Sequence_ID\tPrediction\tscore1\tscore2\tfile\tlabel" and len(scores) == frames["rows"] + 1
        if model.parent == trained:
            assert frames["roc_auc"] >= 0.9
    ours, published = (
        json.loads((tmp_path / "trained" / k / "evaluation.json").read_text()) for k in ("safetensors", "pth")
    )
    assert ours["frames"] == published["frames"] and ours["chunks"] == published["chunks"]


def _ids(path):
    return torch.load(path, weights_only=True)["ids"]


def test_reports_are_self_contained_pages_with_the_plots(trained, tmp_path):
    import re
    from html.parser import HTMLParser

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.sources = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.sources += [v for k, v in attrs if k in ("src", "href") and v and not v.startswith("#")]

    html = (trained / "training_report.html").read_text()
    page = Collect()
    page.feed(html)
    assert page.sources == [] and "script" not in page.tags  # nothing fetched, nothing run
    assert html.count("<svg") == 4  # learning curves, test metrics, ROC, precision-recall
    for text in ("Learning curves", "ROC AUC", "average precision", "training loss", "test loss", "Recipe", "bacteria"):
        assert text in html, text
    assert not re.search(r"20\d\d-\d\d-\d\d", html)  # no date: a rerun writes the same page


def test_balancing_can_be_switched_off(features, tmp_path):
    virnucpro("train", "--merged", *features["merged"], "--labels", features["labels"], "--outdir", tmp_path,
              "--max-epochs", 1, "--no-balance")  # fmt: skip
    data = json.loads((tmp_path / "training.json").read_text())["data"]
    assert not data["balanced"] and data["host_rows"] > data["viral_rows"]
    assert all(f["used"] == f["rows"] for f in data["files"])


# --------------------------------------------------------------------------------------------------------- rules


def test_the_split_and_the_balancing_draw_follow_the_original():
    from virnucpro.training_data import original_split, share_out

    split = original_split(1000, 0.1, 42)
    indices = list(range(1000))
    random.seed(42)  # train.py: random.seed(42) at the top, then random.shuffle(indices)
    random.shuffle(indices)
    assert split.test.tolist() == indices[:100] and split.train.tolist() == indices[100:]
    assert share_out(700, [1000] * 7) == [100] * 7
    assert share_out(10, [100, 1, 100]) == [5, 1, 4]  # a small group gives its rest to the others
    assert share_out(10, [2, 3]) == [2, 3]  # fewer host rows than viral: all of them


def test_initialisation_is_the_originals(tmp_path):
    """nn.Linear's defaults, then Xavier-uniform weights, drawn from torch's generator in the original's order."""
    from torch import nn

    from virnucpro.recipe import Recipe
    from virnucpro.train import new_classifier

    torch.manual_seed(3)
    ours = new_classifier(3328, Recipe())
    torch.manual_seed(3)
    hidden, bn, output = nn.Linear(3328, 512), nn.BatchNorm1d(512), nn.Linear(512, 2)
    nn.init.xavier_uniform_(hidden.weight)
    nn.init.xavier_uniform_(output.weight)
    assert torch.equal(ours.hidden_layer.weight, hidden.weight) and torch.equal(ours.hidden_layer.bias, hidden.bias)
    assert torch.equal(ours.output_layer.weight, output.weight) and torch.equal(ours.output_layer.bias, output.bias)
    assert ours.dropout.p == 0.5 and bn.eps == ours.bn1.eps


# -------------------------------------------------------------------------------------------------------- errors


def test_bad_training_inputs_give_one_line(features, cli, tmp_path):
    merged, labels = features["merged"], features["labels"]
    table = labels.read_text()
    lines = table.splitlines()

    def write(name, text):
        path = tmp_path / name
        path.write_text(text)
        return path

    first = merged[0].name
    viral_only = write("viral.tsv", "\n".join(lines[:1] + [row for row in lines[1:] if "\tviral\t" in row]) + "\n")
    viral_files = [m for m in merged if f"{m.name}\tviral" in table]
    not_features = write("x.merged.pt", "not a torch file")
    cases = [
        ((merged, tmp_path / "none.tsv"), f"{tmp_path / 'none.tsv'}: no such file"),
        ((merged, write("h.tsv", "file,label,group\n")),
         f"{tmp_path / 'h.tsv'}: line 1: expected the header 'file<TAB>label<TAB>group', found 'file,label,group'"),
        ((merged, write("l.tsv", table.replace("\tviral\t", "\tvirus\t", 1))),
         f"{tmp_path / 'l.tsv'}: line 2: label 'virus' must be 'viral' or 'host'"),
        ((merged, write("g.tsv", table.replace("\tbacteria", "\tgram negative", 1))),
         f"{tmp_path / 'g.tsv'}: line {next(i for i, row in enumerate(lines, 1) if 'bacteria' in row)}: group 'gram negative' "
         "must be one word (letters, digits, '_', '-', '.'), for example bacteria"),
        ((merged, write("c.tsv", table.replace(f"{first}\tviral\t\n", f"{first}\tviral\n"))),
         f"{tmp_path / 'c.tsv'}: line 2: expected 3 tab-separated columns (file, label, group), found 2"),
        ((merged, write("d.tsv", table + lines[1] + "\n")),
         f"{tmp_path / 'd.tsv'}: line {len(lines) + 1}: {first!r} is listed twice (first on line 2)"),
        ((merged[1:], labels), f"{labels}: line 2: {first!r} is not among the --merged files"),
        (([*merged, not_features], labels), f"{not_features}: not listed in {labels} (its file column names each merged file)"),
        ((viral_files, viral_only), "training needs viral and host files: no host file is given"),
    ]  # fmt: skip
    for (files, table_path), message in cases:
        result = cli("train", "--merged", *files, "--labels", table_path, "--outdir", tmp_path / "out")
        assert (result.code, result.stderr) == (1, f"virnucpro train: error: {message}\n"), message
    result = cli("train", "--merged", *merged, not_features, "--labels", write("n.tsv", table + "x.merged.pt\thost\tplant\n"),
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 1 and result.stderr.count("\n") == 1  # the wording is load_features' own
    assert result.stderr.startswith(f"virnucpro train: error: {not_features}: not a readable features file ("), (
        result.stderr
    )
    result = cli(
        "train", "--merged", *merged, "--labels", labels, "--outdir", tmp_path / "o", "--test-fraction", "0.0001"
    )
    assert (
        result.code == 1 and "too few rows to train:" in result.stderr and "training and 0 test rows" in result.stderr
    )
    result = cli("train", "--merged", *merged, "--labels", labels, "--outdir", tmp_path / "o", "--batch-size", "1")
    assert (
        result.stderr == "virnucpro train: error: --batch-size must be at least 2 (BatchNorm needs two rows), got 1\n"
    )
    result = cli("train", "--merged", *merged, "--labels", labels, "--outdir", tmp_path / "o", "--dropout", "1")
    assert result.code == 2 and "argument --dropout: expected a number from 0 to below 1, got '1'" in result.stderr
    assert not list((tmp_path / "out").glob("*")) and not list((tmp_path / "o").glob("*"))  # nothing written


def test_evaluate_refuses_a_classifier_of_another_width(features, cli, tmp_path):
    from virnucpro.testmodels.classifier import build_classifier, save_published_style

    wide = save_published_style(build_classifier(3328), tmp_path / "500_model.pth")
    one = features["merged"][0]
    (tmp_path / "one.tsv").write_text(f"file\tlabel\tgroup\n{one.name}\tviral\t\n")
    result = cli("evaluate", "--merged", one, "--labels", tmp_path / "one.tsv", "--classifier", wide,
                 "--outdir", tmp_path / "out")  # fmt: skip
    assert result.code == 1
    assert result.stderr.endswith(f"128 features per row, but {wide} expects 3328\n"), result.stderr
