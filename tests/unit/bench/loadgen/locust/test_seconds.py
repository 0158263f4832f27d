"""The master's per-second lines as one window: only the seconds between the markers, counts by name and
status, µs latency merged exactly, the busiest worker's CPU, and a worker's clock offset refused above 50 ms."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hdrh.histogram import HdrHistogram

from probes.bench.judge.quality import assess
from probes.bench.loadgen.locust.seconds import MasterLines, clock_problem, window_result
from tests.factories import run, sample


def _encoded(*values_us: int) -> str:
    histogram = HdrHistogram(1, 3_600_000_000, 3)
    for value in values_us:
        histogram.record_value(value)
    return histogram.encode().decode("ascii")


def _second(second: int, histograms: dict[str, str], counts: dict[str, dict[str, int]], cpu: dict) -> str:
    figures = {"second": second, "histograms": histograms, "counts": counts, "errors": {}, "cpu": cpu}
    return "servebench-second " + json.dumps(figures)


def _lines() -> MasterLines:
    lines = MasterLines()
    lines.read("some log line locust printed")
    # Second 99 is the warm-up's and 103 after the window: neither counts.
    lines.read(_second(99, {"GET /": _encoded(5_000_000)}, {"GET /": {"200": 1}}, {"w1": [9.0, 0.0]}))
    lines.read(
        _second(
            100,
            {"GET /": _encoded(620, 640), "POST /write/": _encoded(1_900)},
            {"GET /": {"200": 2}, "POST /write/": {"201": 1}},
            {"w1": [0.5, 0.1], "w2": [0.3, 0.1]},
        )
    )
    lines.read(
        _second(
            101,
            {"GET /": _encoded(650), "POST /write/": _encoded(2_100)},
            {"GET /": {"200": 1, "0": 1}, "POST /write/": {"500": 1}},
            {"w1": [0.4, 0.1], "w2": [0.2, 0.1]},
        )
    )
    lines.read(_second(103, {"GET /": _encoded(7_000_000)}, {"GET /": {"200": 1}}, {"w1": [9.0, 0.0]}))
    return lines


def test_the_window_is_the_seconds_between_the_markers() -> None:
    result = window_result(_lines(), 100, 102, master_cpu_s=0.01)
    assert result.generator == "locust" and result.duration_s == 2.0
    assert result.requests == 5 and result.ok == 4  # the "0" (no answer) is not an answer
    assert result.status_counts == {200: 3, 201: 1, 500: 1}
    assert result.errors == {"non2xx": 1}
    assert result.latency_ms["max"] == 2.101  # the 5 s and 7 s outside the window left out
    assert result.latency_ms["p50"] == 0.65  # µs resolution: locust's own statistics would say 1 ms
    assert result.cpu_user_s == 1.4 and result.cpu_system_s == 0.4
    assert result.busiest_client_cpu_s == 1.1  # w1: 0.6 + 0.5
    assert result.master_cpu_s == 0.01


def test_each_request_name_is_reported_with_its_statuses_and_latency() -> None:
    result = window_result(_lines(), 100, 102, master_cpu_s=None)
    by_name = {figures.label: figures for figures in result.per_request}
    assert set(by_name) == {"GET /", "POST /write/"}
    assert by_name["GET /"].sent == 4 and by_name["GET /"].responses == 3
    assert by_name["POST /write/"].status_counts == {201: 1, 500: 1}
    assert by_name["POST /write/"].latency_ms["max"] == 2.101


def test_a_clock_offset_above_50_ms_is_refused_with_the_offset() -> None:
    assert clock_problem({"w1": 0.2, "w2": -49.0}) is None
    problem = clock_problem({"w1": 0.2, "w2": -73.25})
    assert problem is not None and "w2" in problem and "-73.2 ms" in problem and "\n" not in problem


def test_the_spawn_and_the_offsets_are_read() -> None:
    lines = MasterLines()
    lines.read('servebench-offset {"worker": "w1", "offset_ms": 0.25}')
    lines.read('servebench-spawned {"users": 8, "at": 1700000000.5}')
    assert lines.offsets_ms == {"w1": 0.25} and lines.spawned_at == 1700000000.5 and lines.last_second == -1


def _busy_window(worker_cores: tuple[float, float]) -> MasterLines:
    lines = MasterLines()
    for second in (200, 201):
        cpu = {f"w{i}": [cores * 0.9, cores * 0.1] for i, cores in enumerate(worker_cores)}
        lines.read(_second(second, {"GET /": _encoded(700)}, {"GET /": {"200": 1000}}, cpu))
    return lines


@pytest.mark.parametrize(("worker_cores", "bound"), [((0.95, 0.3), True), ((0.6, 0.6), False)])
def test_a_worker_at_90_percent_of_a_core_makes_the_window_client_bound(
    worker_cores: tuple[float, float], bound: bool
) -> None:
    result = window_result(_busy_window(worker_cores), 200, 202, master_cpu_s=0.0)
    assert result.busiest_client_cpu_s == pytest.approx(2 * max(worker_cores))
    window = replace(
        sample(1000, client_s=2 * sum(worker_cores)),
        generator="locust",
        client_remote=True,
        busiest_client_cpu_s=result.busiest_client_cpu_s,
    )
    quality, reasons = assess(replace(run(2, [1000]), samples=(window, window)))
    assert (quality == "client-bound") is bound, (quality, reasons)


def test_the_master_s_workers_and_stops_are_read_and_old_seconds_forgotten() -> None:
    from probes.bench.loadgen.locust.seconds import MasterLines

    lines = MasterLines()
    for text in ('servebench-workers {"ready": 2}', 'servebench-stopped {"at": 12.5}'):
        lines.read(text)
    lines.seconds = {9: {}, 10: {}, 11: {}}
    lines.forget_before(10)
    assert (lines.workers, lines.stopped_at, sorted(lines.seconds)) == (2, 12.5, [10, 11])
