"""Is the default sweep stable? It reruns `manage.py servebench` (the default job, as `make bench` runs it)
N times and prints, per row, the median r/s over the reruns and how often the verdict and the `noisy`
flag changed between reruns; then each rerun's length and when its first row appeared.

Run from the repository root:  .venv/bin/python benchmarks/sweep_stability.py [--reruns 3] [-- extra args]

Targets (issue 19): no verdict flips, at most 1 row in 20 noisy, each rerun <= 120 s, the first row
within 20 s. Run it on a quiet machine: a helper's load on the same cores is what `noisy` is for.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"


def rerun(extra: list[str], out: Path) -> tuple[float, float | None, list[dict[str, Any]]]:
    """One default sweep: (its seconds, seconds to the first finished row, its runs from the JSON)."""
    started = time.monotonic()
    first: float | None = None
    command = [str(PYTHON), "manage.py", "servebench", "--json", str(out), *extra]
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as job:
        assert job.stderr is not None
        for line in job.stderr:
            # Progress names each finished configuration as "    <label>: <r/s> r/s, <quality>, <verdict>".
            said = line.removeprefix("servebench: ")
            if first is None and said.startswith("    ") and " r/s, " in said:
                first = time.monotonic() - started
    took = time.monotonic() - started
    if job.returncode not in (0, 1) or not out.exists():
        sys.exit(f"rerun failed (exit {job.returncode}): {' '.join(command)}")
    return took, first, json.loads(out.read_text())["runs"]


def changes(values: list[str]) -> int:
    """How many times a row's value differs from the rerun before."""
    return sum(1 for before, after in zip(values, values[1:], strict=False) if before != after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="passed to manage.py servebench (after --)")
    args = parser.parse_args()
    rows: dict[str, dict[str, list[object]]] = {}
    timings = []
    said: list[str] = []  # each noisy row's windows, rerun by rerun
    with tempfile.TemporaryDirectory(prefix="servebench-stability-") as tmp:
        for index in range(args.reruns):
            took, first, runs = rerun(args.extra, Path(tmp) / f"rerun-{index}.json")
            timings.append((took, first))
            print(f"rerun {index + 1}: {took:.0f} s, first row after {first or float('nan'):.0f} s", flush=True)
            for run in runs:
                row = rows.setdefault(f"{run['path']} {run['label']}", {"rps": [], "verdict": [], "quality": []})
                samples = run.get("samples") or []
                rps = statistics.median([s["ok"] / s["duration_s"] for s in samples if s["duration_s"]] or [0.0])
                row["rps"].append(rps)
                row["verdict"].append(str(run.get("verdict") or "-"))
                row["quality"].append(str(run.get("quality")))
                row.setdefault("windows", []).append(len(samples))
                if run.get("quality") == "noisy":
                    each = " ".join(f"{s['ok'] / s['duration_s']:,.0f}" for s in samples if s["duration_s"])
                    said.append(f"rerun {index + 1} {run['path']} {run['label']}: {each} r/s")
    print()
    print(f"{'row':<44} {'median r/s':>10} {'windows':>8}  verdicts (changes)  noisy (changes)")
    flips = noisy_rows = 0
    for name, row in rows.items():
        verdicts = [str(v) for v in row["verdict"]]
        noisy = ["noisy" if q == "noisy" else "-" for q in row["quality"]]
        flips += changes(verdicts) > 0
        noisy_rows += "noisy" in noisy
        windows = "/".join(str(w) for w in row["windows"])
        rps = statistics.median(float(v) for v in row["rps"])  # type: ignore[arg-type]
        print(
            f"{name:<44} {rps:>10,.0f} {windows:>8}  {','.join(sorted(set(verdicts)))} ({changes(verdicts)})"
            f"  {noisy.count('noisy')}/{len(noisy)} ({changes(noisy)})"
        )
    print()
    print(f"rows whose verdict changed between reruns: {flips} of {len(rows)}")
    print(f"rows noisy in at least one rerun: {noisy_rows} of {len(rows)}")
    per_rerun = [sum(row["quality"][index] == "noisy" for row in rows.values()) for index in range(args.reruns)]
    print(f"noisy rows per rerun: {'/'.join(map(str, per_rerun))} of {len(rows)} (target: at most 1)")
    for line in said:
        print(f"  noisy windows, {line}")
    lengths = [took for took, _ in timings]
    firsts = [first for _, first in timings if first is not None]
    print(f"rerun length: median {statistics.median(lengths):.0f} s (max {max(lengths):.0f} s)")
    if firsts:
        print(f"first row: median {statistics.median(firsts):.0f} s (max {max(firsts):.0f} s)")


if __name__ == "__main__":
    main()
