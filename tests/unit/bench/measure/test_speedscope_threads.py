"""--profile under ASGI: asgiref's executor threads' samples apart from the event loop's (py-spy's thread names)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probes.bench.judge.wording import thread_shares_text
from probes.bench.measure.speedscope import Profile, read_speedscope

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "profile_small.speedscope.json"
SITE = Path(__file__).resolve().parents[4]


def split_worker(tmp_path: Path) -> Path:
    """The fixture's worker (pid 101), its first 3 samples moved to an asgiref executor thread."""
    data = json.loads(FIXTURE.read_text())
    worker = data["profiles"][1]
    executor = {**worker, "name": 'Process 101 Thread 7 "ThreadPoolExecutor-12_0"', "samples": worker["samples"][:3]}
    executor["weights"] = worker["weights"][:3]
    worker["samples"], worker["weights"] = worker["samples"][3:], worker["weights"][3:]
    data["profiles"].append(executor)
    path = tmp_path / "split.speedscope.json"
    path.write_text(json.dumps(data))
    return path


def test_the_busy_samples_are_split_by_thread(tmp_path: Path) -> None:
    profile = read_speedscope(split_worker(tmp_path), project_dirs=[Path("/srv/shop")], probes_dir=SITE / "probes")
    # 10 samples of the worker, 1 idle (on the main thread): 6 busy on the loop, 3 on the executor.
    assert profile.threads == pytest.approx({"main thread": 6 / 9, "executor threads": 3 / 9})
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    assert thread_shares_text("uvicorn", profile.threads) == (
        " by thread: event loop 67 %, asgiref executor threads 33 %;"
    )
    assert thread_shares_text("gunicorn-gthread", profile.threads) == (
        " by thread: main thread 67 %, executor threads 33 %;"
    )


def test_a_profile_of_one_thread_keeps_its_keys() -> None:
    profile = read_speedscope(FIXTURE, project_dirs=[Path("/srv/shop")], probes_dir=SITE / "probes")
    assert profile.threads == {}
    assert "threads" not in profile.to_dict()
    assert thread_shares_text("uvicorn", profile.threads) == ""
