"""Child entry point: run one generator and print its LoadResult as one JSON line on stdout."""

from __future__ import annotations

import argparse
import json
import os
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
    source.add_argument("--handshake", action="store_true", help="print this child's version and format, exit")
    parser.add_argument("--generator", default="builtin", choices=("builtin", "wrk", "ab"))
    # On a client host (remote.py): the spec is one line, the window is marked on stdout, and
    # stdin closing (servebench gone, the ssh session closed) ends the child.
    parser.add_argument("--markers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.handshake:
        from .remote import handshake_line

        sys.stdout.write(handshake_line() + "\n")
        if os.environ.get("SSH_CONNECTION"):  # how this client host sees servebench's host over ssh
            sys.stdout.write(f"ssh-connection {os.environ['SSH_CONNECTION']}\n")
        return 0
    # TERM (from the parent, or from the kernel when servebench dies) unwinds: wrk/ab are
    # killed by subprocess.run and the temporary files removed.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        text = (sys.stdin.readline() if args.markers else sys.stdin.read()) if args.spec_stdin else args.spec_json
        spec = LoadSpec.from_dict(json.loads(text))
    except (ValueError, TypeError) as exc:
        print(f"invalid spec: {exc}", file=sys.stderr)
        return 2
    from .dispatch import run_in_process
    from .model import check_loopback
    from .process import deadline_s
    from .remote import end_on_eof, mark

    # A last resort if the parent is gone: the default SIGALRM action ends this process.
    signal.alarm(int(deadline_s(spec, args.generator)) + 5)
    try:
        if args.markers:
            end_on_eof(sys.stdin)
            mark("start")
        else:
            check_loopback(spec)
        result = run_in_process(spec, args.generator)
        if args.markers:
            mark("end")
    except (LoadgenError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
