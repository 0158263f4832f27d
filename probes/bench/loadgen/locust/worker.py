"""A locust worker on a client host: `python -m probes.bench.loadgen.locust.worker --master-host A --master-port P`.

The driver runs it there (in a namespace, or over ssh under `timeout`) and sends the files on stdin as one
JSON line (the plugin, the users, the headers: a session cookie never reaches an argv). It writes them 0600
into a 0700 directory of its own (never a predictable path, unlike `locust -f -`), runs locust's worker as
a child, and ends it when stdin closes (servebench gone, the ssh session closed) or on TERM; the directory
is removed after. It does not import locust: locust runs in the child.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ...processes.supervisor import die_with_parent
from ..model import is_address

_FILE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,100}\.(py|json)")


def write_bundle(directory: Path, files: dict[str, str]) -> list[Path]:
    """The bundle's files, each 0600 and created anew in directory; ValueError for a name that is not plain."""
    written = []
    for name, text in files.items():
        if not _FILE_NAME.fullmatch(name):
            raise ValueError(f"not a plain file name: {name!r}")
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        written.append(directory / name)
    return written


def main(argv: list[str] | None = None) -> int:
    """Read the bundle, run locust's worker until it ends, stdin closes or TERM comes; its exit status."""
    parser = argparse.ArgumentParser(prog="python -m probes.bench.loadgen.locust.worker")
    parser.add_argument("--master-host", required=True)
    parser.add_argument("--master-port", type=int, required=True)
    args = parser.parse_args(argv)
    if not is_address(args.master_host) or not 0 < args.master_port < 65536:
        print("invalid master address", file=sys.stderr)
        return 2
    bundle = json.loads(sys.stdin.readline() or "{}")
    directory = Path(tempfile.mkdtemp(prefix="servebench-locust-"))
    try:
        paths = write_bundle(directory, dict(bundle.get("files", {})))
        locustfiles = [str(p) for p in paths if p.suffix == ".py"]
        env = {**os.environ, "SERVEBENCH_LOCUST_REPORT_S": str(bundle.get("report_s", 1.0))}
        if (directory / "headers.json").exists():
            env["SERVEBENCH_LOCUST_HEADERS"] = str(directory / "headers.json")
        command = [sys.executable, "-m", "locust", "-f", ",".join(locustfiles), "--worker", "--loglevel", "WARNING"]
        command += ["--master-host", args.master_host, "--master-port", str(args.master_port)]
        child = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent())

        def end(*_: object) -> None:
            if child.poll() is None:
                child.terminate()

        signal.signal(signal.SIGTERM, end)

        def watch() -> None:
            while sys.stdin.readline():
                pass
            end()

        threading.Thread(target=watch, daemon=True).start()
        return child.wait()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
