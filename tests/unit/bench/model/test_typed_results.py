"""The typed results (AppTotals, TreeMemory, Run.summary, Suite.memory_models) and their JSON, exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from probes.bench.model.app import AppTotals
from probes.bench.model.memory import TreeMemory
from probes.bench.model.results import Suite
from tests.factories import METADATA, run, sample

SAVED = Path(__file__).resolve().parents[3] / "fixtures" / "saved"


@pytest.mark.parametrize("name", ["sweep", "explain"])
def test_a_saved_result_dumps_its_samples_and_memory_under_the_same_keys(name: str) -> None:
    data = json.loads((SAVED / f"{name}.json").read_text())
    dumped = Suite.from_dict(data).to_dict()
    for saved, again in zip(data["runs"], dumped["runs"], strict=True):
        assert again["memory"] == saved["memory"]
        assert again["nginx_memory"] == saved["nginx_memory"]
        assert [s["app"] for s in again["samples"]] == [s["app"] for s in saved["samples"]]


def test_an_older_sample_missing_counters_reads_them_as_zero() -> None:
    data = json.loads(json.dumps(Suite(metadata=METADATA, runs=(run(1, [100.0]),)).to_dict()))
    data["runs"][0]["samples"][0]["app"] = {"requests": 200, "app_wall_ns": 4_000_000}
    del data["runs"][0]["memory"]
    loaded = Suite.from_dict(data).runs[0]
    assert loaded.samples[0].app == AppTotals(requests=200, app_wall_ns=4_000_000)
    assert loaded.memory == TreeMemory()
    assert loaded.summary.total_pss_bytes is None


def test_a_suite_round_trips_through_json(tmp_path: Path) -> None:
    suite = Suite(metadata=METADATA, runs=(run(1, [100.0, 120.0]), run(2, [190.0])))
    suite.dump(tmp_path / "s.json")
    assert Suite.load(tmp_path / "s.json") == suite
    assert json.loads((tmp_path / "s.json").read_text())["runs"][0]["memory"][0]["pss_bytes"] == 15_000_000


def test_the_summary_of_a_run() -> None:
    summary = run(2, [1000.0, 1100.0, 900.0]).summary
    assert (summary.rps.median, summary.rps.low, summary.rps.high) == (1000.0, 900.0, 1100.0)
    assert summary.latency_ms == {"p50": 2.5, "p90": 4.0, "p99": 9.25}
    assert summary.errors == 0
    assert summary.cpu_us_per_request == {"client": 50.0, "nginx": 100.0, "server": 500.0}
    assert summary.total_cpu_us_per_request == 650.0
    assert summary.serving_processes == 2
    assert (summary.uss_per_worker_bytes, summary.total_pss_bytes) == (20_000_000, 75_000_000)


def test_the_errors_of_a_run_are_its_answers_that_failed() -> None:
    failed = replace(run(1, [500.0]), samples=(sample(500.0, requests=1010),))
    assert failed.summary.errors == 10


def test_the_memory_model_is_fitted_once_per_kind_app_and_front() -> None:
    suite = Suite(metadata=METADATA, runs=(run(1, [1.0]), run(2, [1.0]), run(4, [1.0])))
    (model,) = suite.memory_models
    assert (model.kind, model.app, model.front) == ("gunicorn", "project", "nginx")
    assert model.points == ((1, 45_000_000.0), (2, 75_000_000.0), (4, 135_000_000.0))
    assert model.fit is not None
    assert (model.fit.base_bytes, model.fit.per_worker_bytes) == pytest.approx((15_000_000, 30_000_000))
    assert suite.memory_models is suite.memory_models  # computed once
