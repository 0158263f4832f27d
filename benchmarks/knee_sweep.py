"""The knee of a concurrency sweep (probes/bench/knee.py) on a real server: a 30 ms sleep, 4 workers.

Run from the repository root:  python benchmarks/knee_sweep.py [--levels 1,2,4,8,16] [--repeat 2]

gunicorn -w 4 (sync) serves a WSGI app that sleeps 30 ms, like the sleep probe; each
concurrency level is loaded for its own windows on loopback (wrk, else the built-in
client). Expected (issue 11): the knee at 4 connections, Little's N* = X_max × R_min ≈ 4,
and beyond 4 latency that grows with no gain in throughput: queueing only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from probes.bench.judge.knee import knee  # noqa: E402
from probes.bench.loadgen import LoadSpec, run_load  # noqa: E402
from probes.bench.processes.ports import accepts_connections, free_port  # noqa: E402
from probes.bench.processes.rundir import RunDir  # noqa: E402
from probes.bench.processes.supervisor import Supervisor  # noqa: E402
from probes.bench.servers.argv import SYSTEM_PATH  # noqa: E402

APP = """\
import time


def application(environ, start_response):
    time.sleep({sleep_s})
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return [b"slept\\n"]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4,8,16")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sleep-ms", type=float, default=30.0)
    args = parser.parse_args()
    generator = "wrk" if shutil.which("wrk", path=SYSTEM_PATH) else "builtin"
    levels = [int(level) for level in args.levels.split(",")]
    rows = []
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        (run_dir.path / "sleepapp.py").write_text(APP.format(sleep_s=args.sleep_ms / 1000))
        port = free_port()
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        argv = [gunicorn, "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--chdir", str(run_dir.path)]
        server = supervisor.spawn("gunicorn", [*argv, "--log-level", "warning", "sleepapp:application"])
        server.wait_ready(lambda: accepts_connections("127.0.0.1", port), timeout_s=15)
        for repeat in range(args.repeat):
            # Ascending, then descending: a drift of the shared machine falls on every level.
            for level in levels if repeat % 2 == 0 else reversed(levels):
                spec = LoadSpec(path="/", port=port, concurrency=level, duration_s=args.duration, warmup_s=0.5)
                result = run_load(spec, generator=generator)
                response_s = result.latency_ms["mean"] / 1000
                rows.append((level, result.ok_per_s, response_s))
                x, r_ms = result.ok_per_s, 1000 * response_s
                print(f"  {level:>3} connections: {x:7.1f} r/s, R {r_ms:6.1f} ms", flush=True)
    found = knee(rows)
    print(f"\ngunicorn -w {args.workers}, sleep {args.sleep_ms:g} ms, {generator}, medians of {args.repeat}:")
    for level in found.levels:
        print(f"  N={level.concurrency:>3}: X {level.throughput_rps:7.1f} r/s  R {1000 * level.response_s:6.1f} ms")
    print(f"  {found.summary}")


if __name__ == "__main__":
    main()
