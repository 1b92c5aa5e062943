"""Download the real models once, where a network exists, and verify what can be verified.

  DNABERT-S   Hugging Face snapshot of zhihan1996/DNABERT-S (weights, config, tokenizer, and the hub's
              modelling code so that `virnucpro check-dnabert` can compare it with our port)
  ESM-2 3B    fair-esm's checkpoint and contact-regression files
  classifier  the published 300_model.pth and 500_model.pth, checked against their git blob ids
Files that are already present and verify are kept; every download goes to a temporary name first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from virnucpro.atomic import atomic_path
from virnucpro.errors import InputError, VirnucproError
from virnucpro.progress import Progress

log = logging.getLogger("virnucpro")

HF_ENDPOINT = "https://huggingface.co"
DNABERT_REPO = "zhihan1996/DNABERT-S"
ESM_BASE_URL = "https://dl.fbaipublicfiles.com/fair-esm"
CLASSIFIER_BASE_URL = (
    "https://raw.githubusercontent.com/Li-Jing-1997/VirNucPro/0f93f2755a7ea1acd3ff1bcf182892f960ef3326"
)
# git blob ids of the published classifiers (sha1 of "blob <size>\0" + content)
CLASSIFIER_BLOB_IDS = {
    "300_model.pth": "a0b5b85e7c1e44f00cde146d091beb82b2c8e855",
    "500_model.pth": "fc35d5ef9f1f4564eea7036f34f4f8ec6000d33d",
}
DNABERT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
DNABERT_WEIGHTS = ("model.safetensors", "pytorch_model.bin")  # the first one the hub has
DNABERT_CODE = ("bert_layers.py", "bert_padding.py", "configuration_bert.py", "flash_attn_triton.py")
ESM_FILES = ("models/esm2_t36_3B_UR50D.pt", "regression/esm2_t36_3B_UR50D-contact-regression.pt")
TIMEOUT_S = 60
Verify = Callable[[Path], "str | None"]  # returns None when the file is right, else what is wrong


@dataclass(frozen=True)
class Sources:
    """Where each model comes from; tests point these at a local server."""

    hf_endpoint: str = HF_ENDPOINT
    esm_base_url: str = ESM_BASE_URL
    classifier_base_url: str = CLASSIFIER_BASE_URL


def git_blob_id(path: Path) -> str:
    """The git blob id of a file: sha1 over 'blob <size>\\0' and the content."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_torch_archive(path: Path) -> bool:
    """A torch.save file (a zip archive with a data.pkl record)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/data.pkl") or name == "data.pkl" for name in archive.namelist())


def download(url: str, dest: Path, verify: Verify | None = None, verbose: bool = False) -> bool:
    """Download `url` to `dest` atomically and verify it; False when the server has no such file (HTTP 404)."""
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise VirnucproError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise VirnucproError(
            f"cannot reach {url} ({reason}); without a network, download the models elsewhere and pass their paths "
            "(see README, 'Real models')"
        ) from None
    expected = int(response.headers.get("Content-Length") or -1)
    progress = Progress(f"download {dest.name}", unit="MB", verbose=verbose)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with response, atomic_path(dest) as tmp:
        with open(tmp, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                progress.update(0, bytes=len(block))
        progress.close()
        size = tmp.stat().st_size
        if expected >= 0 and size != expected:
            raise VirnucproError(f"download of {url} is incomplete: {size} of {expected} bytes")
        problem = verify(tmp) if verify else None
        if problem:
            raise VirnucproError(f"{url}: {problem}; the file was not kept")
    log.info("downloaded %s (%s bytes)", dest, f"{size:,}")
    return True


def _blob_check(name: str) -> Verify:
    def check(path: Path) -> str | None:
        found = git_blob_id(path)
        expected = CLASSIFIER_BLOB_IDS[name]
        return None if found == expected else f"git blob id {found} does not match the published {expected}"

    return check


def _torch_check(path: Path) -> str | None:
    return None if is_torch_archive(path) else "not a torch checkpoint archive"


def ensure(url: str, target: Path, verify: Verify | None, verbose: bool, required: bool = True) -> bool:
    """Keep `target` if it is present and verifies, else download it; a required file the server lacks is an error."""
    if target.is_file() and (verify is None or verify(target) is None):
        log.debug("keeping %s", target)
        return True
    if download(url, target, verify, verbose):
        return True
    if required:
        raise VirnucproError(f"{url}: not found (HTTP 404)")
    return False


def fetch_models(dest: str | Path, sources: Sources = Sources(), verbose: bool = False) -> dict[str, Path]:
    """Fetch every model into `dest`; return the paths to pass to `virnucpro run`."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest}: exists and is not a directory")
    dnabert_dir, esm_dir, classifier_dir = dest / "dnabert_s", dest / "esm2", dest / "classifier"
    for name in CLASSIFIER_BLOB_IDS:
        ensure(f"{sources.classifier_base_url}/{name}", classifier_dir / name, _blob_check(name), verbose)
    hub = f"{sources.hf_endpoint}/{DNABERT_REPO}/resolve/main"
    for name in DNABERT_FILES:
        ensure(f"{hub}/{name}", dnabert_dir / name, None, verbose, required=name != "tokenizer_config.json")
    if not any(ensure(f"{hub}/{name}", dnabert_dir / name, None, verbose, required=False) for name in DNABERT_WEIGHTS):
        raise VirnucproError(f"{hub}: has neither {' nor '.join(DNABERT_WEIGHTS)}")
    for name in DNABERT_CODE:  # optional: only `check-dnabert` runs it
        ensure(f"{hub}/{name}", dnabert_dir / name, None, verbose, required=False)
    for name in ESM_FILES:
        ensure(f"{sources.esm_base_url}/{name}", esm_dir / os.path.basename(name), _torch_check, verbose)
    paths = {
        "dnabert": dnabert_dir,
        "esm": esm_dir / os.path.basename(ESM_FILES[0]),
        "classifier_300": classifier_dir / "300_model.pth",
        "classifier_500": classifier_dir / "500_model.pth",
    }
    log.info(
        "models ready: --dnabert %s --esm %s --classifier %s (or %s for --chunk-size 300)",
        paths["dnabert"], paths["esm"], paths["classifier_500"], paths["classifier_300"],
    )  # fmt: skip
    return paths
