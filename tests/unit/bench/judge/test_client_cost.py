"""What a locust load cost its client, against wrk on the same URL, and the report's line for it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from probes.bench.judge.client_cost import client_cost
from probes.bench.judge.wording.client_cost import client_cost_text
from probes.bench.model.results import Run
from probes.report.lines import window_lines
from tests.factories import run as factory_run
from tests.factories import sample


def locust_run(reference_us: float | None) -> Run:
    # 2 s windows at 2,500 r/s: 3.0 s of the workers' CPU each, 1.5 cores, 600 µs per request.
    windows = tuple(replace(sample(2500.0, client_s=3.0), generator="locust") for _ in range(3))
    return replace(factory_run(1, [2500.0]), generator="locust", samples=windows, client_reference_us=reference_us)


def test_the_workers_cores_and_cost_per_request_against_wrks() -> None:
    cost = client_cost(locust_run(9.0))
    assert cost is not None
    assert cost.cores == pytest.approx(1.5) and cost.us_per_request == pytest.approx(600.0)
    assert cost.times_wrk == pytest.approx(600 / 9) and cost.wrk_cores == pytest.approx(9e-6 * 2500)
    assert client_cost_text(cost) == (
        "locust's workers needed 1.50 cores for 2,500 r/s (600 µs of CPU per request); wrk on this URL: 9.0 µs per"
        " request, 0.02 cores at that rate (locust 67x)"
    )


def test_without_wrk_the_line_says_so() -> None:
    cost = client_cost(locust_run(None))
    assert cost is not None and client_cost_text(cost).endswith(
        "wrk's was not measured (wrk is not installed, or a --locustfile's flow has no one URL)"
    )


def test_the_report_gives_it_for_a_locust_run_only() -> None:
    run = locust_run(9.0)
    [line] = [line for line in window_lines([run]) if "locust's workers" in line]
    assert line.startswith(f"{run.label}: locust's workers needed 1.50 cores")
    assert client_cost(factory_run(1, [2500.0])) is None
    assert not [line for line in window_lines([factory_run(1, [2500.0])]) if "locust" in line]
