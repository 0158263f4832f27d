"""session-db on SQLite vs on PostgreSQL, side by side, with each verdict.

The question the classic benchmark could not answer: why does a session-writing
view stay at ~50 r/s with any number of workers? Run from the repository root:

    .venv/bin/python benchmarks/sessions_sqlite_vs_postgres.py [--workers 1,2,5] [--server gunicorn]

It runs `manage.py servebench --probe session-db` twice, once on the demo's SQLite
and once on a throwaway PostgreSQL that servebench starts (--database postgres),
and prints r/s, p99, the CPU of the database role and the verdict per worker count.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sweep(database: str, args: argparse.Namespace, out: Path) -> None:
    argv = [sys.executable, "manage.py", "servebench", "--probe", "session-db", "--server", args.server]
    argv += ["--workers", args.workers, "--duration", str(args.duration), "--repeat", str(args.repeat)]
    argv += ["--database", database, "--json", str(out)]
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,5")
    parser.add_argument("--server", default="gunicorn")
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.bench")
    import django

    django.setup()
    from tabulate import tabulate

    from probes.bench.model.results import Suite
    from probes.bench.model.stats import Spread

    with tempfile.TemporaryDirectory() as tmp:
        suites = {}
        for database in ("project", "postgres"):
            path = Path(tmp) / f"{database}.json"
            sweep(database, args, path)
            suites["SQLite" if database == "project" else "PostgreSQL"] = Suite.load(path)

    rows = []
    for name, suite in suites.items():
        for run in suite.runs:
            if run.diagnosis is None:
                continue
            figures = run.diagnosis.figures
            cpu = figures.cpu_per_request_s
            rows.append(
                [
                    name,
                    run.workers,
                    f"{Spread.of([s.ok_per_s for s in run.samples]).median:,.0f}",
                    f"{Spread.of([s.latency_ms['p99'] for s in run.samples]).median:.1f}",
                    f"{1000 * (figures.app_wall_s or 0):.1f}",
                    f"{1000 * (figures.db_s or 0):.1f}",
                    f"{1e6 * cpu.get('database', 0):.0f}" if "database" in cpu else "-",
                    f"{100 * figures.busy_fraction:.0f}",
                    run.verdict,
                ]
            )
    headers = ["database", "workers", "r/s", "p99 ms", "app ms", "db ms", "db CPU µs/req", "cores busy %", "verdict"]
    print(tabulate(rows, headers=headers, disable_numparse=True))
    for name, suite in suites.items():
        for run in suite.runs:
            print(f"{name} {run.label}: {run.diagnosis.why if run.diagnosis else run.quality}")


if __name__ == "__main__":
    main()
