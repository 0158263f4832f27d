"""Statistics, data quality and the sweep table on results built in memory (exact expectations)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from probes.bench.judge.quality import assess as judge
from probes.bench.judge.quality import assess_quality
from probes.bench.model.app import AppTotals
from probes.bench.model.memory import ProcessMemory, TreeMemory
from probes.bench.model.results import Run, Sample, Suite
from probes.bench.model.stats import Spread
from probes.report.lines import memory_model_lines
from probes.report.rows import wide_cells
from probes.report.terminal import sweep_table
from tests.factories import METADATA, gunicorn_run


def sample(ok_per_s: float, *, requests: int | None = None, client_s: float = 0.1, server_s: float = 1.0) -> Sample:
    ok = int(ok_per_s * 2)
    return Sample(
        generator="wrk",
        duration_s=2.0,
        requests=ok if requests is None else requests,
        ok=ok,
        errors={} if requests is None else {"non2xx": requests - ok},
        status_counts={"200": ok},
        redirect_location=None,
        latency_ms={"p50": 2.5, "p90": 4.0, "p99": 9.25, "max": 20.0, "mean": 3.0},
        cpu_s={"client": client_s, "nginx": 0.2, "server": server_s},
        machine_busy_s=1.5,
        wall_s=2.0,
        cores=2,
        app=AppTotals(requests=ok),
        served_by_pid={"101": ok // 2, "102": ok - ok // 2},
    )


def process(pid: int, role: str, mb: int) -> ProcessMemory:
    return ProcessMemory(
        pid=pid,
        ppid=1,
        name="x",
        cmdline="x",
        role=role,
        rss_bytes=mb * 2_000_000,
        uss_bytes=mb * 1_000_000,
        pss_bytes=mb * 1_500_000,
        swap_bytes=0,
    )


def run(workers: int, rates: list[float], **changes: object) -> Run:
    memory = TreeMemory((process(1, "master", 10), *(process(100 + i, "worker", 20) for i in range(workers))))
    return gunicorn_run(
        workers,
        path="/probes/trivial/",
        samples=tuple(sample(rate) for rate in rates),
        memory=memory,
        **{"quality": "ok", **changes},
    )


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
    assert one.unexplained_cpu_s == pytest.approx(1.5 - 1.3)


@pytest.mark.parametrize(
    ("figures", "quality", "reason"),
    [
        ({"requests": 100, "ok": 0}, "failing", "100.0 % of requests failed"),
        ({"requests": 1000, "ok": 980}, "failing", "2.0 % of requests failed"),
        # Above 0.1 % of attempts: 2 non-2xx answers in 1,000 fail a run.
        ({"requests": 1000, "ok": 998, "errors": {"non2xx": 2}}, "failing", "0.20 % of requests failed (non2xx 2)"),
        # Socket errors are attempts without an answer: 1,000 answers beside 1,350 of them fail.
        (
            {"requests": 1000, "ok": 1000, "errors": {"reset": 1200, "timeout": 100, "connect": 50}},
            "failing",
            "57.4 % of requests failed (connect 50, reset 1200, timeout 100)",
        ),
        ({"requests": 9990, "ok": 9990, "errors": {"reset": 10}}, "ok", None),
        ({"requests": 9990, "ok": 9990, "errors": {"reset": 11}}, "failing", "0.11 % of requests failed (reset 11)"),
        (
            {"overflow_warnings": 2},
            "failing",
            "the server's log reports 2 queue overflow(s) or worker deaths",
        ),
        ({"client_cores": 0.95}, "client-bound", "the load generator used 0.95 cores"),
        (
            {"client_us_per_request": 30.0},
            "client-bound",
            "the load generator spent more CPU per request (30 µs)",
        ),
        ({"throughput_cv": 0.12}, "noisy", "r/s varied 12 % (stdev/mean) between repeats"),
        ({"requests": 1000, "ok": 999}, "ok", None),
    ],
)
def test_quality_thresholds(figures: dict[str, float], quality: str, reason: str | None) -> None:
    arguments = {
        "requests": 1000,
        "ok": 1000,
        "client_cores": 0.3,
        "client_us_per_request": 10.0,
        "server_us_per_request": 20.0,
        "throughput_cv": 0.02,
        "overflow_warnings": 0,
        **figures,
    }
    got, reasons = assess_quality(**arguments)  # type: ignore[arg-type]
    assert got == quality
    if reason is None:
        assert reasons == ()
    else:
        assert reasons[0].startswith(reason)


def test_judge_uses_the_samples() -> None:
    assert judge(run(2, [1000.0, 1010.0, 990.0])) == ("ok", ())
    quality, reasons = judge(run(2, [1000.0, 1500.0, 700.0]))
    assert quality == "noisy"


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


def test_a_shared_machine_makes_a_run_noisy() -> None:
    quality, reasons = assess_quality(
        requests=1000,
        ok=1000,
        client_cores=0.3,
        client_us_per_request=10.0,
        server_us_per_request=20.0,
        throughput_cv=0.02,
        overflow_warnings=0,
        unattributed_share=0.4,
    )
    assert (quality, reasons) == (
        "noisy",
        ("40 % of the cores went to no measured role: another process shared the machine",),
    )


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
