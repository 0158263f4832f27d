"""The reader's arithmetic: two snapshots' difference, their total, the app's time from the sampled requests."""

from __future__ import annotations

from probes.bench.measure.window import app_totals
from probes.bench.timing.reader import AppCounters, difference, total


def test_counters_difference_and_total() -> None:
    start = {1: AppCounters(requests=5, sampled_wall_ns=50)}
    end = {
        1: AppCounters(requests=8, sampled_wall_ns=80),
        2: AppCounters(requests=2, db_queries=4),
    }
    delta = difference(start, end)
    assert delta[1] == AppCounters(requests=3, sampled_wall_ns=30)
    assert total(delta) == AppCounters(requests=5, sampled_wall_ns=30, db_queries=4)


def test_the_apps_time_is_the_mean_of_the_sampled_requests() -> None:
    counters = AppCounters(requests=160, sampled_requests=10, sampled_wall_ns=10 * 90_000, sampled_cpu_ns=10 * 70_000)
    assert (counters.app_wall_ns, counters.app_cpu_ns) == (160 * 90_000, 160 * 70_000)
    assert app_totals(counters).app_cpu_ns == 160 * 70_000  # as a Sample keeps it
    assert AppCounters(requests=3).app_cpu_ns == 0  # nothing sampled: unknown, not guessed
