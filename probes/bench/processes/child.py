"""One started process and its session: readiness with a deadline, its whole tree, and a stop
(TERM, deadline, KILL, reap) that signals only what is provably its own (signals.py).

A child's processes are found by parent chain from the child, by its session, and by a
marker in their environment (SERVEBENCH_OWNER), not by the pids we remember: servers fork,
and a grandchild that calls setsid() and loses its parent is adopted by us (a subreaper)
with nothing but the marker to tell whose it is.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .procfs import ProcInfo, _proc_info, all_processes, descendants, owner_marker
from .signals import open_pidfd, send_via_pidfd, signal_if_same

POLL_S = 0.02
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(: .*)?$")


# A log line that says why a process stopped: Python's exception line, PostgreSQL's FATAL/PANIC,
# nginx's [emerg]/[alert], memcached's and the servers' "error"/"failed" lines.
_CAUSE_LINE = re.compile(r"FATAL|PANIC|\[(emerg|alert|crit)\]|\berror\b|\bfailed\b|cannot|can't", re.IGNORECASE)


def _cause_line(lines: Sequence[str], *, limit: int = 300) -> str:
    """The line of a log tail that says why, one line: the last exception or error line, else the last line."""
    written = [" ".join(line.split()) for line in lines if line.strip() and line.strip() != "..."]
    causes = [line for line in written if _EXCEPTION_LINE.match(line) or _CAUSE_LINE.search(line)]
    line = causes[-1] if causes else (written[-1] if written else "")
    return line[:limit]


class ServiceUnavailable(RuntimeError):
    """A service's binary is not installed here."""


class StartFailed(RuntimeError):
    """A child exited or never became ready; the message ends with its log tail."""


class Child:
    """One started process and its session."""

    def __init__(
        self,
        *,
        name: str,
        argv: Sequence[str],
        popen: subprocess.Popen[bytes],
        log_path: Path,
        marker: str | None = None,
        start_ticks: int | None = None,
    ):
        self.name = name
        self.argv = tuple(argv)
        self.popen = popen
        self.log_path = log_path
        self.marker = marker  # the OWNER_ENV value its processes inherit
        self.started_at = time.monotonic()
        self._stopped = False
        # Opened before anyone waits for it, so it holds this very process; None without pidfds.
        self._pidfd = open_pidfd(popen.pid)
        if start_ticks is None:
            info = _proc_info(popen.pid)
            start_ticks = info.start_ticks if info else 0
        self.start_ticks = start_ticks  # with the pid, names this process for good
        self._seen: dict[int, int] = {}  # pid -> start ticks of every process of its tree seen so far
        if start_ticks:
            self._seen[popen.pid] = start_ticks

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        """True while the child itself has not exited."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 12) -> str:
        """The last lines the child wrote to its log, and the last exception line if it is further up."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        written = text.strip().splitlines()
        tail = written[-lines:]
        # Several workers failing at once interleave their tracebacks: keep the cause in view.
        causes = [line for line in written if _EXCEPTION_LINE.match(line)]
        if causes and causes[-1] not in tail:
            tail = [causes[-1], "...", *tail]
        return "\n".join(tail)

    def failure(self, reason: str) -> StartFailed:
        """A StartFailed naming the child, the reason and its log's cause line on its first line (the
        one line a user sees: "postgres-5432: exited with status 1 before it was ready: FATAL: ..."),
        then the log tail."""
        tail = self.log_tail()
        cause = _cause_line(tail.splitlines())
        return StartFailed(f"{self.name}: {reason}" + (f": {cause}" if cause else "") + (f"\n{tail}" if tail else ""))

    def wait_ready(self, ready: Callable[[], bool], *, timeout_s: float) -> float:
        """Poll `ready` until it is true; seconds it took. StartFailed if the child dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.alive():
                raise self.failure(f"exited with status {self.popen.returncode} before it was ready")
            if ready():
                return time.monotonic() - self.started_at
            if time.monotonic() > deadline:
                raise self.failure(f"not ready after {timeout_s:g} s")
            time.sleep(POLL_S)

    def tree(self) -> list[ProcInfo]:
        """Every process of this child, zombies included: its descendants by parent chain, its
        session, adopted orphans that carry its marker (a grandchild that called setsid()), and
        any process seen here before (pid and start time) whatever its parent is now.

        The child's pid counts only while it is still the child (its start time): once the
        child is reaped, a newcomer may get its pid, and, as a session leader, its session id.
        Members of the child's session keep that id in use, so a process with the child's
        session id is the child's own unless the pid now names someone else.
        """
        processes = all_processes()
        me = os.getpid()
        now = next((info for info in processes if info.pid == self.pid), None)
        reused = now is not None and now.start_ticks != self.start_ticks
        roots = set() if reused or now is None else {self.pid}
        for info in processes:
            if (
                (info.sid == self.pid and not reused)
                or self._seen.get(info.pid) == info.start_ticks
                or (info.ppid in (me, 1) and self.marker and owner_marker(info.pid) == self.marker)
            ):
                roots.add(info.pid)
        found = descendants(processes, roots)
        self._seen.update((info.pid, info.start_ticks) for info in found)
        return found

    def session(self) -> list[ProcInfo]:
        """The child's processes (the name is older than the parent-chain search): see tree()."""
        return self.tree()

    def signal(self, sig: int) -> bool:
        """Send `sig` to the child itself, only while it is provably the child; False once it is gone."""
        if self._pidfd is not None:
            return send_via_pidfd(self._pidfd, sig)
        if self.popen.returncode is not None:  # reaped: the pid may name anyone now
            return False
        return signal_if_same(self.pid, self.start_ticks, sig)

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """TERM the session, wait up to timeout_s, KILL what is left, reap. Idempotent."""
        if self._stopped:
            return
        self._signal_session(signal.SIGTERM)
        if not self._wait_session_gone(timeout_s):
            self._signal_session(signal.SIGKILL)
            self._wait_session_gone(timeout_s)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout_s)
        self._stopped = True
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None

    def _signal_session(self, sig: int) -> None:
        # The group by its id only while the leader is not reaped: until then its pid (the
        # group's id) cannot be reused. After, every member is signalled on its own, each
        # checked against its start time.
        if self.popen.returncode is None and self.signal(0):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            grouped = True
        else:
            grouped = False
        for info in self.tree():
            if info.state != "Z" and (info.pgid != self.pid or not grouped):
                signal_if_same(info.pid, info.start_ticks, sig)

    def _wait_session_gone(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            self.popen.poll()
            self._reap_adopted()
            if not self.tree():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)

    def _reap_adopted(self) -> None:
        # Orphans of this session re-parented to us (we are a subreaper) are
        # zombies until we wait for them; never wait(-1), which would steal
        # the status of children that subprocess.Popen tracks.
        me = os.getpid()
        for info in self.tree():
            if info.ppid == me and info.pid != self.pid:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(info.pid, os.WNOHANG)
