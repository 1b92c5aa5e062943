"""Small, deterministic, randomly initialised models in the real file formats, for tests and the demo.

`make_test_models(outdir)` writes:
  dnabert_s/                       a DNABERT-S-layout Hugging Face directory (config.json, model.safetensors,
                                   tokenizer.json, tokenizer_config.json), 64 hidden, 2 layers
  esm2_t2_64_test.pt               a fair-esm ESM-2 checkpoint built by fair-esm (+ its contact-regression file)
  300_model.pth, 500_model.pth     classifiers pickled the way the original saves them, 64 + 64 inputs
Their scores mean nothing: they exist so that every loader and step runs on real formats in seconds.
"""

from __future__ import annotations

from pathlib import Path

DNABERT_DIR = "dnabert_s"
ESM_FILE = "esm2_t2_64_test.pt"
CLASSIFIERS = {300: "300_model.pth", 500: "500_model.pth"}
HIDDEN = 64  # DNABERT-S hidden size and ESM-2 embedding size of the test models


def make_test_models(outdir: str | Path) -> dict[str, Path]:
    """Write every test model into `outdir` (the same bytes each time); return their paths."""
    from virnucpro.testmodels.classifier import build_classifier, save_published_style
    from virnucpro.testmodels.dnabert import write_dnabert_dir
    from virnucpro.testmodels.esm import save_esm2_checkpoint

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {
        "dnabert": write_dnabert_dir(outdir / DNABERT_DIR, hidden_size=HIDDEN, num_layers=2, heads=4,
                                     intermediate_size=2 * HIDDEN, seed=11),
        "esm": save_esm2_checkpoint(outdir / ESM_FILE, num_layers=2, embed_dim=HIDDEN, heads=4, seed=12),
    }  # fmt: skip
    for size, name in CLASSIFIERS.items():
        model = build_classifier(input_dim=2 * HIDDEN, hidden_dim=32, seed=size)
        paths[f"classifier_{size}"] = save_published_style(model, outdir / name)
    (outdir / "README.txt").write_text(
        "Test models written by `virnucpro make-test-models`: random weights in the real file formats.\n"
        "Their predictions are meaningless. For real use run `virnucpro fetch-models` (see README.md).\n"
    )
    return paths
