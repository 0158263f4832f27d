"""Statistics, data quality and the sweep table on results built in memory (exact expectations)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from probes.bench.model.app import AppTotals
from probes.bench.model.results import Suite
from probes.bench.model.stats import Spread
from probes.report.lines import memory_model_lines
from probes.report.rows import run_table, wide_cells
from probes.report.terminal import sweep_table
from tests.factories import METADATA, run, sample


def test_spread_is_median_range_and_cv() -> None:
    spread = Spread.of([100.0, 110.0, 90.0])
    assert (spread.median, spread.low, spread.high) == (100.0, 90.0, 110.0)
    assert spread.cv == pytest.approx(0.1)
    assert Spread.of([5.0]).cv == 0.0


def test_cpu_per_request_and_the_unexplained_remainder() -> None:
    one = sample(1000.0)  # 2000 requests in 2 s
    assert one.cpu_us_per_request("server") == pytest.approx(500.0)
    assert one.cpu_us_per_request("client") == pytest.approx(50.0)
    assert one.cpu_us_per_request("memcached") is None
    assert one.unattributed_cpu_s == pytest.approx(1.5 - 1.3)


def test_a_row_of_the_table() -> None:
    assert wide_cells(run(2, [1000.0, 1100.0, 900.0])) == [
        "gunicorn",
        "2",
        "nginx/tcp",
        "1,000 (900–1,100)",
        "2.50",
        "9.25",
        "0",
        "2/2",
        "20.0",
        "75.0",
        "50/100/500/-",
        "ok",
    ]


def test_a_diagnosed_row_splits_the_servers_cpu_into_the_view_and_the_server() -> None:
    from probes.bench.measure.sweep import diagnosed

    timed = replace(sample(1000.0), app=AppTotals(requests=2000, app_wall_ns=2000 * 300_000, app_cpu_ns=2000 * 200_000))
    row = wide_cells(diagnosed(replace(run(2, [1000.0]), samples=(timed,)), None))
    # The server's processes spent 500 µs per request, the view 200 of them, measured inside.
    assert row[10] == "50/100/300/200"


def test_the_wide_cpu_column_adds_every_role_a_run_measured_so_that_it_sums_to_the_total() -> None:
    with_database = replace(sample(1000.0), cpu_s={**sample(1000.0).cpu_s, "database": 0.6})
    table = run_table([run(2, [1000.0]), replace(run(1, [1000.0]), samples=(with_database,))])
    column = table.headers.index("CPU µs/req client/nginx/server/view/database")
    assert [row[column] for row in table.rows] == ["50/100/500/-/-", "50/100/500/-/300"]
    assert run_table([run(2, [1000.0])]).headers[column] == "CPU µs/req client/nginx/server/view"


def test_memory_model_is_fitted_from_the_runs() -> None:
    suite = Suite(metadata=METADATA, runs=(run(1, [1.0]), run(4, [1.0])))
    # PSS: master 15 MB + 30 MB per worker.
    assert memory_model_lines(suite) == [
        "gunicorn [nginx]: total PSS ≈ 15.0 MB + 30.0 MB × workers (r² 1.00, 2 points)"
    ]


def test_the_table_names_what_to_distrust() -> None:
    failing = run(1, [], quality="failing", quality_reasons=("no answer at all",), error="")
    text = sweep_table(Suite(metadata=METADATA, runs=(run(2, [1000.0]), failing)))
    assert text.splitlines()[0] == "/probes/trivial/  (behind nginx/tcp; load: wrk; medians of the repeats)"
    assert "gunicorn w1 nginx/tcp: failing: no answer at all" in text


def test_runs_round_trip_through_json(tmp_path: Path) -> None:
    suite = Suite(metadata=METADATA, runs=(run(2, [1000.0, 1100.0]), run(4, [900.0])), notes=("a note",))
    suite.dump(tmp_path / "s.json")
    assert Suite.load(tmp_path / "s.json") == suite


def test_the_terminal_table_fits_120_columns_and_wide_has_every_figure() -> None:
    from dataclasses import replace

    widest = replace(
        run(4, [12_345.0, 10_234.0, 13_456.0], verdict="worker-limited", quality="client-bound"),
        kind="gunicorn-gthread",
        threads=4,
    )
    suite = Suite(metadata=METADATA, runs=(widest, run(1, [900.0], verdict="cpu-saturated")))
    table = sweep_table(suite).splitlines()[1:5]  # the header, the rule and the two rows
    for column in ("server", "r/s (min–max)", "p99 ms", "PSS MB", "CPU µs", "quality", "verdict"):
        assert column in table[0]
    assert max(len(line) for line in table) <= 120, table
    wide = sweep_table(suite, wide=True).splitlines()[1]
    assert "USS/worker MB" in wide and "CPU µs/req client/nginx/server" in wide and "p50 ms" in wide
