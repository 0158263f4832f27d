"""Child entry point: run one generator and print its LoadResult as one JSON line on stdout."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from .model import LoadgenError, LoadSpec


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Read the spec JSON from stdin (--spec-stdin) or --spec-json, run, print the result JSON; 1 on failure."""
    parser = argparse.ArgumentParser(prog="python -m probes.bench.loadgen")
    source = parser.add_mutually_exclusive_group(required=True)
    # stdin, because a spec's headers may hold a secret (a session cookie) that argv would show to every user.
    source.add_argument("--spec-stdin", action="store_true")
    source.add_argument("--spec-json", help="for trying it by hand; shows the headers in the process list")
    parser.add_argument("--generator", default="builtin", choices=("builtin", "wrk", "ab"))
    args = parser.parse_args(argv)
    # TERM (from the parent, or from the kernel when servebench dies) unwinds: wrk/ab are
    # killed by subprocess.run and the temporary files removed.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        spec = LoadSpec.from_dict(json.loads(sys.stdin.read() if args.spec_stdin else args.spec_json))
    except (ValueError, TypeError) as exc:
        print(f"invalid spec: {exc}", file=sys.stderr)
        return 2
    from .dispatch import run_in_process
    from .process import deadline_s

    # A last resort if the parent is gone: the default SIGALRM action ends this process.
    signal.alarm(int(deadline_s(spec, args.generator)) + 5)
    try:
        result = run_in_process(spec, args.generator)
    except (LoadgenError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
