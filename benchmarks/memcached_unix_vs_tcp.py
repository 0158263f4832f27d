"""session-cache with servebench's memcached on a unix socket vs on a loopback TCP port.

servebench's own memcached listens on a unix socket in the 0700 run directory
(other local users cannot read the sessions in it); this measures whether that
changes the figures. Run from the repository root:

    .venv/bin/python benchmarks/memcached_unix_vs_tcp.py [--repeat 3] [--workers 2] [--duration 3]

Each round measures both transports, in alternating order, against the same
server configuration; it prints r/s and p99 per round and the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each measures both transports)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", default="gunicorn")
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--loadgen", default="wrk")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.bench")
    import django

    django.setup()
    from tabulate import tabulate

    from probes.bench.loadgen.plan import LoadPlan
    from probes.bench.measure.sweep import sweep
    from probes.bench.processes.rundir import RunDir
    from probes.bench.processes.supervisor import Supervisor
    from probes.bench.servers.kinds import ServerConfig
    from probes.bench.servers.memcached import start_memcached
    from probes.catalog import get_probe
    from probes.job import project
    from probes.job.launcher import Launcher

    config = ServerConfig(args.server, args.workers)
    plan = LoadPlan(
        path=get_probe("session-cache").path(),
        host_header=project.host_header(),
        generator=args.loadgen,
        duration_s=args.duration,
        warmup_s=1.0,
        repeat=1,
    )
    rates: dict[str, list[float]] = {"unix": [], "tcp": []}
    p99s: dict[str, list[float]] = {"unix": [], "tcp": []}
    rows = []
    for round_ in range(args.repeat):
        order = ("unix", "tcp") if round_ % 2 == 0 else ("tcp", "unix")
        for transport in order:
            with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
                memcached = start_memcached(supervisor, transport=transport)
                project.use_memcached("sessions", memcached.address)
                launcher = Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=memcached)
                assert memcached.child is not None
                (run,) = sweep(
                    [config],
                    plan,
                    start=launcher.start,
                    service_pids={"memcached": memcached.child.pid},
                    progress=lambda message: None,
                    on_run=lambda run: None,
                )
            (sample,) = run.samples
            rates[transport].append(sample.ok_per_s)
            p99s[transport].append(sample.latency_ms["p99"])
            mc_us = sample.cpu_us_per_request("memcached")
            rows.append(
                [
                    round_ + 1,
                    transport,
                    f"{sample.ok_per_s:,.0f}",
                    f"{sample.latency_ms['p99']:.2f}",
                    f"{mc_us:.1f}" if mc_us is not None else "-",
                    run.quality,
                ]
            )
    print(tabulate(rows, headers=["round", "memcached", "r/s", "p99 ms", "memcached CPU µs/req", "quality"]))
    unix, tcp = statistics.median(rates["unix"]), statistics.median(rates["tcp"])
    print(
        f"\nmedian r/s: unix {unix:,.0f}, tcp {tcp:,.0f} (unix/tcp = {unix / tcp:.3f});"
        f" median p99 ms: unix {statistics.median(p99s['unix']):.2f}, tcp {statistics.median(p99s['tcp']):.2f}"
    )


if __name__ == "__main__":
    main()
