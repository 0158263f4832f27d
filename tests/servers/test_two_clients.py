"""Two client hosts (two namespaces) at once: the connections shared, counts summed, latency merged;
the summed r/s as one host's at the same total concurrency."""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Iterator

import pytest

from probes.bench.loadgen.hosts import ClientHost, Remote
from probes.bench.loadgen.model import LoadSpec
from probes.bench.measure.window import measure_window, pin_stack
from probes.bench.model.results import Sample
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.bench.servers.nginx import Exposure
from probes.bench.servers.stack import http_get
from probes.job.launcher import Launcher
from tests.conftest import SYSTEM_PATH, require_binary
from tests.servers.netns import Netns, client_netns

pytestmark = pytest.mark.servers


@pytest.fixture
def two(netns: Netns) -> Iterator[tuple[Netns, Netns]]:
    """A second namespace that reaches the first one's server address through this host (a /32 route)."""
    with client_netns() as other:
        veth = f"sbc{other.name.removeprefix('sbns')}"
        route = ["ip", "-n", other.name, "route", "add", f"{netns.server_address}/32", "dev", veth]
        subprocess.run(route, check=True, capture_output=True, timeout=10, env={"PATH": SYSTEM_PATH})
        yield netns, other


@pytest.mark.parametrize("generator", ["wrk", "builtin"])
def test_two_client_hosts_sum_to_one_hosts_rate(two: tuple[Netns, Netns], generator: str) -> None:
    require_binary("nginx")
    if generator == "wrk":
        require_binary("wrk")
    first, second = two
    allowed = (first.client_address, second.client_address)
    one = Remote((ClientHost("netns", first.name),), first.server_address, allowed)
    both = Remote((ClientHost("netns", first.name), ClientHost("netns", second.name)), first.server_address, allowed)
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        launcher = Launcher(
            run_dir=run_dir.path, supervisor=supervisor, memcached=None, expose=Exposure(first.server_address, allowed)
        )
        stack = launcher.start(ServerConfig("uwsgi", 2, front="nginx"))
        try:
            pin_stack(stack, {0})
            spec = LoadSpec(path="/probes/trivial/", port=stack.port, host_header=launcher.host_header)
            spec = LoadSpec.from_dict({**spec.to_dict(), "concurrency": 8, "duration_s": 1.0, "warmup_s": 0.0})
            pairs: list[tuple[Sample, Sample]] = []
            for _ in range(3):  # interleaved
                windows = []
                for remote in (one, both):
                    http_get(stack.port, "/probes/trivial/", host_header=launcher.host_header)
                    sample, _ = measure_window(
                        stack, spec, generator=generator, service_pids={}, client_cores={1}, remote=remote
                    )
                    windows.append(sample)
                pairs.append((windows[0], windows[1]))
        finally:
            stack.stop()
    for alone, together in pairs:
        assert alone.errors == {} and together.errors == {}
        assert together.client_remote and set(together.latency_ms) >= {"p50", "p90", "p99", "max", "mean"}
    if generator == "builtin":
        # One built-in client (one Python thread) caps below the server here: two hosts add client capacity,
        # so only wrk's r/s compare (the built-in's histograms merge exactly: tests/unit/bench/loadgen).
        return
    ratio = statistics.median(together.ok_per_s / alone.ok_per_s for alone, together in pairs)
    assert 0.9 <= ratio <= 1.1, [(a.ok_per_s, t.ok_per_s) for a, t in pairs]
