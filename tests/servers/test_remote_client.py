"""Load from a client host simulated by a network namespace: the window from its markers, the client's CPU
reported as a remote role outside this host's split, r/s as wrk run by hand there, and targets refused."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from probes.bench.judge.figures import figures
from probes.bench.loadgen.hosts import ClientHost, Remote
from probes.bench.loadgen.plan import LoadPlan
from probes.bench.loadgen.remote import handshake
from probes.bench.measure.sweep import unmeasured_run
from probes.bench.measure.window import drive, measure_window, pin_stack
from probes.bench.model.diagnosis import REMOTE_CLIENT_ROLE
from probes.bench.model.results import Sample, Suite
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.bench.servers.nginx import Exposure
from probes.bench.servers.stack import Stack, http_get
from probes.cli.clients import with_clients
from probes.cli.inputs import Refused
from probes.job.launcher import Launcher
from probes.job.remote import resolved
from probes.job.services import JobError
from tests.conftest import require_binary
from tests.servers.netns import Netns
from tests.servers.sshd import Sshd

pytestmark = pytest.mark.servers
CLIENT_CORE, SERVER_CORE = {1}, {0}
PAIRS = 5  # windows of ours and of wrk by hand, interleaved


@pytest.fixture
def launcher(netns: Netns) -> Iterator[Launcher]:
    require_binary("nginx")
    expose = Exposure(listen=netns.server_address, allowed=(netns.client_address,))
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        yield Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=None, expose=expose)


def _wrk_by_hand(netns: Netns, stack: Stack, path: str, concurrency: int, host_header: str) -> float:
    """wrk in the namespace on the client's core, against the same nginx: its Requests/sec."""
    url = f"http://{netns.server_address}:{stack.port}{path}"
    argv = ["ip", "netns", "exec", netns.name, "taskset", "-c", "1", "wrk", "-t1", f"-c{concurrency}", "-d1s"]
    done = subprocess.run([*argv, "-H", f"Host: {host_header}", url], capture_output=True, text=True, timeout=30)
    assert " Non-2xx" not in done.stdout and "Socket errors" not in done.stdout, done.stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]


# Each server, worker count and view once (a Latin square of the 8 cases keeps make test short);
# SERVEBENCH_REMOTE_MATRIX=full runs all 8.
_TRIVIAL, _SLEEP = "/probes/trivial/", "/probes/sleep/?ms=20"
CASES = [("gunicorn", 1, _TRIVIAL), ("gunicorn", 2, _SLEEP), ("uwsgi", 1, _SLEEP), ("uwsgi", 2, _TRIVIAL)]
if os.environ.get("SERVEBENCH_REMOTE_MATRIX") == "full":
    CASES += [("gunicorn", 1, _SLEEP), ("gunicorn", 2, _TRIVIAL), ("uwsgi", 1, _TRIVIAL), ("uwsgi", 2, _SLEEP)]


@pytest.mark.parametrize(("kind", "workers", "path"), CASES)
def test_remote_window_matches_wrk_by_hand(
    launcher: Launcher, netns: Netns, kind: str, workers: int, path: str
) -> None:
    _compare_with_wrk_by_hand(launcher, netns, ClientHost("netns", netns.name), kind, workers, path)


@pytest.mark.parametrize(
    ("kind", "workers", "path"), [("gunicorn", 1, "/probes/trivial/"), ("uwsgi", 2, "/probes/sleep/?ms=20")]
)
def test_the_same_through_the_private_sshd(
    launcher: Launcher, netns: Netns, sshd: Sshd, kind: str, workers: int, path: str
) -> None:
    client = ClientHost("ssh", sshd.destination, python=(sshd.python,), ssh_config=str(sshd.config))
    _compare_with_wrk_by_hand(launcher, netns, client, kind, workers, path)


def _compare_with_wrk_by_hand(
    launcher: Launcher, netns: Netns, client: ClientHost, kind: str, workers: int, path: str
) -> None:
    """Our windows and wrk's by hand in the namespace, interleaved: 0 errors, a remote client, r/s within 10 %."""
    require_binary("wrk")
    config = ServerConfig(kind, workers, front="nginx")
    remote = Remote(clients=(client,), listen=netns.server_address, allowed=(netns.client_address,))
    plan = LoadPlan(
        path=path, host_header=launcher.host_header, generator="wrk", duration_s=1.0, warmup_s=0.0, remote=remote
    )
    concurrency = plan.concurrency_for(config)
    stack = launcher.start(config)
    try:
        pin_stack(stack, SERVER_CORE)
        spec = _spec(plan, stack, concurrency)
        drive(spec, "wrk", CLIENT_CORE, remote=remote)  # warm-up
        ours: list[Sample] = []
        by_hand: list[float] = []
        # Interleaved, the same server and minute, in ABBA order (which of the two goes first alternates, so a
        # drift within a pair cancels): 5 pairs, as the windows of this shared host spread up to 20 % in a row.
        for index in range(PAIRS):
            for ours_now in (True, False) if index % 2 == 0 else (False, True):
                # Each run starts on an idle server: one request queued behind what the last run left in flight.
                http_get(stack.port, path, host_header=launcher.host_header)
                if ours_now:
                    window, _ = measure_window(
                        stack, spec, generator="wrk", service_pids={}, client_cores=CLIENT_CORE, remote=remote
                    )
                    ours.append(window)
                else:
                    by_hand.append(_wrk_by_hand(netns, stack, path, concurrency, launcher.host_header))
    finally:
        stack.stop()
    for sample in ours:
        assert sample.errors == {} and sample.ok > 0
        assert sample.client_remote and sample.cpu_s["client"] > 0
    # Pair by pair (each pair the same seconds of a shared machine), the median of the ratios.
    ratio = statistics.median(s.ok_per_s / rate for s, rate in zip(ours, by_hand, strict=True))
    assert 0.9 <= ratio <= 1.1, (ratio, [s.ok_per_s for s in ours], by_hand)
    split = figures(_run(config, plan, ours), None)
    assert REMOTE_CLIENT_ROLE in split.cpu_per_request_s and "client" not in split.cpu_per_request_s
    assert REMOTE_CLIENT_ROLE not in split.cpu_shares


