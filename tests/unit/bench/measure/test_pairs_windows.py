"""measure_pairs' loop without servers: ABBA order, servers started for each pair, a pair another process
shared measured again (on the same servers), and without a fixed count, pairs until the r/s interval is narrow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from probes.bench.loadgen import LoadResult, LoadSpec
from probes.bench.loadgen.plan import LoadPlan
from probes.bench.measure import pairs, repeats
from probes.bench.model.memory import TreeMemory
from probes.bench.model.results import Sample
from probes.bench.servers.kinds import ServerConfig
from tests.factories import sample as factory_sample

PLAN = LoadPlan(path="/", host_header="127.0.0.1", generator="wrk", concurrency=8, duration_s=1.0, warmup_s=0.5)


class Load:
    """Each window's side (from its stack's port) recorded; the windows listed in `shared` took 40 % of the
    cores to another process."""

    def __init__(self, shared: set[int], rps: Callable[[int], float] = lambda window: 1000.0) -> None:
        self.shared = shared
        self.rps = rps  # each window's r/s, by its index
        self.sides: list[str] = []
        self.events: list[str] = []  # "start A", "stop A", and each window's side

    def drive(self, spec: LoadSpec, generator: str, client_cores: Any, **kwargs: Any) -> LoadResult:
        return LoadResult("wrk", spec.duration_s, 1000, 1000, {}, {200: 1000}, None, {}, 0)

    def measure_window(self, stack: Any, spec: LoadSpec, **kwargs: Any) -> tuple[Sample, dict[int, Any]]:
        others = 0.4 if len(self.sides) in self.shared else 0.0
        self.sides.append(stack.side)
        self.events.append(stack.side)
        window = replace(
            factory_sample(self.rps(len(self.sides) - 1)),
            duration_s=spec.duration_s,
            wall_s=spec.duration_s,
            machine_busy_s=1.3 + others * 2 * spec.duration_s,
        )
        return window, {}


def measure(monkeypatch: pytest.MonkeyPatch, load: Load, count: int, most: int | None = None) -> dict[str, Any]:
    monkeypatch.setattr(repeats, "drive", load.drive)
    monkeypatch.setattr(pairs, "measure_window", load.measure_window)
    monkeypatch.setattr(pairs, "measure_tree_memory", lambda pid: TreeMemory())

    def start(side: str) -> Any:
        def started(config: ServerConfig) -> Any:
            load.events.append(f"start {side}")
            return SimpleNamespace(
                side=side,
                stop=lambda: load.events.append(f"stop {side}"),
                log_warnings=lambda: [],
                stats_dir=None,
                front=None,
                port=1,
                server=SimpleNamespace(pid=1),
            )

        return started

    sides = {side: pairs.Side(start=start(side)) for side in pairs.SIDES}
    config = ServerConfig("gunicorn", 1, front="direct")
    return pairs.measure_pairs(
        config, PLAN, sides=sides, pairs=count, most=most, service_pids={}, progress=lambda line: None
    )


def test_the_windows_alternate_in_abba_order(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Load(shared=set())
    runs = measure(monkeypatch, load, 4)
    assert "".join(load.sides) == "ABBAABBA"
    assert [len(runs[side].samples) for side in "AB"] == [4, 4] and runs["A"].set_aside == 0


def test_each_pair_runs_on_servers_started_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Load(shared={3})  # pair 2 measured again: on the servers it started with, not new ones
    measure(monkeypatch, load, 2)
    assert load.events == [
        *("start A", "start B", "A", "B", "stop A", "stop B"),
        *("start B", "start A", "B", "A", "B", "A", "stop B", "stop A"),
    ]


def test_a_pair_another_process_shared_is_measured_again_in_its_order(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Load(shared={3})  # the second window of pair 2 (B A): that pair again, as B A
    runs = measure(monkeypatch, load, 4)
    assert "".join(load.sides) == "ABBABAABBA"
    assert [len(runs[side].samples) for side in "AB"] == [4, 4]
    assert runs["A"].set_aside == runs["B"].set_aside == 1
    assert not any(sample.machine_busy_s > 2 for run in runs.values() for sample in run.samples)


def test_pairs_measured_again_at_most_half_as_often_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Load(shared=set(range(100)))  # every window shared: 4 pairs, 2 of them again, then kept
    runs = measure(monkeypatch, load, 4)
    assert len(load.sides) == 12 and runs["A"].set_aside == 2
    assert [len(runs[side].samples) for side in "AB"] == [4, 4]


def test_without_a_fixed_count_steady_pairs_stop_at_the_least(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Load(shared=set(), rps=lambda window: 1000.0 + window % 3)  # every pair within 0.2 %
    runs = measure(monkeypatch, load, 12, most=32)
    assert [len(runs[side].samples) for side in "AB"] == [12, 12]


def test_without_a_fixed_count_noisy_pairs_go_on_to_the_most(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Load(shared=set(), rps=lambda window: 1000.0 * (1.1 if window % 4 in (1, 2) else 0.9) ** (window % 5))
    runs = measure(monkeypatch, load, 12, most=20)
    assert [len(runs[side].samples) for side in "AB"] == [20, 20]
    assert "".join(load.sides) == "ABBA" * 10


def test_without_a_fixed_count_pairs_stop_only_after_a_whole_abba_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # Noisy for the first 14 pairs (28 windows), then steady: the interval narrows as the pairs go on, and the
    # loop stops at an even count.
    load = Load(shared=set(), rps=lambda window: 1000.0 * (1.08 if window % 3 == 0 and window < 28 else 1.0))
    runs = measure(monkeypatch, load, 12, most=40)
    measured = len(runs["A"].samples)
    assert 12 < measured < 40 and measured % 2 == 0
