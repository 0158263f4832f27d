"""--locustfile, --locust-processes, refused in one line before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from probes.bench.loadgen.hosts import ClientHost, Remote
from probes.bench.loadgen.plan import LoadPlan
from probes.cli.inputs import Refused
from probes.cli.locust import with_locust

REMOTE = Remote((ClientHost("netns", "client"),), "10.0.0.1", ("10.0.0.2",))


def test_workers_the_user_starts_replace_servebench_s() -> None:
    plan = with_locust(_options(locust_workers=3), LoadPlan("/", "h", generator="locust"))
    assert plan is not None and plan.locust is not None
    assert (plan.locust.workers, plan.locust.user_workers) == (0, 3)


def _options(**given: Any) -> dict[str, Any]:
    return {"locustfile": None, "locust_processes": None, "locust_workers": None, **given}


def test_the_options_go_with_locust_only() -> None:
    with pytest.raises(Refused, match="^--locustfile goes with --loadgen locust$"):
        with_locust(_options(locustfile="x.py"), LoadPlan("/", "h", generator="wrk"))
    assert with_locust(_options(), LoadPlan("/", "h", generator="wrk")) == LoadPlan("/", "h", generator="wrk")


def test_the_setup_is_read_once_from_the_path_given(tmp_path: Path) -> None:
    flows = tmp_path / "flows.py"
    flows.write_text("X = 1\n")
    plan = with_locust(_options(locustfile=str(flows), locust_processes=2), LoadPlan("/", "h", generator="locust"))
    assert plan is not None and plan.locust is not None
    assert (plan.locust.locustfile, plan.locust.locustfile_text) == (str(flows), "X = 1\n")
    assert plan.locust.workers == 2
    link = tmp_path / "link.py"
    link.symlink_to(flows)
    with pytest.raises(Refused, match="symbolic link"):
        with_locust(_options(locustfile=str(link)), LoadPlan("/", "h", generator="locust"))


@pytest.mark.parametrize(
    ("given", "plan", "message"),
    [
        ({"locust_processes": 0}, LoadPlan("/", "h", generator="locust"), "--locust-processes 0: from 1 to 64"),
        ({"locust_processes": 65}, LoadPlan("/", "h", generator="locust"), "--locust-processes 65: from 1 to 64"),
        ({"locustfile": "f.py"}, LoadPlan("/", "h", generator="locust", rate=5.0), "--rate with --locustfile"),
        ({"locust_workers": 0}, LoadPlan("/", "h", generator="locust"), "^--locust-workers 0: from 1 to 64$"),
        ({"locust_workers": 65}, LoadPlan("/", "h", generator="locust"), "^--locust-workers 65: from 1 to 64$"),
        ({"locust_workers": 2, "locust_processes": 2}, LoadPlan("/", "h", generator="locust"), "either the workers"),
        (
            {"locust_workers": 2},
            LoadPlan("/", "h", generator="locust", remote=REMOTE),
            "connect to a master on loopback",
        ),
        ({"locust_workers": 2}, LoadPlan("/", "h", generator="wrk"), "^--locust-workers goes with --loadgen locust$"),
    ],
)
def test_what_locust_cannot_run_is_refused(given: dict[str, Any], plan: LoadPlan, message: str) -> None:
    with pytest.raises(Refused, match=message):
        with_locust(_options(**given), plan)
