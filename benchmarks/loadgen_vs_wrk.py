"""Built-in load generator and locust vs wrk on the same targets: r/s and the generator's CPU per request.

Run from the repository root:  python benchmarks/loadgen_vs_wrk.py [--repeat 3] [--duration 5]

Targets: (a) nginx serving a small static file, keep-alive, nginx pinned to CPU 1 and the
generator to CPU 0 (each on its own core); (b) gunicorn -w 2 (sync: it closes every
connection) with a trivial WSGI app, generator and server sharing both cores.
CPU figures are the generator's own user/system time in the measured window
(getrusage in the generator's process; for wrk, of the wrk process that ran the window; for locust, its
one worker's over the window's whole seconds, from servebench's plugin, the master's CPU shown apart).
locust's row needs locust installed (pip install 'django-servebench[locust]'); without it, it is left out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probes.bench.loadgen import LoadgenUnavailable, LoadResult, LoadSpec, start_load
from probes.bench.loadgen.locust.setup import LocustSetup, check_locust
from probes.bench.measure.window import drive
from probes.bench.processes.child import Child
from probes.bench.processes.ports import accepts_connections, free_port
from probes.bench.processes.supervisor import Supervisor

GUNICORN = Path(sys.executable).with_name("gunicorn")
NGINX_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000000;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location / {{ }}
    }}
}}
"""
WSGI_APP = """\
def application(environ, start_response):
    body = b"hello from a trivial wsgi app\\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


@contextmanager
def serving(log_dir: Path, name: str, argv: list[str], port: int) -> Iterator[Child]:
    """Started and stopped by servebench's own supervisor; ready when the port accepts connections."""
    with Supervisor(log_dir) as supervisor:
        child = supervisor.spawn(name, argv)
        child.wait_ready(lambda: accepts_connections("127.0.0.1", port), timeout_s=15.0)
        yield child


@contextmanager
def nginx_server() -> Iterator[tuple[int, Child]]:
    """nginx, one worker, serving a 612-byte static file from a temp dir."""
    with tempfile.TemporaryDirectory(prefix="servebench-nginx-") as tmp:
        (Path(tmp) / "www").mkdir()
        (Path(tmp) / "www" / "index.html").write_bytes(b"x" * 611 + b"\n")
        port = free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port))
        argv = ["nginx", "-e", f"{tmp}/error.log", "-p", tmp, "-c", str(conf)]
        with serving(Path(tmp), "nginx", argv, port) as child:
            yield port, child


@contextmanager
def gunicorn_server() -> Iterator[tuple[int, Child]]:
    """gunicorn -w 2 (sync workers) with a trivial WSGI app."""
    with tempfile.TemporaryDirectory(prefix="servebench-gunicorn-") as tmp:
        (Path(tmp) / "trivialapp.py").write_text(WSGI_APP)
        port = free_port()
        argv = [str(GUNICORN), "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", tmp]
        argv += ["--log-level", "warning", "trivialapp:application"]
        with serving(Path(tmp), "nginx", argv, port) as child:
            yield port, child


