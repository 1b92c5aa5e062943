"""Classifier loading: the published pickle format through an allow-list, export to safetensors, refusals."""

from __future__ import annotations

import os
import pickle
import zipfile

import pytest
import torch

from virnucpro.models.classifier import MLPClassifier, load_classifier, published_chunk_size
from virnucpro.testmodels.classifier import build_classifier, save_published_style


def test_published_pickle_names_main_mlpclassifier(tmp_path):
    path = save_published_style(build_classifier(64, 16), tmp_path / "500_model.pth")
    with zipfile.ZipFile(path) as archive:
        data = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    assert b"c__main__\nMLPClassifier\n" in data
    assert MLPClassifier.__module__ == "virnucpro.models.classifier"  # restored after saving


def test_published_pickle_loads_in_eval_mode_with_the_same_outputs(tmp_path):
    model = build_classifier(64, 16, seed=2)
    loaded = load_classifier(save_published_style(model, tmp_path / "300_model.pth"))
    assert isinstance(loaded, MLPClassifier) and not loaded.training
    x = torch.randn(7, 64)
    assert torch.equal(loaded(x), model(x))


def test_export_round_trip(cli, tmp_path):
    model = build_classifier(64, 16, seed=3)
    source = save_published_style(model, tmp_path / "500_model.pth")
    result = cli("export-classifier", source, tmp_path / "clf.safetensors")
    assert result.code == 0, result.stderr
    exported = load_classifier(tmp_path / "clf.safetensors")
    x = torch.randn(5, 64)
    assert torch.equal(exported(x), model(x))
    assert published_chunk_size(tmp_path / "clf.safetensors") == 500
    assert published_chunk_size(source) == 500


class Payload:
    """Pickles to a call of os.system: what a malicious model file does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(cli, tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "500_model.pth"
    torch.save({"hidden_layer.weight": Payload(marker)}, path)
    result = cli("predict", "--merged", tmp_path / "none.pt", "--classifier", path, "--output", tmp_path / "p.tsv")
    assert result.code == 1
    assert result.stderr == (
        f"virnucpro predict: error: {path}: refused: the file references posix.system, which a VirNucPro classifier "
        "never contains (nothing in it was executed)\n"
    )
    assert not marker.exists()
    assert not (tmp_path / "p.tsv").exists()


def test_other_classes_are_refused(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2)), path)
    with pytest.raises(Exception, match=r"refused: the file references torch\.nn\.modules\.container\.Sequential"):
        load_classifier(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a model", "neither a torch checkpoint nor a safetensors file"),
        (pickle.dumps({"a": 1}), "neither a torch checkpoint nor a safetensors file"),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "x.pth"
    path.write_bytes(content)
    with pytest.raises(Exception, match=message):
        load_classifier(path)
