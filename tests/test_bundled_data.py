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
