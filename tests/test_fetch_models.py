"""fetch-models against a local HTTP server on 127.0.0.1 serving stand-in files."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from virnucpro import fetch_models as fm


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        QuietHandler.requests.append(self.path)
        if self.path.endswith("/short.bin"):  # promises more bytes than it sends
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"only ten b")
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    hub = root / "hf" / "zhihan1996" / "DNABERT-S" / "resolve" / "main"
    hub.mkdir(parents=True)
    (hub / "config.json").write_text('{"model_type": "bert"}')
    (hub / "tokenizer.json").write_text("{}")
    torch.save({"bert.embeddings.word_embeddings.weight": torch.zeros(2, 2)}, hub / "pytorch_model.bin")
    (hub / "bert_layers.py").write_text("# modelling code stand-in\n")
    for name in fm.ESM_FILES:
        (root / "esm" / name).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": {}, "cfg": {}}, root / "esm" / name)
    (root / "gh").mkdir()
    for name in fm.CLASSIFIER_BLOB_IDS:
        (root / "gh" / name).write_bytes(f"stand-in {name}".encode())
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    QuietHandler.requests = []
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield root, fm.Sources(f"{base}/hf", f"{base}/esm", f"{base}/gh")
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def stand_in_blob_ids(server, monkeypatch):
    root, _ = server
    ids = {name: fm.git_blob_id(root / "gh" / name) for name in fm.CLASSIFIER_BLOB_IDS}
    monkeypatch.setattr(fm, "CLASSIFIER_BLOB_IDS", ids)
    return ids


def test_git_blob_id_matches_git(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"hello\n")
    assert fm.git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object` of 'hello\n'


def test_fetches_everything_and_keeps_verified_files(server, stand_in_blob_ids, tmp_path):
    root, sources = server
    paths = fm.fetch_models(tmp_path / "models", sources)
    assert paths == {
        "dnabert": tmp_path / "models" / "dnabert_s",
        "esm": tmp_path / "models" / "esm2" / "esm2_t36_3B_UR50D.pt",
        "classifier_300": tmp_path / "models" / "classifier" / "300_model.pth",
        "classifier_500": tmp_path / "models" / "classifier" / "500_model.pth",
    }
    hub = root / "hf" / "zhihan1996" / "DNABERT-S" / "resolve" / "main"
    for name in ("config.json", "tokenizer.json", "pytorch_model.bin", "bert_layers.py"):
        assert (paths["dnabert"] / name).read_bytes() == (hub / name).read_bytes()
    assert not (paths["dnabert"] / "model.safetensors").exists()
    assert (paths["esm"]).read_bytes() == (root / "esm" / fm.ESM_FILES[0]).read_bytes()
    assert (paths["classifier_500"]).read_bytes() == b"stand-in 500_model.pth"
    assert not [p for p in (tmp_path / "models").rglob(".*")]  # no temporary files left
    QuietHandler.requests = []
    fm.fetch_models(tmp_path / "models", sources)
    # a second run downloads only what the hub lacked the first time (optional files)
    assert sorted(QuietHandler.requests) == sorted(
        f"/hf/zhihan1996/DNABERT-S/resolve/main/{name}"
        for name in ("tokenizer_config.json", "model.safetensors", "bert_padding.py", "configuration_bert.py",
                     "flash_attn_triton.py")
    )  # fmt: skip


def test_classifier_with_the_wrong_blob_id_is_refused(server, cli, tmp_path):
    _, sources = server
    result = cli("fetch-models", "--dest", tmp_path / "m", "--hf-endpoint", sources.hf_endpoint,
                 "--esm-base-url", sources.esm_base_url, "--classifier-base-url", sources.classifier_base_url)  # fmt: skip
    found = fm.git_blob_id(server[0] / "gh" / "300_model.pth")
    assert result.code == 1
    assert result.stderr == (
        f"virnucpro fetch-models: error: {sources.classifier_base_url}/300_model.pth: git blob id {found} does not "
        f"match the published a0b5b85e7c1e44f00cde146d091beb82b2c8e855; the file was not kept\n"
    )
    assert not (tmp_path / "m" / "classifier" / "300_model.pth").exists()


def test_no_network_gives_a_clear_message(cli, tmp_path):
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    result = cli("fetch-models", "--dest", tmp_path, "--classifier-base-url", closed)
    assert result.code == 1
    assert result.stderr.startswith(f"virnucpro fetch-models: error: cannot reach {closed}/300_model.pth (")
    assert result.stderr.endswith(
        "); without a network, download the models elsewhere and pass their paths (see README, 'Real models')\n"
    )


def test_missing_required_file_and_incomplete_download(server, stand_in_blob_ids, tmp_path):
    root, sources = server
    (root / "esm" / fm.ESM_FILES[1]).unlink()
    with pytest.raises(fm.VirnucproError, match=r"/esm/regression/esm2_t36_3B_UR50D-contact-regression.pt: not found"):
        fm.fetch_models(tmp_path / "m", sources)
    with pytest.raises(fm.VirnucproError, match=r"short.bin is incomplete: 10 of 100 bytes$"):
        fm.download(f"{sources.esm_base_url}/short.bin", tmp_path / "short.bin")
    assert not (tmp_path / "short.bin").exists()


def test_esm_file_that_is_not_a_checkpoint_is_refused(server, stand_in_blob_ids, tmp_path):
    root, sources = server
    (root / "esm" / fm.ESM_FILES[0]).write_text("<html>login page</html>")
    with pytest.raises(
        fm.VirnucproError, match=r"esm2_t36_3B_UR50D.pt: not a torch checkpoint archive; the file was not kept"
    ):
        fm.fetch_models(tmp_path / "m", sources)
    assert not Path(tmp_path / "m" / "esm2" / "esm2_t36_3B_UR50D.pt").exists()
