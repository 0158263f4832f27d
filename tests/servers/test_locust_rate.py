"""--loadgen locust --rate 500: the plugin's open-loop user holds the rate and times each request from its
intended start, so a 0.5 s stall of the server (SIGSTOP of its processes) shows in p99 (>= 400 ms), as
with the built-in generator; locust's own statistics would count only the requests in flight."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import replace

import pytest

from probes.bench.loadgen.locust.setup import LocustSetup
from probes.bench.loadgen.model import LoadSpec
from probes.bench.measure.window import drive
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.bench.servers.stack import Stack
from probes.job.launcher import Launcher

pytestmark = pytest.mark.servers
STALL_S = 0.5


def _stall(stack: Stack) -> None:
    """SIGSTOP every process of the server for STALL_S, then SIGCONT (ours: the stack's own tree)."""
    pids = [info.pid for info in stack.server.tree()]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        threading.Event().wait(STALL_S)  # the stall's length itself, not a wait for readiness
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize("generator", ["locust", "builtin"])
def test_a_half_second_stall_shows_in_p99(generator: str) -> None:
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        launcher = Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=None)
        stack = launcher.start(ServerConfig("gunicorn", 2, front="direct"))
        stalls: list[threading.Timer] = []
        try:
            spec = LoadSpec(path="/probes/trivial/", port=stack.port, host_header=launcher.host_header)
            spec = replace(spec, rate=500.0, concurrency=64, duration_s=3.0, warmup_s=0.5)

            def stall_soon() -> None:  # one second into the window
                stalls.append(threading.Timer(1.0, _stall, (stack,)))
                stalls[-1].start()

            result = drive(spec, generator, None, on_start=stall_soon, locust=LocustSetup(workers=1))
        finally:
            for timer in stalls:
                timer.join()
            stack.stop()
    assert result.errors == {}, result.errors
    assert 0.95 * 500 * 3 <= result.requests <= 1.05 * 500 * 3, result.requests  # the schedule held
    assert result.latency_ms["p99"] >= 400, result.latency_ms
