"""--locust-workers 2: the test starts two `locust --worker` processes itself, from the command servebench
prints (as a user would), and servebench measures two windows with them: the run's master outlives each
window, so the user's workers are still connected for the second (a master per window ended them)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from probes.bench.loadgen.locust.driver import close_fleets
from probes.bench.loadgen.locust.setup import LocustSetup
from probes.bench.loadgen.model import LoadgenError, LoadSpec
from probes.bench.measure.window import drive
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.bench.servers.stack import Stack
from probes.job.launcher import Launcher

pytestmark = pytest.mark.servers


@pytest.fixture
def stack() -> Iterator[tuple[Stack, Launcher]]:
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        launcher = Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=None)
        started = launcher.start(ServerConfig("gunicorn", 2, front="direct"))
        try:
            yield started, launcher
        finally:
            started.stop()


def _start_workers(line: str, started: list[subprocess.Popen[bytes]]) -> None:
    """What a user does with the printed line: run its command, twice."""
    words = shlex.split(line.split("each with: ", 1)[1])
    env = dict(os.environ)
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    if words[0] == "locust":  # as installed beside servebench
        words[0:1] = [sys.executable, "-m", "locust"]
    for _ in range(2):
        started.append(subprocess.Popen(words, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def test_two_workers_the_user_starts_serve_two_windows(stack: tuple[Stack, Launcher]) -> None:
    served, launcher = stack
    started: list[subprocess.Popen[bytes]] = []
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        _start_workers(line, started)

    setup = LocustSetup(workers=0, user_workers=2, say=say)
    spec = LoadSpec(path="/probes/trivial/", port=served.port, host_header=launcher.host_header, concurrency=4)
    spec = replace(spec, duration_s=1.0, warmup_s=0.3)
    try:
        windows = [drive(spec, "locust", None, locust=setup) for _ in range(2)]
        assert all(worker.poll() is None for worker in started), "the user's workers outlive each window"
    finally:
        close_fleets()
        for worker in started:
            try:
                worker.wait(timeout=15)  # the master's end tells them to quit
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
                raise
    assert len(said) == 1 and "--worker --master-host 127.0.0.1 --master-port" in said[0], said
    for window in windows:
        assert window.errors == {} and window.ok == window.requests > 0, window
        assert len([n for n in window.notes if "2 worker(s) you started" in n]) == 1, window.notes
        assert window.cpu_user_s + window.cpu_system_s > 0  # both workers' CPU, from their seconds


def test_workers_that_do_not_come_end_the_run_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import probes.bench.loadgen.locust.driver as driver

    monkeypatch.setattr(driver, "WORKERS_WAIT_S", 3.0)
    said: list[str] = []
    setup = LocustSetup(workers=0, user_workers=2, say=said.append)
    with pytest.raises(LoadgenError, match=r"^locust: 0 of 2 worker\(s\) connected within 3 s$"):
        drive(LoadSpec(path="/", port=9, duration_s=1.0), "locust", None, locust=setup)
    assert len(said) == 1 and not driver._fleets  # the master it started is gone with the refusal
