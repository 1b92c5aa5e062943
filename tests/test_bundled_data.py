"""Bundled data is what its generator writes, so it can be regenerated and reviewed."""

from __future__ import annotations

import importlib.util

from tests.conftest import DATA


def test_demo_fasta_regenerates_identically(tmp_path):
    spec = importlib.util.spec_from_file_location("make_demo", DATA / "demo" / "make_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write(tmp_path / "demo.fa")
    assert (tmp_path / "demo.fa").read_bytes() == (DATA / "demo" / "demo.fa").read_bytes()


def test_training_genomes_regenerate_identically(tmp_path):
    spec = importlib.util.spec_from_file_location("make_train_data", DATA / "train" / "make_train_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in (DATA / "train").iterdir() if p.is_file() and p.suffix != ".py")
    for name in written:
        assert (tmp_path / name).read_bytes() == (DATA / "train" / name).read_bytes(), name
