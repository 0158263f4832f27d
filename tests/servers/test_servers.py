"""Every server kind started for real, behind nginx or direct, and torn down without leftovers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.bench.processes.child import StartFailed
from probes.bench.processes.ports import PortTaken
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig, build_matrix
from probes.bench.servers.memcached import Memcached
from probes.bench.servers.stack import NotApplicable, Stack, http_get, start_stack
from probes.job import project
from probes.job.launcher import Launcher
from tests.conftest import require_binary

pytestmark = pytest.mark.servers
ROOT = Path(__file__).resolve().parents[2]

MATRIX = build_matrix(
    kinds=["gunicorn", "gunicorn-gthread", "uwsgi", "flup-threaded", "flup-prefork"],
    workers=[1, 3],
    fronts=["direct", "nginx"],
    sockets=["tcp", "unix"],
    threads=2,
)


@pytest.fixture(scope="module")
def launcher(memcached: Memcached) -> Iterator[Launcher]:
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        yield Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=memcached)


def _assert_gone(stack: Stack) -> None:
    for child in (stack.server, stack.front):
        if child is not None:
            assert [info for info in child.session() if info.state != "Z"] == [], child.name


@pytest.mark.parametrize("config", MATRIX, ids=lambda config: config.label.replace(" ", "-"))
def test_server_serves_the_probes_and_stops_clean(launcher: Launcher, config: ServerConfig) -> None:
    if config.front == "nginx":
        require_binary("nginx")
    stack = launcher.start(config)
    try:
        trivial = http_get(stack.port, "/probes/trivial/", host_header=launcher.host_header)
        assert (trivial.status, trivial.body) == (200, b"Hello, World!\n")
        session = http_get(stack.port, "/probes/session-cache/", host_header=launcher.host_header)
        assert session.status == 200
        assert "sessionid=" in session.headers["set-cookie"]
        counts = stack.process_counts()
        assert counts["server"] == stack.expected_server_processes()
        if config.front == "nginx":
            assert counts["nginx"] == 2  # master + 1 worker
    finally:
        stack.stop()
    _assert_gone(stack)


def test_fastcgi_without_nginx_is_not_applicable(launcher: Launcher) -> None:
    with pytest.raises(NotApplicable, match="flup-prefork speaks fastcgi only: it needs --front nginx"):
        launcher.start(ServerConfig("flup-prefork", 2, front="direct"))


@pytest.mark.parametrize("kind", ["gunicorn", "uwsgi", "flup-prefork"])
def test_an_app_that_raises_at_import_is_reported_with_its_log(launcher: Launcher, kind: str) -> None:
    front = "nginx" if kind.startswith("flup") else "direct"
    if front == "nginx":
        require_binary("nginx")
    env = project.server_environment(run_dir=launcher.run_dir, database_path=None, memcached_address=None)
    env["SERVEBENCH_TARGET_APP"] = "tests.broken_app:application"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env["PYTHONPATH"]])
    started = time.monotonic()
    with pytest.raises(StartFailed, match="broken_app refuses to load") as excinfo:
        start_stack(
            ServerConfig(kind, 2, front=front),
            supervisor=launcher.supervisor,
            run_dir=launcher.run_dir,
            cwd=launcher.directory,
            env=env,
            host_header=launcher.host_header,
            timeout_s=20,
        )
    assert time.monotonic() - started < 20, "a dead server must be noticed, not waited out"
    assert kind.split("-")[0] in str(excinfo.value).splitlines()[0]
    assert launcher.supervisor.leftovers() == []


def test_a_port_already_taken_is_refused(launcher: Launcher) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortTaken, match=f"port {port} on 127.0.0.1 is already in use"):
            launcher.start(ServerConfig("gunicorn", 1), port=port)


def _wait_for(predicate: object, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(("kind", "log_line"), [("gunicorn", "was sent SIGKILL"), ("uwsgi", "DAMN ! worker")])
def test_a_worker_killed_mid_run_is_named_and_nothing_is_left(launcher: Launcher, kind: str, log_line: str) -> None:
    stack = launcher.start(ServerConfig(kind, 3))
    try:
        workers = [info.pid for info in stack.server.session() if info.pid != stack.server.pid and info.state != "Z"]
        os.kill(workers[0], signal.SIGKILL)
        # The master notices and replaces it.
        assert _wait_for(lambda: any(log_line in line for line in stack.log_warnings()))
        assert _wait_for(lambda: stack.process_counts()["server"] == 4)
        assert http_get(stack.port, "/probes/trivial/", host_header=launcher.host_header).status == 200
    finally:
        stack.stop()
    _assert_gone(stack)


def _processes_of_runs_under(directory: Path) -> list[int]:
    """Processes whose SERVEBENCH_RUN_DIR lies under `directory` (servers servebench started)."""
    marker = f"SERVEBENCH_RUN_DIR={directory}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if any(item.startswith(marker) for item in environ.split(b"\0")):
                found.append(int(entry))
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_servebench_interrupted_mid_configuration_leaves_nothing(tmp_path: Path, sig: int) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "settings.test"}
    argv = [sys.executable, "manage.py", "servebench", "--check", "--server", "gunicorn", "--front", "direct"]
    proc = subprocess.Popen(
        [*argv, "--workers", "3,4,5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: len(_processes_of_runs_under(tmp_path)) >= 4, timeout_s=60), "no server came up"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()  # reaps it and closes its pipes
    assert proc.returncode != 0
    assert "Traceback" not in stderr
    assert _wait_for(lambda: _processes_of_runs_under(tmp_path) == [], timeout_s=10), "servers left running"
    # settings.test keeps its results in servebench-test-results-<uid> under TMPDIR: not a run directory.
    run_dirs = [path for path in tmp_path.glob("servebench-*") if not path.name.startswith("servebench-test-results")]
    assert run_dirs == [], "run directory left behind"


@pytest.mark.parametrize(
    "line",
    [
        "DAMN ! worker 2 (pid: 1329) died, killed by signal 9 :( trying respawn ...",
        "DAMN ! worker 3 (pid: 1330) MISTERIOUSLY killed by signal 9 :( trying respawn ...",
    ],
)
def test_both_ways_uwsgi_names_a_dead_worker_are_read(line: str) -> None:
    from probes.bench.servers.kinds import get_kind

    assert any(pattern.match(line) for pattern in get_kind("uwsgi").log_warnings)


def test_check_requests_the_url_it_is_given_through_each_configuration() -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    argv = ["servebench", "--check", "--server", "gunicorn", "--workers", "1", "--front", "direct"]
    out = StringIO()
    call_command(*argv, "--url", "/probes/sleep/?ms=1", stdout=out, stderr=StringIO())
    assert "gunicorn w1 direct " in out.getvalue() and "OK" in out.getvalue()
    with pytest.raises(CommandError, match=r"gunicorn w1 direct: GET /probes/status/\?code=404 answered 404"):
        call_command(*argv, "--url", "/probes/status/?code=404", stdout=StringIO(), stderr=StringIO())
