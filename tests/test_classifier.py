"""Classifier loading: the published pickle format through an allow-list, export to safetensors, refusals."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import zipfile

import pytest
import torch

from tests.conftest import ROOT
from virnucpro.models.classifier import MLPClassifier, load_classifier, published_chunk_size
from virnucpro.testmodels.classifier import build_classifier, save_published_style

# A training script in the style of the original train.py: the class lives in the script's __main__.
TRAINING_SCRIPT = """
import sys
import torch
import torch.nn.functional as F
from torch import nn


class MLPClassifier(nn.Module):
    def __init__(self, input_dim, hidden_dim, num_class):
        super(MLPClassifier, self).__init__()
        self.hidden_layer = nn.Linear(input_dim, hidden_dim)
        self.bn1 = nn.BatchNorm1d(hidden_dim)
        self.output_layer = nn.Linear(hidden_dim, num_class)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        return self.output_layer(self.dropout(F.relu(self.bn1(self.hidden_layer(x)))))


model = MLPClassifier(64, 16, 2)
model.load_state_dict(torch.load(sys.argv[1], weights_only=True))
model.eval()
torch.save(model, sys.argv[2])
"""


def archive_records(path):
    with zipfile.ZipFile(path) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_builder_writes_the_pickle_a_training_script_writes(tmp_path):
    model = build_classifier(64, 16, seed=1)
    (tmp_path / "ours").mkdir()
    ours = save_published_style(model, tmp_path / "ours" / "500_model.pth")
    torch.save(model.state_dict(), tmp_path / "state.pt")
    script = tmp_path / "train.py"
    script.write_text(TRAINING_SCRIPT)
    (tmp_path / "script").mkdir()
    theirs = tmp_path / "script" / "500_model.pth"
    subprocess.run([sys.executable, script, tmp_path / "state.pt", theirs], check=True)
    assert archive_records(ours) == archive_records(theirs)  # data.pkl and every tensor record
    assert b"c__main__\nMLPClassifier\n" in archive_records(ours)["data.pkl"]
    assert sorted(torch.serialization.get_unsafe_globals_in_checkpoint(ours)) == [
        "__main__.MLPClassifier",
        "torch.nn.modules.batchnorm.BatchNorm1d",
        "torch.nn.modules.dropout.Dropout",
        "torch.nn.modules.linear.Linear",
    ]
    assert MLPClassifier.__module__ == "virnucpro.models.classifier"
    assert not hasattr(sys.modules["__main__"], "MLPClassifier")


def test_published_pickle_loads_in_eval_mode_with_the_same_outputs(tmp_path):
    model = build_classifier(64, 16, seed=2)
    model.bn1.eps = 1e-3  # read from the file, not assumed
    loaded = load_classifier(save_published_style(model.train(), tmp_path / "300_model.pth"))
    assert type(loaded) is MLPClassifier and not loaded.training and loaded.bn1.eps == 1e-3
    x = torch.randn(7, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))


def test_plain_state_dict_loads(tmp_path):
    model = build_classifier(64, 16, seed=5)
    torch.save(model.state_dict(), tmp_path / "state.pt")
    x = torch.randn(3, 64)
    with torch.no_grad():
        assert torch.equal(load_classifier(tmp_path / "state.pt")(x), model(x))


def test_export_round_trip(cli, tmp_path):
    model = build_classifier(64, 16, seed=3)
    model.bn1.eps = 1e-4
    source = save_published_style(model, tmp_path / "500_model.pth")
    result = cli("export-classifier", source, tmp_path / "clf.safetensors")
    assert result.code == 0, result.stderr
    exported = load_classifier(tmp_path / "clf.safetensors")
    x = torch.randn(5, 64)
    with torch.no_grad():
        assert torch.equal(exported(x), model(x))
    assert published_chunk_size(tmp_path / "clf.safetensors") == 500
    assert published_chunk_size(source) == 500
    from safetensors import safe_open

    with safe_open(str(tmp_path / "clf.safetensors"), framework="pt") as handle:
        assert handle.metadata() == {"format": "virnucpro-classifier", "input_dim": "64", "bn1_eps": "0.0001",
                                     "chunk_size": "500"}  # fmt: skip
    assert cli("export-classifier", source, tmp_path / "any.safetensors", "--chunk-size", "300").code == 0
    assert published_chunk_size(tmp_path / "any.safetensors") == 300


class Payload:
    """Pickles to a call of os.system: what a malicious model file does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvalPayload(Payload):
    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w')",))


def nested_in_a_real_classifier(path, marker):
    model = build_classifier(8, 4)
    model.dropout.p = Payload(marker)  # pickled inside an otherwise genuine MLPClassifier
    save_published_style(model, path)


def legacy_format(path, marker):
    torch.save({"hidden_layer.weight": Payload(marker)}, path, _use_new_zipfile_serialization=False)


def raw_pickle(path, marker):
    path.write_bytes(pickle.dumps(Payload(marker), protocol=2))


MALICIOUS = [
    (lambda path, marker: torch.save({"hidden_layer.weight": Payload(marker)}, path), "posix.system"),
    (lambda path, marker: torch.save([EvalPayload(marker)], path), "eval"),
    (nested_in_a_real_classifier, "posix.system"),
    (legacy_format, "posix.system"),
    (raw_pickle, "posix.system"),
]


