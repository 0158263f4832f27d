"""--locustfile: the user's own classes run unchanged under servebench's plugin, with --login-as's session;
the report is per request name (a GET page and a POST that writes) and in total."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.bench.model.results import Suite
from tests.servers.test_requests_beyond_get import SHORT, counted, manage, project

__all__ = ["project"]  # the fixture: a project with the user alice
pytestmark = pytest.mark.servers

FLOWS = """
from locust import task
from locust.contrib.fasthttp import FastHttpUser


class Visitor(FastHttpUser):
    @task(3)
    def page(self):
        self.client.get("/count/a/", name="page")

    @task(1)
    def write(self):
        self.client.post("/count/b/", data="note=7", name="write",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
"""


def test_a_locustfile_is_reported_per_request_name(project: Path) -> None:
    flows = project / "flows.py"
    flows.write_text(FLOWS)
    out = project / "flows.json"
    argv = ["--url", "/count/a/", "--locustfile", str(flows), "--login-as", "alice", "--loadgen", "locust", *SHORT]
    done = manage(project, "servebench", *argv, "--json", str(out))
    assert done.returncode == 0, done.stderr
    (run,) = Suite.load(out).runs
    assert run.quality != "failing", run.quality_reasons
    (sample,) = run.samples
    figures = {f.label: f for f in sample.per_request}
    assert set(figures) == {"page", "write"}
    assert figures["page"].status_counts.keys() == {200} and figures["write"].status_counts.keys() == {200}
    assert figures["page"].sent + figures["write"].sent == sample.requests and sample.errors == {}
    assert figures["write"].latency_ms["p50"] > 0
    received = counted(project, sample.served_by_pid)
    # The POST wrote as alice: her session cookie and CSRF token reached the user's own class.
    assert ("POST", "b", "alice", "note=7") in set(received)
    assert {(m, n, u) for m, n, u, _ in received} == {("GET", "a", "alice"), ("POST", "b", "alice")}