def tree_cpu_s(proc: Child) -> float:
    """User + system CPU of a server's process tree so far."""
    total = 0.0
    try:
        root = psutil.Process(proc.pid)
        for p in [root, *root.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
    except psutil.NoSuchProcess:
        pass
    return total


def measure(spec: LoadSpec, generator: str, server: Child) -> tuple[LoadResult, float]:
    """One run; also the server tree's CPU per request (a greedy client steals from it)."""
    if generator == "locust":  # a master and one worker, both inheriting this process's CPU affinity
        server_before = tree_cpu_s(server)
        result = drive(spec, "locust", None, locust=LocustSetup(workers=1))
        return result, tree_cpu_s(server) - server_before
    load = start_load(spec, generator=generator)
    try:
        os.sched_setaffinity(load.pid, os.sched_getaffinity(0))
        server_before = tree_cpu_s(server)
        result = load.wait()
        server_cpu = tree_cpu_s(server) - server_before
    finally:
        load.kill()
    return result, server_cpu


def bench(name: str, server: Callable[[], object], *, keepalive: bool, pin: bool, args: argparse.Namespace) -> None:
    """Alternate builtin and wrk, args.repeat times each; print medians."""
    runs: dict[str, list[LoadResult]] = {"builtin": [], "wrk": [], **({"locust": []} if _has_locust() else {})}
    with server() as (port, proc):  # type: ignore[attr-defined]
        if pin:
            for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]:
                os.sched_setaffinity(p.pid, {1})
            os.sched_setaffinity(0, {0})
        try:
            spec = LoadSpec(
                path="/",
                port=port,
                concurrency=args.concurrency,
                duration_s=args.duration,
                warmup_s=1.0,
                keepalive=keepalive,
            )
            for i in range(args.repeat):
                order = list(runs) if i % 2 == 0 else list(reversed(runs))
                for generator in order:
                    result, _ = measure(spec, generator, proc)
                    runs[generator].append(result)
                    if result.errors:
                        print(f"  {generator} run {i}: errors {result.errors}")
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    print(f"\n{name}  (c={args.concurrency}, {args.duration:g} s, median of {args.repeat})")
    header = f"{'r/s':>9} {'range':>17} {'user µs/req':>12} {'sys µs/req':>11} {'cpu µs/req':>11}"
    print(f"  {'generator':<9} {header}")
    medians = {}
    for generator, results in runs.items():
        rps = [r.requests_per_s for r in results]
        user = statistics.median(r.cpu_user_s / r.requests * 1e6 for r in results)
        system = statistics.median(r.cpu_system_s / r.requests * 1e6 for r in results)
        total = statistics.median(r.cpu_us_per_request for r in results)
        medians[generator] = (statistics.median(rps), total)
        master = [r.master_cpu_s / r.requests * 1e6 for r in results if r.master_cpu_s is not None and r.requests]
        print(
            f"  {generator:<9} {statistics.median(rps):>9.0f} {min(rps):>8.0f}–{max(rps):<8.0f}"
            f" {user:>12.2f} {system:>11.2f} {total:>11.2f}"
            + (f"  (master {statistics.median(master):.2f} µs/req)" if master else "")
        )
    ratio_rps = medians["builtin"][0] / medians["wrk"][0]
    ratio_cpu = medians["builtin"][1] / medians["wrk"][1]
    verdict_rps = "ok" if ratio_rps >= 0.9 else "MISS"
    verdict_cpu = "ok" if ratio_cpu <= 1.3 else "MISS"
    print(
        f"  builtin/wrk: r/s {ratio_rps:.3f} (target >= 0.90: {verdict_rps}),"
        f" CPU/req {ratio_cpu:.2f}x (target <= 1.3x: {verdict_cpu})"
    )
    if "locust" in medians:
        rps_ratio, cpu_ratio = medians["locust"][0] / medians["wrk"][0], medians["locust"][1] / medians["wrk"][1]
        cores = medians["locust"][0] * medians["locust"][1] / 1e6
        print(
            f"  locust/wrk: r/s {rps_ratio:.3f}, CPU/req {cpu_ratio:.1f}x; its worker used {cores:.2f} cores"
            " (one worker process: at ~0.9 it is the limit, and wrk is the better client)"
        )


def _has_locust() -> bool:
    try:
        check_locust(LoadSpec(path="/", port=1))
    except LoadgenUnavailable:
        return False
    return True


def main() -> None:
    """Parse args, run both targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", choices=("nginx", "gunicorn"))
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    if args.only in (None, "nginx"):
        bench(
            "nginx static file, keep-alive, nginx on CPU 1, client on CPU 0",
            nginx_server,
            keepalive=True,
            pin=True,
            args=args,
        )
    if args.only in (None, "gunicorn"):
        bench(
            "gunicorn -w 2 sync, trivial WSGI app (server closes each connection), shared cores",
            gunicorn_server,
            keepalive=True,
            pin=False,
            args=args,
        )


if __name__ == "__main__":
    main()
