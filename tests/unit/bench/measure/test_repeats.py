"""measure_config's loop without a server: windows sized by requests, repeats until sure, shared windows set aside.

The stack, the load and the window are stand-ins; what is checked is what the loop asks for and keeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from probes.bench.loadgen import LoadResult, LoadSpec
from probes.bench.loadgen.plan import LoadPlan
from probes.bench.measure import repeats, sweep
from probes.bench.model.diagnosis import ViewTime
from probes.bench.model.memory import TreeMemory
from probes.bench.model.results import Sample
from probes.bench.servers.kinds import ServerConfig
from probes.report.lines import window_lines
from tests.factories import sample as factory_sample


class FakeLoad:
    """The warm-up's drives and the measured windows, recorded; each window's r/s and shared share from a script."""

    def __init__(self, *, warm_rps: float, windows: list[tuple[float, float]]) -> None:
        self.warm_rps = warm_rps
        self.windows: Iterator[tuple[float, float]] = iter(windows)
        self.warm_s: list[float] = []
        self.window_s: list[float] = []

    def drive(self, spec: LoadSpec, generator: str, client_cores: set[int] | None, **kwargs: Any) -> LoadResult:
        self.warm_s.append(spec.duration_s)
        done = int(self.warm_rps * spec.duration_s)
        return LoadResult("wrk", spec.duration_s, done, done, {}, {200: done}, None, {}, 0)

    def measure_window(self, stack: Any, spec: LoadSpec, **kwargs: Any) -> tuple[Sample, dict[int, Any]]:
        self.window_s.append(spec.duration_s)
        rps, others = next(self.windows)
        ok = int(rps * spec.duration_s)
        window = replace(
            factory_sample(rps),
            duration_s=spec.duration_s,
            requests=ok,
            ok=ok,
            wall_s=spec.duration_s,
            # machine busy = the roles' CPU + what another process took (a share of 2 cores)
            machine_busy_s=1.3 + others * 2 * spec.duration_s,
            target_requests=kwargs["target_requests"],
        )
        return window, {}


class QuietWatch:
    """No process of the stand-in stack ever ends (measure/ended.py is tested on its own)."""

    def __init__(self, stack: Any, watched: Any) -> None:
        self.stack = stack

    def check(self) -> None:
        return None

    def cause(self, *, when: str) -> None:
        return None


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(load: FakeLoad) -> FakeLoad:
        monkeypatch.setattr(repeats, "drive", load.drive)
        monkeypatch.setattr(sweep, "measure_window", load.measure_window)
        monkeypatch.setattr(sweep, "measure_tree_memory", lambda pid: TreeMemory())
        monkeypatch.setattr(sweep, "Watch", QuietWatch)
        return load

    return install


def stack(config: ServerConfig) -> Any:
    return SimpleNamespace(
        stop=lambda: None, log_warnings=lambda: [], stats_dir=None, front=None, port=1, server=SimpleNamespace(pid=1)
    )


def measure(plan: LoadPlan) -> Any:
    return sweep.measure_config(ServerConfig("gunicorn", 1, front="direct"), plan, start=stack, service_pids={})


PLAN = LoadPlan(
    path="/",
    host_header="127.0.0.1",
    generator="wrk",
    concurrency=8,
    repeat=2,
    duration_s=2.0,
    warmup_s=1.0,
    max_repeat=6,
)


def test_two_windows_that_agree_are_enough(fake: Any) -> None:
    fake(FakeLoad(warm_rps=1000.0, windows=[(1000.0, 0.0), (1001.0, 0.0), (990.0, 0.0)]))
    run = measure(PLAN)
    assert len(run.samples) == 2 and run.set_aside == 0
    assert all(s.target_requests == 200 for s in run.samples)
    assert run.quality == "ok"


def test_a_spread_median_is_measured_again_up_to_the_cap_and_then_says_its_interval(fake: Any) -> None:
    # Wider than ±10 % after the cap: noisy, with its interval (±3 % to ±10 % would be the machine's drift).
    rates = [1000.0, 1300.0, 700.0, 1250.0, 750.0, 1000.0, 1000.0]
    load = fake(FakeLoad(warm_rps=1000.0, windows=[(rate, 0.0) for rate in rates]))
    run = measure(PLAN)
    assert len(load.window_s) == 6 and len(run.samples) == 6
    assert run.quality == "noisy"
    assert run.quality_reasons[0].startswith("the median r/s is known to ±")
    assert run.quality_reasons[0].endswith("after 6 windows, wider than ±10 %")
    [line] = window_lines([run])
    assert line.startswith("gunicorn w1 direct: the median r/s is known to ±") and line.endswith("after 6 windows")


def test_a_shared_window_is_set_aside_and_measured_again(fake: Any) -> None:
    windows = [(1000.0, 0.0), (600.0, 0.44), (1001.0, 0.0)]
    load = fake(FakeLoad(warm_rps=1000.0, windows=windows))
    run = measure(PLAN)
    assert [s.ok_per_s for s in run.samples] == [1000.0, 1001.0]
    assert run.set_aside == 1
    assert len(load.window_s) == 3


def test_a_machine_shared_run_whose_kept_windows_agree_gives_no_interval_line(fake: Any) -> None:
    # Noisy for the shared machine, yet its two kept windows agree to 0.1 %: the report names what was set
    # aside, and no interval wider than ±3 % it does not have.
    windows = [(600.0, 0.5), (601.0, 0.5), (600.0, 0.5), (601.0, 0.5), (1000.0, 0.3), (1001.0, 0.3)]
    fake(FakeLoad(warm_rps=1000.0, windows=windows))
    run = measure(PLAN)
    assert run.quality == "noisy" and run.set_aside == 4
    [line] = window_lines([run])
    assert "known to" not in line and "4 windows set aside and measured again" in line


def test_every_window_shared_stops_at_the_cap_and_keeps_the_last_ones_asked_for(fake: Any) -> None:
    load = fake(FakeLoad(warm_rps=1000.0, windows=[(600.0 + i, 0.5) for i in range(8)]))
    run = measure(PLAN)
    assert len(load.window_s) == 6 and run.set_aside == 4
    assert [s.ok_per_s for s in run.samples] == [604.0, 605.0]
    assert run.quality == "noisy" and "another process shared the machine" in run.quality_reasons[-1]


def test_a_slow_views_windows_last_long_enough_for_its_requests(fake: Any) -> None:
    # 22 r/s (a ~400 ms page on 8 connections): 200 requests need ~9 s, not the 2 s asked for.
    load = fake(FakeLoad(warm_rps=22.0, windows=[(22.0, 0.0)] * 6))
    run = measure(PLAN)
    assert all(9.0 <= seconds <= 20.0 for seconds in load.window_s), load.window_s
    assert all(s.requests >= 200 and not s.capped for s in run.samples)
    # The warm-up is sized the same way: the first second, then the rest at the rate it measured.
    assert load.warm_s[0] == 1.0 and sum(load.warm_s) >= 200 / 22.0


def test_the_cap_bounds_a_window_and_the_window_says_it_fell_short(fake: Any) -> None:
    load = fake(FakeLoad(warm_rps=5.0, windows=[(5.0, 0.0)] * 6))
    run = measure(replace(PLAN, max_window_s=4.0))
    assert max(load.window_s) == 4.0 and max(load.warm_s) <= 4.0
    assert run.samples[0].capped and run.summary.capped_windows == len(run.samples)
    assert run.summary.least_requests == 20


def test_a_fast_views_window_keeps_its_duration(fake: Any) -> None:
    load = fake(FakeLoad(warm_rps=5000.0, windows=[(5000.0, 0.0)] * 6))
    measure(PLAN)
    assert load.window_s[0] == 2.0 and load.warm_s == [1.0]


def test_a_fast_views_warm_up_is_not_stretched_to_a_window(fake: Any) -> None:
    # t0 says 5,000 r/s: 200 requests take 46 ms, so the warm-up is warmup_s, not the window's 2 s floor.
    load = fake(FakeLoad(warm_rps=5000.0, windows=[(5000.0, 0.0)] * 6))
    t0 = ViewTime(wall_s=0.0016, cpu_s=0.0004, source="in-process")
    sweep.measure_config(ServerConfig("gunicorn", 1, front="direct"), PLAN, start=stack, service_pids={}, t0=t0)
    assert load.warm_s == [PLAN.warmup_s]
    assert PLAN.first_warmup_s(8, 22.0) == pytest.approx(1.15 * 200 / 22.0)
    assert PLAN.first_warmup_s(8, 1.0) == PLAN.window_cap_s and PLAN.first_warmup_s(8, None) == PLAN.warmup_s


def test_the_plan_sizes_a_window_by_requests_within_its_cap() -> None:
    assert PLAN.window_requests(8) == 200 and PLAN.window_requests(16) == 400
    assert PLAN.window_cap_s == 20.0
    assert PLAN.window_s(8, 100.0) == pytest.approx(2.3)
    assert PLAN.window_s(8, 1.0) == 20.0
    assert PLAN.window_s(8, None) == 2.0


def test_the_report_says_what_a_capped_window_costs_and_what_was_set_aside(fake: Any) -> None:
    fake(FakeLoad(warm_rps=5.0, windows=[(5.0, 0.5), (5.0, 0.0), (5.0, 0.0)]))
    run = measure(replace(PLAN, max_window_s=4.0, max_repeat=3))
    assert window_lines([run]) == [
        "gunicorn w1 direct: 2 windows reached the 4 s cap with as few as 20 of the 200 requests sized for:"
        " the 8 in flight at its edges weigh up to ±40 % in its figures;"
        " 1 window set aside and measured again: another process took ≥ 25 % of the cores"
    ]


def test_rows_short_of_3_percent_are_summed_up_in_one_line(fake: Any) -> None:
    fake(FakeLoad(warm_rps=1000.0, windows=[(rate, 0.0) for rate in (1000.0, 1001.0)]))
    sure = measure(PLAN)
    fake(FakeLoad(warm_rps=1000.0, windows=[(rate, 0.0) for rate in (1000.0, 1060.0, 960.0, 1040.0, 980.0, 1020.0)]))
    drifting = measure(PLAN)
    assert (sure.quality, drifting.quality) == ("ok", "ok")
    pct = drifting.summary.rps_interval_pct
    assert pct is not None and 3.0 < pct < 10.0
    assert window_lines([sure, drifting]) == [
        f"r/s to ±3 % (95 % interval) in 1 of 2 rows, the widest ±{pct:.1f} % (gunicorn w1 direct); 2-6 windows each"
    ]


def test_one_window_kept_beside_those_set_aside_says_it_has_no_interval(fake: Any) -> None:
    windows = [(600.0, 0.5), (601.0, 0.5), (602.0, 0.5), (1000.0, 0.0), (603.0, 0.5), (604.0, 0.5)]
    fake(FakeLoad(warm_rps=1000.0, windows=windows))
    run = measure(PLAN)
    assert (len(run.samples), run.set_aside) == (1, 5)
    [line] = window_lines([run])
    assert line.endswith("; only 1 window kept, so its r/s has no interval")
