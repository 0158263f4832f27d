"""servebench POSTs with a body and a CSRF token (--login-as), and sends a --urls mix in its weights'
proportions, counted on the server's side (every server process appends what it received to one file)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from probes.bench.model.results import Suite

ROOT = Path(__file__).resolve().parents[2]
SHORT = ["--server", "gunicorn", "--workers", "1", "--front", "direct", "--duration", "1", "--warmup", "0"]
SHORT += ["--repeat", "1"]


def manage(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_project_csrf",
        "SERVEBENCH_DB": str(tmp_path / "project.sqlite3"),
        "SERVEBENCH_TEST_COUNTS": str(tmp_path / "counts.log"),
        "TMPDIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert manage(tmp_path, "migrate", "-v", "0").returncode == 0
    create = "from django.contrib.auth.models import User; User.objects.create_user('alice', password='x')"
    assert manage(tmp_path, "shell", "-c", create).returncode == 0
    return tmp_path


def counted(tmp_path: Path, pids: object = None) -> list[tuple[str, str, str, str]]:
    """(method, name, user, body) of every request the counting view received: in the server processes `pids`
    (a Sample's served_by_pid), or anywhere (servebench's own in-process calls too)."""
    text = (tmp_path / "counts.log").read_text() if (tmp_path / "counts.log").exists() else ""
    lines = [line.split(" ", 4) for line in text.splitlines()]
    return [(m, n, u, b) for m, n, u, pid, b in lines if pids is None or pid in pids]  # type: ignore[operator]


@pytest.mark.servers
def test_a_post_refused_for_csrf_names_the_fix(project: Path) -> None:
    done = manage(project, "servebench", "--url", "/count/b/", "--data", "note=1", *SHORT)
    assert done.returncode == 1
    assert (
        "POST /count/b/ answered 403: CSRF: Forbidden (CSRF cookie not set.): /count/b/: the view refused it for"
        in (done.stderr)
    )
    assert "t0 not measured: POST /count/b/ answered 403 in-process (CSRF? --login-as USERNAME" in done.stderr
    assert counted(project) == []  # refused before the view: nothing delivered


@pytest.mark.servers
@pytest.mark.parametrize("generator", ["builtin", "wrk"])
def test_a_post_with_login_as_delivers_its_body_with_the_csrf_token(project: Path, generator: str) -> None:
    out = project / "post.json"
    argv = ["--url", "/count/b/", "--data", "note=1", "--login-as", "alice", "--loadgen", generator, *SHORT]
    done = manage(project, "servebench", *argv, "--json", str(out))
    assert done.returncode == 0, done.stderr
    suite = Suite.load(out)
    ((cost,), (run,)) = suite.view_costs, suite.runs
    assert cost.status == 200 and run.quality != "failing", run.quality_reasons
    (sample,) = run.samples
    assert set(counted(project)) == {("POST", "b", "alice", "note=1")}  # t0's calls included
    # In the server: the proof (and wrk's preflight), then the window's (those in flight at its end may land).
    served = len(counted(project, sample.served_by_pid))
    assert sample.requests + 1 <= served
    if not run.set_aside:  # windows another process shared were sent too, and are not in the samples
        assert served <= sample.requests + run.concurrency + 2


@pytest.mark.servers
@pytest.mark.parametrize("generator", ["builtin", "wrk"])
def test_a_urls_mix_is_received_in_its_weights(project: Path, generator: str) -> None:
    mix = project / "mix.txt"
    mix.write_text("1 GET /count/a/\n3 POST /count/b/ note=2\n6 PUT /count/c/ {}\n")
    out = project / "mix.json"
    argv = ["--urls", str(mix), "--login-as", "alice", "--loadgen", generator, "--content-type", "application/json"]
    done = manage(project, "servebench", *argv, *SHORT, "--json", str(out))
    assert done.returncode == 0, done.stderr
    (run,) = Suite.load(out).runs
    assert run.quality != "failing", run.quality_reasons
    received = counted(project, run.samples[0].served_by_pid)
    assert {(m, n, b) for m, n, _, b in received} == {("GET", "a", ""), ("POST", "b", "note=2"), ("PUT", "c", "{}")}
    by_name = Counter(name for _, name, _, _ in received)
    total = sum(by_name.values())
    assert total > 300
    for name, weight in (("a", 1), ("b", 3), ("c", 6)):
        assert abs(by_name[name] / total - weight / 10) < 0.03, (name, by_name)
    figures = {f.label: f for f in run.samples[0].per_request}
    assert list(figures) == ["GET /count/a/", "POST /count/b/", "PUT /count/c/"]
