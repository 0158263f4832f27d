"""One accounting (issue 19): each side's CPU over its own interval, divided by its own completions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from probes.bench.judge.figures import cpu_per_request, figures, sampled_cpu_error_s
from probes.bench.model.app import AppTotals
from probes.bench.model.results import Sample
from tests.factories import gunicorn_run

# Wagtail's bakerydemo `/` at gunicorn w1 behind nginx, a 2 s window, from the saved JSON.
CLIENT_COUNT, SERVER_COUNT = 45, 55
SERVER_CPU_S, APP_CPU_S = 2.390, 2.377


def bakerydemo_window(*, server_requests: int | None = SERVER_COUNT, sampled: int = SERVER_COUNT) -> Sample:
    app = AppTotals(
        requests=SERVER_COUNT,
        sampled_requests=sampled,
        sampled_cpu_ns=round(APP_CPU_S * 1e9 * sampled / SERVER_COUNT),
        sampled_wall_ns=round(2.6e9 * sampled / SERVER_COUNT),
        app_cpu_ns=round(APP_CPU_S * 1e9),
        app_wall_ns=round(2.6e9),
    )
    return Sample(
        generator="wrk",
        duration_s=2.0,
        requests=CLIENT_COUNT,
        ok=CLIENT_COUNT,
        errors={},
        status_counts={"200": CLIENT_COUNT},
        redirect_location=None,
        latency_ms={"p50": 380.0, "p90": 420.0, "p99": 450.0, "max": 460.0, "mean": 390.0},
        cpu_s={"server": SERVER_CPU_S, "nginx": 0.011, "client": 0.009},
        machine_busy_s=2.5,
        wall_s=2.2,
        cores=2,
        app=app,
        served_by_pid={"101": SERVER_COUNT},
        server_requests=server_requests,
    )


def test_the_servers_own_cpu_is_a_difference_of_totals_over_the_servers_count() -> None:
    cpu = cpu_per_request(bakerydemo_window())
    # 13 ms of the server's own over the 55 requests its processes completed: 0.24 ms each.
    assert cpu["server"] == pytest.approx((SERVER_CPU_S - APP_CPU_S) / SERVER_COUNT)
    assert cpu["view"] == pytest.approx(APP_CPU_S / SERVER_COUNT)
    # The client's CPU by the client's own count.
    assert cpu["client"] == pytest.approx(0.009 / CLIENT_COUNT)


def test_the_servers_share_of_a_slow_view_is_under_one_percent() -> None:
    run = gunicorn_run(1, path="/", samples=(bakerydemo_window(),))
    f = figures(run, None)
    # Two denominators read it as 10 ms of 53 (a 19 % "server"); the truth is under 1 %.
    assert f.cpu_shares["server"] < 0.01
    # The CPU per request is not inflated by the window's edges: the server's 2.39 s over its 55 requests.
    assert f.cpu_per_request_s["view"] + f.cpu_per_request_s["server"] == pytest.approx(SERVER_CPU_S / 55)


def test_without_the_counters_every_side_divides_by_the_clients_count() -> None:
    untimed = replace(bakerydemo_window(server_requests=None), app=AppTotals())
    cpu = cpu_per_request(untimed)
    assert cpu["server"] == pytest.approx(SERVER_CPU_S / CLIENT_COUNT)
    assert cpu["view"] == 0.0


def test_the_extrapolated_view_cpu_carries_its_sampling_error() -> None:
    every = bakerydemo_window()
    assert sampled_cpu_error_s(every.app) == 0.0  # every request timed: nothing extrapolated
    one_in_16 = bakerydemo_window(sampled=4)
    error = sampled_cpu_error_s(one_in_16.app)
    mean = APP_CPU_S / SERVER_COUNT
    assert error == pytest.approx(mean * ((1 - 4 / 55) / 4) ** 0.5)
    run = gunicorn_run(1, path="/", samples=(one_in_16,))
    assert figures(run, None).view_cpu_error_s == pytest.approx(error)
