"""The run's live view and summary: progress by cost, ETA, the union of embedding time, the rendered table."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from rich.console import Console

from virnucpro.live import RunView, format_duration
from virnucpro.schedule import make_job


def units():
    esm = make_job("shard_00001", "esm", Path("a.faa"), Path("a.esm.pt"), 100, 16_600, 10.0)
    dnabert = make_job("shard_00001", "dnabert", Path("a.fna"), Path("a.dnabert.pt"), 100, 16_600, 1.0)
    return esm, dnabert


def test_progress_counts_work_by_cost_including_units_in_flight():
    esm, dnabert = units()
    view = RunView(["cuda:0", "cuda:1"], live=False)
    view.begin([esm, dnabert])
    view.worker_ready(0, {"name": "H100", "memory": 80 * 2**30})
    view.unit_started(0, esm)
    view.unit_started(1, dnabert)
    view.unit_progress(0, 50, 100, 8_400.0, 12 * 2**30)  # half of the big unit
    share = esm.cost / (esm.cost + dnabert.cost)
    assert abs(view.fraction_done() - share / 2) < 1e-9
    view.unit_done(1, dnabert, {"sequences": 100, "tokens": 1_100.0, "seconds": 0.5})
    assert abs(view.fraction_done() - (share / 2 + (1 - share))) < 1e-9
    assert view.eta_seconds() is not None
    lines = view.plain_lines()
    assert lines[0].startswith("run: embedding ") and "(1/2 units)" in lines[0]
    assert lines[1].startswith("worker 1 (cuda:0): shard_00001 ESM-2 (loading) 50/100 sequences,")
    assert lines[1].endswith("memory 12.0/80.0 GiB")


def test_embedding_time_is_the_union_of_the_units_spans():
    view = RunView(["cpu", "cpu"], live=False)
    view.spans = {"esm": [(0.0, 10.0), (5.0, 12.0)], "dnabert": [(20.0, 21.0), (20.5, 20.7)]}
    assert view.embedding_seconds() == 13.0
    assert view.embedding_seconds("esm") == 12.0
    assert view.embedding_seconds("dnabert") == 1.0


def test_summary_gives_each_device_and_model_and_the_time_outside_embedding():
    esm, dnabert = units()
    view = RunView(["cuda:0", "cuda:1"], live=False)
    view.begin([esm, dnabert])
    for index, unit in ((0, esm), (1, dnabert)):
        view.worker_ready(index, {"name": "H100", "memory": None})
        view.unit_started(index, unit)
        view.model_loaded(index, unit.model, 4.0)
        view.unit_done(index, unit, {"sequences": 100, "tokens": 16_800.0, "seconds": 2.0})
    lines = view.summary_lines(wall_seconds=10.0)
    assert lines[0] == ("worker 1 (cuda:0) H100: ESM-2 1 unit(s) 50 seq/s, 8,400 tokens/s; model loading 4.0 s")
    assert lines[1] == ("worker 2 (cuda:1) H100: DNABERT-S 1 unit(s) 50 seq/s, 8,400 tokens/s; model loading 4.0 s")
    assert lines[2].startswith("DNABERT-S: 100 sequences, 50 seq/s")
    assert lines[3].startswith("ESM-2: 100 sequences, 50 seq/s")
    # both units ended at about the same moment and took 2 s each: about 2 s of embedding in 10 s
    assert lines[4].startswith("wall time 10.0 s, embedding 2.0 s, outside embedding 8.0 s (80.0%)")


def test_the_live_table_has_a_row_per_device():
    esm, dnabert = units()
    view = RunView(["cuda:0", "cpu"], live=False)
    view.begin([esm, dnabert])
    view.worker_ready(0, {"name": "NVIDIA H100 80GB HBM3", "memory": 80 * 2**30})
    view.unit_started(0, esm)
    view.model_loaded(0, "esm", 3.0)
    view.unit_progress(0, 60, 100, 10_000.0, 20 * 2**30)
    console = Console(file=io.StringIO(), width=110, record=True)
    console.print(view.render())
    text = console.export_text()
    rows = text.splitlines()
    assert rows[0].split() == ["worker", "device", "unit", "sequences", "seq/s", "tokens/s", "memory"]
    assert rows[1].split()[:7] == ["1", "cuda:0", "NVIDIA", "H100", "80GB", "HBM3", "shard_00001"]
    assert "60/100" in rows[1] and rows[1].endswith("20.0/80.0 GiB")
    assert rows[2].split()[:3] == ["2", "cpu", "starting"]
    assert "0/2 units" in rows[3] and "ETA" in rows[3]


def test_plain_lines_are_logged_periodically(caplog):
    esm, _ = units()
    view = RunView(["cpu"], live=False, plain_interval=0)
    view.begin([esm])
    view.unit_started(0, esm)
    with caplog.at_level(logging.INFO, logger="virnucpro"):
        view.tick()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("run: embedding 0% done (0/1 units)")
    assert messages[1].startswith("worker 1 (cpu): shard_00001 ESM-2 (loading) 0/100 sequences")


def test_durations():
    assert [format_duration(s) for s in (0.4, 42, 725, 3720)] == ["0s", "42s", "12m05s", "1h02m"]
