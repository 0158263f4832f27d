"""What py-spy costs a server under load: r/s with and without it attached, interleaved, and its own CPU.

Run from the repository root:  python benchmarks/profile_overhead.py [--pairs 6] [--duration 3] [--rate 100]

One gunicorn (sync workers) serving a small WSGI app that renders a 300-item list
(about a template probe's work), loaded on loopback by wrk (else the built-in client).
Each pair measures one window without py-spy and one with `py-spy record --pid MASTER
--subprocesses --nonblocking --idle` attached from before the window to its end, in
alternating order (AB, BA, ...) so a drift of the shared machine falls on both sides.
Printed: median r/s of each side, the median of the pairs' ratios with min-max, and
py-spy's own CPU (the `profiler` role) per request and in cores: it samples every
thread `--rate` times a second whatever the load, so its CPU is a fixed cost per
second that a fast server spreads thin and a slow one does not.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from probes.bench.loadgen import LoadResult, LoadSpec, run_load  # noqa: E402
from probes.bench.measure.pyspy import Recording, start_profiler  # noqa: E402
from probes.bench.processes.child import Child  # noqa: E402
from probes.bench.processes.ports import accepts_connections, free_port  # noqa: E402
from probes.bench.processes.rundir import RunDir  # noqa: E402
from probes.bench.processes.supervisor import Supervisor  # noqa: E402
from probes.bench.servers.argv import SYSTEM_PATH  # noqa: E402

APP = """\
def render_items(n):
    rows = "".join("<li>item %d</li>" % i for i in range(n))
    return ("<html><body><ul>" + rows + "</ul></body></html>").encode()


def application(environ, start_response):
    body = render_items(300)
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
    return [body]
"""


def window(spec: LoadSpec, generator: str) -> LoadResult:
    return run_load(spec, generator=generator)


def profiled_window(
    supervisor: Supervisor, server: Child, spec: LoadSpec, generator: str, out: Path, rate_hz: int
) -> tuple[LoadResult, Recording]:
    profiler = start_profiler(
        supervisor, pid=server.pid, output=out, max_duration_s=spec.duration_s + 30, rate_hz=rate_hz
    )
    try:
        result = run_load(spec, generator=generator)
    finally:
        recording = profiler.finish()
    return result, recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    args = parser.parse_args()
    generator = "wrk" if shutil.which("wrk", path=SYSTEM_PATH) else "builtin"
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        (run_dir.path / "listapp.py").write_text(APP)
        port = free_port()
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        argv = [gunicorn, "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--chdir", str(run_dir.path)]
        server = supervisor.spawn("gunicorn", [*argv, "--log-level", "warning", "listapp:application"])
        server.wait_ready(lambda: accepts_connections("127.0.0.1", port), timeout_s=15)
        spec = LoadSpec(path="/", port=port, concurrency=args.concurrency, duration_s=args.duration, warmup_s=0.0)
        window(LoadSpec(path="/", port=port, concurrency=args.concurrency, duration_s=1.0, warmup_s=0.0), generator)
        plain: list[float] = []
        profiled: list[float] = []
        ratios: list[float] = []
        cpu_us: list[float] = []
        cpu_cores: list[float] = []
        errors: list[float] = []
        for pair in range(args.pairs):
            order = ("plain", "profiled") if pair % 2 == 0 else ("profiled", "plain")
            rates: dict[str, float] = {}
            for side in order:
                if side == "plain":
                    rates[side] = window(spec, generator).ok_per_s
                    continue
                result, rec = profiled_window(
                    supervisor, server, spec, generator, run_dir.path / f"profile-{pair}.json", args.rate
                )
                rates[side] = result.ok_per_s
                cpu_us.append(1e6 * rec.cpu_s / max(1, result.ok))
                cpu_cores.append(rec.cpu_s / result.duration_s)
                errors.append(100 * rec.errors / max(1, rec.samples))
            plain.append(rates["plain"])
            profiled.append(rates["profiled"])
            ratios.append(rates["profiled"] / rates["plain"])
            print(
                f"pair {pair + 1} ({order[0]} first): plain {rates['plain']:,.0f} r/s, profiled"
                f" {rates['profiled']:,.0f} r/s, x{ratios[-1]:.3f}; py-spy {cpu_us[-1]:.1f} µs CPU per request",
                flush=True,
            )
        print(
            f"\ngunicorn -w {args.workers}, {args.concurrency} connections, {generator}, {args.duration:g} s windows,"
            f" py-spy at {args.rate} Hz (--nonblocking --idle --subprocesses), {args.pairs} interleaved pairs:"
        )
        print(f"  plain    {statistics.median(plain):,.0f} r/s (median; {min(plain):,.0f}–{max(plain):,.0f})")
        print(f"  profiled {statistics.median(profiled):,.0f} r/s (median; {min(profiled):,.0f}–{max(profiled):,.0f})")
        print(
            f"  throughput with py-spy: x{statistics.median(ratios):.3f} of plain"
            f" (pairs {min(ratios):.3f}–{max(ratios):.3f})"
        )
        print(
            f"  py-spy's own CPU: {statistics.median(cpu_us):.1f} µs per request"
            f" ({min(cpu_us):.1f}–{max(cpu_us):.1f}), {statistics.median(cpu_cores):.3f} cores whatever the r/s"
            f"; unreadable stacks {statistics.median(errors):.1f} %"
        )


if __name__ == "__main__":
    main()