@pytest.mark.parametrize(("write", "name"), MALICIOUS)
def test_malicious_pickle_is_refused_and_never_runs(cli, tmp_path, write, name):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "500_model.pth"
    write(path, marker)
    assert not marker.exists()
    features = tmp_path / "m.pt"
    torch.save({"ids": ["a"], "data": torch.zeros(1, 8)}, features)
    result = cli("predict", "--merged", features, "--classifier", path, "--output", tmp_path / "p.tsv")
    assert (result.code, result.stderr) == (
        1,
        f"virnucpro predict: error: {path}: refused: the file references {name}, which a VirNucPro classifier "
        "never contains (nothing in it was executed)\n",
    )
    assert not marker.exists()
    assert not (tmp_path / "p.tsv").exists()


def test_payload_in_a_subprocess_never_runs(tmp_path):
    """The same check in a fresh interpreter whose __main__ has no MLPClassifier, as `virnucpro predict` runs."""
    marker = tmp_path / "payload-ran"
    path = tmp_path / "500_model.pth"
    nested_in_a_real_classifier(path, marker)
    code = f"from virnucpro.cli import main; raise SystemExit(main(['export-classifier', {str(path)!r}, 'x.st']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert done.returncode == 1 and "refused: the file references posix.system" in done.stderr
    assert not marker.exists() and not (tmp_path / "x.st").exists()


def replace_pickle(path, data_pkl: bytes):
    """A torch archive whose data.pkl is `data_pkl`: for pickles torch.save would never write."""
    torch.save({}, path)
    with zipfile.ZipFile(path) as archive:
        records = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in records.items():
            archive.writestr(name, data_pkl if name.endswith("data.pkl") else data)
    return path


@pytest.mark.parametrize(
    ("data_pkl", "message"),
    [
        # MLPClassifier(5): calling an allowed class with arguments (a huge layer would exhaust memory)
        (b"\x80\x02c__main__\nMLPClassifier\nK\x05\x85R.",
         "refused: not a plain pickled VirNucPro classifier (__main__.MLPClassifier is called with arguments)"),
        (b"\x80\x02c__main__\nMLPClassifier\n)\x81K\x05b.",
         "refused: not a plain pickled VirNucPro classifier (__main__.MLPClassifier: unexpected pickled state int)"),
        (b"\x80\x02ctorch.nn.modules.activation\nReLU\n)\x81.",
         "refused: the file references torch.nn.modules.activation.ReLU, which a VirNucPro classifier never "
         "contains (nothing in it was executed)"),
        (b"\x80\x02ctorch.nn.modules.linear\nLinear\n)\x81}b.", "holds a torch.nn.modules.linear.Linear, not a VirNucPro classifier"),
        (b"\x80\x02c__main__\nMLPClassifier\n)\x81}X\x08\x00\x00\x00_modules}sb.",
         "not a VirNucPro classifier (layers [], expected ['bn1', 'dropout', 'hidden_layer', 'output_layer'])"),
    ],
)  # fmt: skip
def test_crafted_pickles_are_refused(tmp_path, data_pkl, message):
    path = replace_pickle(tmp_path / "model.pth", data_pkl)
    with pytest.raises(Exception, match="^" + re.escape(f"{path}: {message}") + "$"):
        load_classifier(path)


def test_other_classes_are_refused(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2)), path)
    with pytest.raises(Exception, match=r"refused: the file references torch\.nn\.modules\.container\.Sequential"):
        load_classifier(path)


def test_wrong_shapes_and_class_counts(tmp_path):
    model = build_classifier(64, 16)
    state = model.state_dict()
    state["bn1.running_mean"] = torch.zeros(15)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(Exception, match=r"bad\.pt: weights do not fit the classifier \(Error\(s\) in loading .*"
                                        r"size mismatch for bn1\.running_mean"):  # fmt: skip
        load_classifier(tmp_path / "bad.pt")
    three = MLPClassifier(64, 16, 3)
    torch.save(three.state_dict(), tmp_path / "three.pt")
    with pytest.raises(
        Exception, match=r"three\.pt: the classifier has 3 classes; VirNucPro's has 2 \(others, virus\)$"
    ):
        load_classifier(tmp_path / "three.pt")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a model", "neither a torch checkpoint nor a safetensors file"),
        (pickle.dumps({"a": 1}), "neither a torch checkpoint nor a safetensors file"),
        (b"", "neither a torch checkpoint nor a safetensors file"),
        (b"PK\x03\x04 truncated", "x.pth: not a readable torch checkpoint \\(PytorchStreamReader failed reading zip archive: "
                                  "not a ZIP archive\\)$"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}\x00\x00\x00\x00\x00\x00\x00\x00\x00",
         "not a readable safetensors file"),
    ],
)  # fmt: skip
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "x.pth"
    path.write_bytes(content)
    with pytest.raises(Exception, match=message):
        load_classifier(path)


def test_foreign_safetensors_and_missing_file(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(Exception, match="a safetensors file, but not one written by `virnucpro export-classifier`"):
        load_classifier(tmp_path / "other.safetensors")
    with pytest.raises(Exception, match=f"^{tmp_path / 'none.pth'}: no such file$"):
        load_classifier(tmp_path / "none.pth")
