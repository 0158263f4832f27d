"""Two runs at once in one RESULTS_DIR each keep their results (issue 21, item 3)."""

from __future__ import annotations

import multiprocessing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from probes.bench.model.results import Suite
from probes.cli import inputs
from probes.job.run import claim_results, save
from tests.factories import METADATA

SAME_INSTANT = datetime(2026, 12, 4, 18, 55, 16, 123456)


class _Frozen(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:  # type: ignore[override]
        return cls.fromtimestamp(SAME_INSTANT.timestamp())


def _one_run(writer: int, results: str, barrier: Any) -> None:
    """What a servebench run does with its results file: name it, then save after each configuration."""
    pytest.MonkeyPatch().setattr(inputs, "datetime", _Frozen)
    from django.conf import settings
    from django.test import override_settings

    # override_settings resets servebench's cached configuration (a plain assignment would not).
    with override_settings(SERVEBENCH={**settings.SERVEBENCH, "RESULTS_DIR": results}):
        barrier.wait()
        path = claim_results(inputs.results_path("sweep"), lambda line: None)
        for step in range(3):
            save(Suite(metadata=METADATA, housekeeping={"writer": writer, "step": step}), [path])


def test_two_runs_started_in_the_same_millisecond_keep_both_results(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    runs = [context.Process(target=_one_run, args=(writer, str(tmp_path), barrier)) for writer in (1, 2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=60)
        assert run.exitcode == 0
    saved = sorted(tmp_path.glob("sweep-*.json"))
    assert len(saved) == 2, saved
    assert sorted(Suite.load(path).housekeeping["writer"] for path in saved) == [1, 2]
    assert all(Suite.load(path).housekeeping["step"] == 2 for path in saved)
    assert all(path.name.startswith("sweep-20261204-185516-123-") for path in saved)


def test_a_name_another_run_holds_is_never_replaced(tmp_path: Path) -> None:
    taken = tmp_path / "sweep-20261204-185516-123-4242.json"
    taken.write_text("another run's results\n")
    said: list[str] = []
    path = claim_results(taken, said.append)
    save(Suite(metadata=METADATA), [path])
    assert taken.read_text() == "another run's results\n"
    assert path == tmp_path / "sweep-20261204-185516-123-4242-2.json"
    assert Suite.load(path).metadata == METADATA
    assert said == [f"{taken.name} was taken by another run: these results go to {path}"]


def test_a_planted_link_at_the_name_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    planted = tmp_path / "sweep-x.json"
    planted.symlink_to(victim)
    path = claim_results(planted, lambda line: None)
    save(Suite(metadata=METADATA), [path])
    assert victim.read_text() == "keep me\n" and path != planted
