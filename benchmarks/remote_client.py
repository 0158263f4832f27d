"""The same server with its load from the same cores, and from a client host on the other core.

Run from the repository root, as root:  .venv/bin/python benchmarks/remote_client.py [--pairs 5] [--duration 2]

One server (uWSGI, 1 worker, behind nginx, trivial probe), windows alternated in one run:
- local: wrk on this host's loopback, the client sharing the cores with the server and nginx;
- netns: wrk in a network namespace (a veth pair in 198.18.0.0/15) pinned to CPU 1, the server
  and nginx pinned to CPU 0; the window from the child's own markers.
Printed side by side: the median r/s and the CPU split per request (µs) of each, and "cores busy"
(the namespace's CPU taken out of this host's: the figure as it would be on two hosts).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
PATH = "/probes/trivial/"


@contextmanager
def namespace() -> Iterator[tuple[str, str, str]]:
    """(name, this host's address, the namespace's), removed afterwards."""
    tag = f"{os.getpid() % 100000}"
    name, here, there = f"sbbench{tag}", f"sbbh{tag}", f"sbbc{tag}"
    block = 4 * (os.getpid() % 16000) + 64000  # a /30 of 198.18.0.0/15 apart from the tests'
    server = f"198.{18 + block // 65536}.{block // 256 % 256}.{block % 256 + 1}"
    client = f"198.{18 + block // 65536}.{block // 256 % 256}.{block % 256 + 2}"
    steps = [
        ["netns", "add", name],
        ["link", "add", here, "type", "veth", "peer", "name", there],
        ["link", "set", there, "netns", name],
        ["addr", "add", f"{server}/30", "dev", here],
        ["link", "set", here, "up"],
        ["-n", name, "addr", "add", f"{client}/30", "dev", there],
        ["-n", name, "link", "set", there, "up"],
    ]
    try:
        for step in steps:
            subprocess.run(["ip", *step], check=True, capture_output=True, timeout=10)
        yield name, server, client
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if os.geteuid() != 0 or len(os.sched_getaffinity(0)) < 2:
        sys.exit("remote_client.py needs root (ip netns) and 2 cores")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.bench")
    import django

    django.setup()
    from probes.bench.judge.figures import cpu_per_request
    from probes.bench.loadgen.hosts import ClientHost, Remote
    from probes.bench.loadgen.model import LoadSpec
    from probes.bench.measure.window import measure_window, pin_stack
    from probes.bench.processes.rundir import RunDir
    from probes.bench.processes.supervisor import Supervisor
    from probes.bench.servers.kinds import ServerConfig
    from probes.bench.servers.nginx import Exposure
    from probes.bench.servers.stack import http_get
    from probes.job.launcher import Launcher

    cores = set(os.sched_getaffinity(0))
    with namespace() as (name, server, client), RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        remote = Remote((ClientHost("netns", name),), server, (client,))
        launcher = Launcher(
            run_dir=run_dir.path, supervisor=supervisor, memcached=None, expose=Exposure(server, (client,))
        )
        stack = launcher.start(ServerConfig("uwsgi", 1, front="nginx"))
        spec = LoadSpec(path=PATH, port=stack.port, host_header=launcher.host_header, concurrency=args.concurrency)
        spec = replace(spec, duration_s=args.duration, warmup_s=0.0)
        seen: dict[str, list] = {"local": [], "netns": []}
        try:
            for index in range(args.pairs):
                order = ("local", "netns") if index % 2 == 0 else ("netns", "local")
                for where in order:
                    pin_stack(stack, cores if where == "local" else {0})
                    http_get(stack.port, PATH, host_header=launcher.host_header)  # an idle server to start from
                    sample, _ = measure_window(
                        stack,
                        spec,
                        generator="wrk",
                        service_pids={},
                        client_cores={1} if where == "netns" else None,
                        remote=remote if where == "netns" else None,
                    )
                    seen[where].append(sample)
        finally:
            stack.stop()
    print(f"uWSGI 1 worker behind nginx, {PATH}, wrk -c{args.concurrency}, {args.pairs} pairs of {args.duration:g} s")
    print(f"{'':28}{'local (same cores)':>22}{'netns (client on CPU 1)':>26}")
    rows = [("r/s (median)", lambda s: s.ok_per_s, "{:,.0f}")]
    rows.append(("cores busy (this host)", lambda s: s.machine_busy_s / s.wall_s, "{:.2f}"))
    for role in ("server", "view", "nginx", "client"):
        rows.append((f"{role} µs/request", lambda s, r=role: 1e6 * cpu_per_request(s)[r], "{:.1f}"))
    for label, value, form in rows:
        cells = [form.format(statistics.median(value(s) for s in seen[where])) for where in ("local", "netns")]
        print(f"{label:28}{cells[0]:>22}{cells[1]:>26}")
    print("netns: the client's µs are the namespace's (reported as client (remote host), not in this host's split)")


if __name__ == "__main__":
    main()
