"""The scaling fit (probes/bench/scaling.py) on real sweeps of the calibration views.

Run from the repository root:  python benchmarks/scaling_fit.py [--duration 3] [--repeat 3]

For each probe, runs `manage.py servebench --server gunicorn --workers 1,2,4 --json FILE`
(a subprocess: the command as a user runs it), then fits the Universal Scalability Law
to every measured window of the saved JSON and prints σ, κ, λ and the CPU ceiling.
Expected (issue 11): sleep σ < 0.2, lock σ ≈ 1, session-db (SQLite) σ ≥ 0.5, cpu on
2 cores CPU-bound, not serialized. `--from-dir DIR` refits the JSON files of an earlier run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from probes.bench.judge.scaling import ScalingPoint, db_share_of_wait, scaling  # noqa: E402
from probes.bench.judge.wording import serial_advice  # noqa: E402

PROBES = {
    "sleep": "/probes/sleep/?ms=30",
    "lock": "/probes/lock/?ms=10",
    "cpu": "/probes/cpu/?ms=10",
    "session-db": "/probes/session-db/",
}


def measure(url: str, out: Path, args: argparse.Namespace) -> None:
    """One servebench sweep over the worker counts, saved as JSON."""
    argv = [sys.executable, "manage.py", "servebench", "--url", url, "--server", "gunicorn"]
    argv += ["--workers", args.workers, "--front", args.front, "--duration", str(args.duration)]
    argv += ["--repeat", str(args.repeat), "--warmup", "1", "--json", str(out), "-v", "0"]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def points_of(result: dict[str, Any]) -> tuple[list[ScalingPoint], int]:
    """One ScalingPoint per measured window; the cores the windows saw."""
    points, cores = [], 1
    for run in result["runs"]:
        for sample in run["samples"]:
            if not sample["requests"] or not sample["duration_s"]:
                continue
            cores = sample["cores"]
            points.append(
                ScalingPoint(
                    workers=run["workers"] * run["threads"],
                    rps=sample["ok"] / sample["duration_s"],
                    cpu_s_per_request=sum(sample["cpu_s"].values()) / sample["requests"],
                    concurrency=run["concurrency"],
                    machine_busy_cores=sample["machine_busy_s"] / sample["wall_s"] if sample["wall_s"] else None,
                )
            )
    return points, cores


def db_share(result: dict[str, Any]) -> float | None:
    """The DB timer's share of the wait at the largest worker count (upper bound: t0's DB time unknown)."""
    run = max(result["runs"], key=lambda r: r["workers"])
    f = run.get("diagnosis", {}).get("figures", {})
    if f.get("app_wall_s") is None or f.get("t0_s") is None or f.get("db_s") is None:
        return None
    return db_share_of_wait(
        app_wall_s=f["app_wall_s"], t0_s=f["t0_s"], db_s=f["db_s"], app_runq_s=f.get("app_runq_s") or 0.0
    )


def report(name: str, result: dict[str, Any]) -> None:
    points, cores = points_of(result)
    s = scaling(points, cores=cores)
    rates = {}
    for p in points:
        rates.setdefault(p.workers, []).append(p.rps)
    per_n = ", ".join(f"N={n}: " + "/".join(f"{x:.0f}" for x in xs) for n, xs in sorted(rates.items()))
    verdicts = ", ".join(f"w{r['workers']} {r['verdict']}" for r in result["runs"])
    print(f"{name}: {per_n} r/s; concurrency {sorted({p.concurrency for p in points})}; cores {cores}")
    print(f"  servebench verdicts today: {verdicts}")
    ceiling = f"{s.cpu_ceiling_rps:,.0f}" if s.cpu_ceiling_rps else "?"
    print(f"  CPU ceiling ~{ceiling} r/s; at it: {list(s.cpu_bound_workers)}", end="")
    print(f"; other processes took {s.others_cores:.2f} cores", end="")
    print(f"; load-limited: {list(s.load_limited_workers)}")
    if s.fit is None:
        print(f"  no fit: {s.reason}; verdict: {s.verdict}")
        return
    f = s.fit

    def pm(err: float | None, fmt: str) -> str:
        return "" if err is None else f" ± {err:{fmt}}"

    print(
        f"  σ = {f.serial_fraction:.3f}{pm(f.serial_fraction_err, '.3f')}"
        f"  κ = {f.coherency:.4f}{pm(f.coherency_err, '.4f')}"
        f"  λ = {f.single_worker_rps:.1f}{pm(f.single_worker_rps_err, '.1f')} r/s  N* = {f.peak_workers or '-'}"
        f"  X({f.predicted_at_workers}) ≈ {f.predicted_rps:.0f}  r² {f.r_squared:.3f}  rmse {f.rmse_pct:.1f} %"
    )
    print(f"  verdict: {s.verdict}; {serial_advice(f, db_share=db_share(result))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--front", default="direct")
    parser.add_argument("--concurrency", type=int, default=0, help="0: the command's default")
    parser.add_argument("--probe", action="append", choices=sorted(PROBES))
    parser.add_argument("--from-dir", type=Path, help="refit <probe>.json files saved here; measure nothing")
    parser.add_argument("--keep-dir", type=Path, help="save the JSON files here (a new 0700 directory)")
    args = parser.parse_args()
    names = args.probe or list(PROBES)
    if args.from_dir:
        for name in names:
            report(name, json.loads((args.from_dir / f"{name}.json").read_text()))
        return
    if args.keep_dir:
        args.keep_dir.mkdir(mode=0o700)
        directory = args.keep_dir
    else:
        directory = Path(tempfile.mkdtemp(prefix="servebench-scaling-"))
    for name in names:
        out = directory / f"{name}.json"
        measure(PROBES[name], out, args)
        report(name, json.loads(out.read_text()))
    print(f"(JSON in {directory})")


if __name__ == "__main__":
    main()