def _spec(plan: LoadPlan, stack: Stack, concurrency: int):  # type: ignore[no-untyped-def]
    from probes.bench.measure.repeats import load_spec as sweep_spec

    return sweep_spec(plan, stack, concurrency, duration_s=plan.duration_s)


def _run(config: ServerConfig, plan: LoadPlan, samples: list[Sample]):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(unmeasured_run(config, plan), samples=tuple(samples))


def test_the_clients_own_address_and_others_are_refused_before_anything_starts(netns: Netns) -> None:
    load = LoadPlan(path="/probes/trivial/", host_header="127.0.0.1")
    configs = [ServerConfig("gunicorn", 1, front="nginx")]
    # The cli names the client hosts; the job asks them (ip, the handshake) before any server starts.
    for listen in ("198.18.0.2", "203.0.113.7", "127.0.0.1", "localhost"):
        with pytest.raises(JobError, match="--listen|no route"):
            resolved(with_clients({"client_netns": [netns.name], "listen": listen}, load, configs))  # type: ignore[arg-type]
    with pytest.raises(JobError, match="the client host's own address"):
        resolved(with_clients({"client_netns": [netns.name], "listen": netns.client_address}, load, configs))  # type: ignore[arg-type]
    with pytest.raises(Refused, match="--front nginx"):
        with_clients({"client_netns": [netns.name]}, load, [ServerConfig("gunicorn", 1, front="direct")])
    found = resolved(with_clients({"client_netns": [netns.name]}, load, configs))  # type: ignore[arg-type]
    assert found is not None and found.remote is not None
    assert (found.remote.listen, found.remote.allowed) == (netns.server_address, (netns.client_address,))


def test_servebench_with_client_netns_end_to_end(netns: Netns, tmp_path: Path) -> None:
    require_binary("nginx")
    path = tmp_path / "remote.json"
    out = StringIO()
    call_command(
        "servebench", "--probe", "trivial", "--server", "gunicorn", "--workers", "1", "--front", "nginx",
        "--client-netns", netns.name, "--pin", "--duration", "1", "--warmup", "0.3", "--repeat", "1",
        "--json", str(path), stdout=out,
    )  # fmt: skip
    [run] = Suite.load(path).runs
    [window] = run.samples
    assert window.client_remote and window.errors == {} and window.ok > 0
    assert run.diagnosis is not None and REMOTE_CLIENT_ROLE in run.diagnosis.figures.cpu_per_request_s


def test_servebench_with_client_host_over_a_private_sshd(netns: Netns, sshd: Sshd, tmp_path: Path) -> None:
    require_binary("nginx")
    path = tmp_path / "ssh.json"
    call_command(
        "servebench", "--probe", "trivial", "--server", "gunicorn", "--workers", "1", "--front", "nginx",
        "--client-host", sshd.destination, "--client-ssh-config", str(sshd.config), "--client-python", sshd.python,
        "--duration", "1", "--warmup", "0.3", "--repeat", "1", "--json", str(path), stdout=StringIO(),
    )  # fmt: skip
    [run] = Suite.load(path).runs
    [window] = run.samples
    assert window.client_remote and window.errors == {} and window.ok > 0
    assert run.diagnosis is not None and REMOTE_CLIENT_ROLE in run.diagnosis.figures.cpu_per_request_s


def test_a_client_host_without_servebench_is_one_line(netns: Netns, sshd: Sshd) -> None:
    missing = ClientHost("ssh", sshd.destination, python=("/nonexistent/python3",), ssh_config=str(sshd.config))
    answer = handshake(missing)
    assert answer.problem is not None and "did not start there" in answer.problem and "\n" not in answer.problem
    found = handshake(replace(missing, python=(sshd.python,)))
    assert found.problem is None and found.ssh_connection[0] == netns.server_address
