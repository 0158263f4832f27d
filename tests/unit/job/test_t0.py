"""t0 has a time cap, says what it measured when the cap cut it short, and a view slower than the window
is refused before any load (not loaded, then reported as "no answer at all")."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from probes.bench.loadgen.plan import LoadPlan
from probes.bench.measure import t0 as measure_t0
from probes.cli.matrix import Target
from probes.job import t0
from probes.job.services import JobError


class Clock:
    """The time of a view that sleeps `call_s` per call, without sleeping: t0 reads only this clock."""

    def __init__(self, call_s: float) -> None:
        self.now_ns = 0
        self.call_ns = int(call_s * 1e9)
        self.calls = 0

    def monotonic(self) -> float:
        return self.now_ns / 1e9

    def perf_counter_ns(self) -> int:
        return self.now_ns

    def thread_time_ns(self) -> int:
        return 0  # asleep: no CPU

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls += 1
        self.now_ns += self.call_ns
        start_response("200 OK", [])
        return [b"slept"]


@pytest.fixture
def five_second_view(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(5.0)  # /probes/sleep/?ms=5000
    monkeypatch.setattr(measure_t0, "time", clock)
    return clock


def test_t0_of_a_5_s_view_stops_at_its_cap_and_says_what_it_measured(five_second_view: Clock) -> None:
    said: list[str] = []
    target = Target("slow", "/probes/sleep/?ms=5000")
    cost = t0.t0_cost(five_second_view.app, target, "127.0.0.1", 200, said.append)
    assert cost is not None
    assert five_second_view.monotonic() <= t0.T0_MAX_S  # was 175 s: 5 warm-up and 30 measured calls
    assert (five_second_view.calls, cost.iterations) == (2, 1)  # one warm-up, one measured
    assert cost.wall_us_median == 5e6
    assert said[-1] == (
        "view cost of /probes/sleep/?ms=5000 in-process: 5.00 s per call (median of 1 measured call(s)),"
        " stopped at the 10 s cap"
    )


def test_a_view_slower_than_the_window_is_refused_before_any_load(five_second_view: Clock) -> None:
    target = Target("slow", "/probes/sleep/?ms=5000")
    load = LoadPlan(path=target.path, host_header="127.0.0.1", duration_s=0.4)
    with pytest.raises(JobError) as raised:
        t0.t0_cost(five_second_view.app, target, "127.0.0.1", 200, lambda message: None, load=load)
    assert str(raised.value) == (
        "--duration 0.4 (a window lasts at most 4 s): /probes/sleep/?ms=5000 takes 5.00 s per call in-process"
        " (1 measured call(s)), so no call would finish within it; give --duration 1 or more"
    )
    # A window sized by requests may last 10 x --duration: long enough for it, it is measured; a call past
    # the request timeout is refused too.
    longer = LoadPlan(path=target.path, host_header="127.0.0.1", duration_s=1.0)
    assert t0.t0_cost(five_second_view.app, target, "127.0.0.1", 200, lambda message: None, load=longer)
    with pytest.raises(JobError, match="^servebench's request timeout of 4 s: /probes/sleep/"):
        t0.check_window(
            t0.view_cost(five_second_view.app, "slow", target.path, "h"), LoadPlan("/", "h", duration_s=9, timeout_s=4)
        )


def test_a_fast_view_is_measured_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(0.001)
    monkeypatch.setattr(measure_t0, "time", clock)
    said: list[str] = []
    cost = t0.t0_cost(clock.app, Target("fast", "/x"), "127.0.0.1", 200, said.append)
    assert cost is not None and cost.iterations == 500  # VIEW_COST_MIN_TIME_S 0.5 s of 1 ms calls
    assert said == ["view cost of /x in-process (t0)"]
