"""A locust process servebench started: its own session, dies with servebench, its stdout read as it comes.

Split from the driver so that the master of a run (fleet.py) and its workers share one way to start and end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from pathlib import Path

from ...processes.supervisor import die_with_parent


def write_private(path: Path, text: str) -> None:
    """A new 0600 file (never an existing one, never through a link)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


class LocustProcess:
    """A subprocess in its own session whose stdout lines are read as they come (non-blocking)."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cores: set[int] | None,
        *,
        read: bool,
        stdin: str | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE if read else subprocess.DEVNULL,
            stderr=self.stderr,
            env=env,
            start_new_session=True,
            pass_fds=pass_fds,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        if cores is not None:
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(self.popen.pid, cores)
        if read:
            assert self.popen.stdout is not None
            os.set_blocking(self.popen.stdout.fileno(), False)
        if stdin is not None and self.popen.stdin is not None:
            # Kept open: a worker on a client host ends when it closes (stop(), or servebench's end).
            with contextlib.suppress(BrokenPipeError):
                self.popen.stdin.write((stdin + "\n").encode())
                self.popen.stdin.flush()
        self.buffer = b""

    def said(self) -> str:
        """Its last line on stderr (why it ended), or its exit status."""
        self.stderr.seek(0)
        lines = [ln for ln in self.stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1].strip() if lines else f"exit status {self.popen.poll()}"

    def stop(self, timeout_s: float) -> None:
        """Close its stdin, TERM its session, KILL it after timeout_s."""
        if self.popen.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.popen.stdin.close()
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self.stderr.close()


def cpu_s(pid: int) -> float:
    """A process's own CPU (user + system) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
