"""--loadgen locust in the namespace topology (client CPU 1, server CPU 0): two workers in a client
namespace against gunicorn -w 2 behind nginx. 0 errors, r/s as wrk's from the same namespace where the server
binds, latency at µs resolution, the master's CPU a role of its own on this host.

Where the server binds: a closed loop's rate is connections / (server time + client time), so a client's own
time per request lowers it even far from client-bound. On the trivial probe (8 connections, ~3.8 ms a cycle)
locust's ~0.36 ms of CPU per request, queued on a core its two workers share, cost 10 % (0.899 of wrk in CI);
that cost is what the client-cost note reports (tests/servers/test_locust_client_cost.py). A 1 ms view makes
the cycle ~10 ms, where the same client time is ~4 %."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import replace

import pytest

from probes.bench.judge.quality import assess
from probes.bench.loadgen.hosts import ClientHost, Remote
from probes.bench.loadgen.locust.setup import LocustSetup
from probes.bench.loadgen.model import LoadSpec
from probes.bench.measure.window import measure_window, pin_stack
from probes.bench.model.diagnosis import LOCUST_MASTER_ROLE
from probes.bench.model.results import Run, Sample
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.bench.servers.nginx import Exposure
from probes.bench.servers.stack import Stack, http_get
from probes.job.launcher import Launcher
from tests.conftest import require_binary
from tests.servers.netns import Netns
from tests.servers.sshd import Sshd

pytestmark = pytest.mark.servers
CLIENT_CORE, SERVER_CORE = {1}, {0}
TWO_WORKERS = LocustSetup(workers=2)


@pytest.fixture
def stack(netns: Netns) -> Iterator[tuple[Stack, Launcher]]:
    require_binary("nginx")
    require_binary("wrk")
    expose = Exposure(listen=netns.server_address, allowed=(netns.client_address,))
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        launcher = Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=None, expose=expose)
        started = launcher.start(ServerConfig("gunicorn", 2, front="nginx"))
        try:
            pin_stack(started, SERVER_CORE)
            yield started, launcher
        finally:
            started.stop()


def _window(stack: Stack, spec: LoadSpec, generator: str, remote: Remote) -> Sample:
    sample, _ = measure_window(
        stack, spec, generator=generator, service_pids={}, client_cores=CLIENT_CORE, remote=remote, locust=TWO_WORKERS
    )
    return sample


@pytest.mark.parametrize("path", ["/probes/cpu/?ms=1", "/probes/sleep/?ms=20"])
def test_two_locust_workers_in_a_namespace_match_wrk(stack: tuple[Stack, Launcher], netns: Netns, path: str) -> None:
    served, launcher = stack
    remote = Remote((ClientHost("netns", netns.name),), netns.server_address, (netns.client_address,))
    spec = LoadSpec(path=path, port=served.port, host_header=launcher.host_header, concurrency=8)
    spec = replace(spec, duration_s=2.0, warmup_s=0.5)
    http_get(served.port, path, host_header=launcher.host_header)
    pairs = [(_window(served, spec, "wrk", remote), _window(served, spec, "locust", remote)) for _ in range(2)]
    for wrk, locust in pairs:
        assert wrk.errors == {} and locust.errors == {} and locust.ok == locust.requests > 0
        # µs, not locust's whole milliseconds: no percentile falls on a whole ms (the sleep view's neither).
        assert any(locust.latency_ms[key] * 1000 % 1000 for key in ("p50", "p90", "p99")), locust.latency_ms
        assert LOCUST_MASTER_ROLE in locust.cpu_s and locust.client_remote
        assert any("neither authenticated nor encrypted" in note for note in locust.load_notes)
    config = ServerConfig("gunicorn", 2, front="nginx").describe()
    run = Run(**config, path=path, concurrency=8, keepalive=True, generator="locust", samples=(pairs[0][1],))  # type: ignore[arg-type]
    run = replace(run, samples=tuple(locust for _, locust in pairs))
    assert assess(run)[0] != "client-bound", assess(run)
    ratio = statistics.median(locust.ok_per_s / wrk.ok_per_s for wrk, locust in pairs)
    assert 0.9 <= ratio <= 1.1, [(wrk.ok_per_s, locust.ok_per_s) for wrk, locust in pairs]


def test_a_worker_over_ssh_loads_through_the_existing_transport(
    stack: tuple[Stack, Launcher], netns: Netns, sshd: Sshd
) -> None:
    served, launcher = stack
    client = ClientHost("ssh", sshd.destination, python=(sshd.python,), ssh_config=str(sshd.config))
    remote = Remote((client,), netns.server_address, (netns.client_address,))
    spec = LoadSpec(path="/probes/trivial/", port=served.port, host_header=launcher.host_header, concurrency=8)
    sample, _ = measure_window(
        served,
        replace(spec, duration_s=2.0, warmup_s=0.5),
        generator="locust",
        service_pids={},
        remote=remote,
        locust=LocustSetup(workers=1),
    )
    assert sample.errors == {} and sample.ok == sample.requests > 500
    assert sample.client_remote and sample.cpu_s["client"] > 0 and LOCUST_MASTER_ROLE in sample.cpu_s
    assert f"locust: 1 worker(s), 1 on {client.label}" in sample.load_notes
    assert any(f"listened on {netns.server_address} only" in note for note in sample.load_notes)
