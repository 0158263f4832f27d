"""How often does servebench's A/B get it wrong? Its false-alarm and detection rates, measured (issue 24).

Four cases, each --trials times, interleaved trial by trial so that the machine's drift touches all alike:
- A/A in pairs:   settings.bench against settings.cpu_as_is (the same code): how often a difference is claimed;
- A/B in pairs:   settings.cpu_slower (the cpu probe spins 3 % longer) against settings.cpu_as_is: how often
                  B is found slower;
- the same two as two separate runs (as many windows each as a side of the pairs has) and --compare's rule
  (Student's t on the windows' r/s; min_change 0, since its default 5 % floor hides any 3 % change).

Run from the repository root, with the lock other loads on this machine take (never under an outer flock:
the lock is held around each trial only, so other loads interleave between trials):

    .venv/bin/python benchmarks/ab_power.py --trials 20 --lock /tmp/sb-load.lock

Targets: A/A in pairs claims a difference <= 5 % of the time; A/B in pairs finds the 3 % >= 90 % of the time.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
URL = "/probes/cpu/?ms=2"
AS_IS, SLOWER, SAME = "settings.cpu_as_is", "settings.cpu_slower", "settings.bench"
CASES = ("A/A in pairs", "A/B in pairs", "A/A separate runs", "A/B separate runs")


@contextlib.contextmanager
def held(lock: Path | None) -> Iterator[None]:
    """The shared load lock for one trial (none without --lock)."""
    if lock is None:
        yield
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def servebench(settings: str, out: Path, *argv: str) -> None:
    """One servebench run writing its JSON to out; exit 0 or 1 (a gate, a noisy run) are results, others not."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings}
    command = [str(PYTHON), "manage.py", "servebench", "--url", URL, *argv, "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode not in (0, 1) or not out.exists():
        sys.exit(f"servebench failed (exit {done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")


def paired(b_settings: str, out: Path, pairs: int | None, extra: list[str]) -> tuple[str, int]:
    """An A/B in pairs against settings.cpu_as_is: the r/s finding's direction and its sentence, and how many
    pairs it measured (servebench's own count without --pairs)."""
    from probes.bench.judge.pairs import judge_suite
    from probes.bench.judge.wording.pairs import change_text
    from probes.bench.model.results import Suite

    count = [] if pairs is None else ["--pairs", str(pairs)]
    servebench(b_settings, out, "--against-settings", AS_IS, *count, *extra)
    judgement = judge_suite(Suite.load(out))
    if judgement is None:
        sys.exit(f"{out}: no pairs")
    change = judgement.throughput
    return f"{change.direction.value}: {change_text(change)}", change.pairs


def separate(b_settings: str, a_out: Path, b_out: Path, windows: int, extra: list[str]) -> str:
    """The same as two runs, one after the other, and --compare's rule: its verdict and r/s change."""
    from probes.bench.model.results import Suite
    from probes.report.compare import compare

    one = ["--repeat", str(windows), "--max-repeat", str(windows), *extra]
    servebench(AS_IS, a_out, *one)
    servebench(b_settings, b_out, *one)
    [pair] = compare(Suite.load(a_out), Suite.load(b_out), min_change_pct=0.0).pairs
    change = pair.rps.pct
    return f"{pair.verdict.value}: r/s {change:+.1f} %" if change is not None else pair.verdict.value


def claimed(case: str, said: str) -> bool:
    """A/A: any difference claimed (a false alarm); A/B: B found slower (a detection)."""
    verdict = said.split(":", 1)[0]
    if case.startswith("A/A"):
        return verdict in ("worse", "better", "faster", "slower")
    return verdict in ("worse", "slower")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument(
        "--pairs", type=int, help="exactly N pairs per A/B (default: servebench's, until r/s is known to ±1.25 %%)"
    )
    parser.add_argument("--lock", type=Path, help="hold an flock on this file around each trial")
    parser.add_argument(
        "--cases", choices=("all", "pairs"), default="all", help="pairs: only the two cases in pairs (half the time)"
    )
    parser.add_argument("extra", nargs="*", help="passed to every servebench run (after --)")
    args = parser.parse_args()
    # A TERM ends the servebench under way as Ctrl-C does (subprocess.run kills its child on an exception);
    # without it that run would go on with the lock released.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SAME)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    extra = ["--server", "gunicorn", "--workers", "1", *args.extra]
    counts = dict.fromkeys(CASES, 0)
    pairs_used: dict[str, list[int]] = {case: [] for case in CASES}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="servebench-ab-power-") as tmp:
        for trial in range(1, args.trials + 1):
            here = Path(tmp) / str(trial)
            here.mkdir()
            said, measured = {}, {}
            with held(args.lock):
                said[CASES[0]], measured[CASES[0]] = paired(SAME, here / "aa.json", args.pairs, extra)
            with held(args.lock):
                said[CASES[1]], measured[CASES[1]] = paired(SLOWER, here / "ab.json", args.pairs, extra)
            if args.cases == "all":
                # As many windows per run as each side of that trial's pairs had.
                windows = measured[CASES[0]]
                with held(args.lock):
                    said[CASES[2]] = separate(SAME, here / "aa-a.json", here / "aa-b.json", windows, extra)
                windows = measured[CASES[1]]
                with held(args.lock):
                    said[CASES[3]] = separate(SLOWER, here / "ab-a.json", here / "ab-b.json", windows, extra)
            for case, text in said.items():
                counts[case] += claimed(case, text)
                pairs_used[case].append(measured.get(case, 0))
                print(f"trial {trial:>2} {case:<18} {text}", flush=True)
    count = f"{args.pairs} pairs" if args.pairs else "servebench's count of pairs"
    print(f"\n{args.trials} trials of {count} ({URL}, {' '.join(extra)}) in {time.monotonic() - started:.0f} s")
    for case in CASES if args.cases == "all" else CASES[:2]:
        what = "false alarms" if case.startswith("A/A") else "detected"
        used = sorted(pairs_used[case])
        span = f"; pairs: median {used[len(used) // 2]}, {used[0]}-{used[-1]}" if used and used[-1] else ""
        print(f"  {case:<18} {what}: {counts[case]}/{args.trials} ({100 * counts[case] / args.trials:.0f} %){span}")


if __name__ == "__main__":
    main()
