"""The one process supervisor: start children in their own session, wait until
they are really ready, and stop them (TERM, deadline, KILL, reap), leaving nothing.

Learned from gunicorn's arbiter and mirakuru: a new session per child so the
whole tree can be signalled; readiness is a predicate with a deadline; "no such
process" means already gone.

A child's processes are found by parent chain from the child, by its session,
and by a marker in their environment (SERVEBENCH_OWNER), not by the pids we
remember: servers fork, and a grandchild that calls setsid() and loses its
parent is adopted by us (a subreaper) with nothing but the marker to tell
whose it is.

When servebench itself dies (kill -9, the OOM killer, a CI timeout) no cleanup
code runs. Each direct child gets SIGTERM from the kernel then
(PR_SET_PDEATHSIG), so every server shuts its own tree down as on a normal
stop; and the run directory records the supervisor and its children (pid and
start time), so the next run finds whatever still survived and stops it
(`reclaim_orphans`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from .procfs import OWNER_ENV, ProcInfo, _proc_info, all_processes, descendants, owner_marker
from .signals import open_pidfd, send_via_pidfd, signal_if_same

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
POLL_S = 0.02
# In the run directory: "supervisor PID START TOKEN", one "child PID START NAME" per spawn,
# and "stopped" once every child was stopped.
RECORD_NAME = "servebench.pids"
# sockaddr_un.sun_path holds 108 bytes, the terminating NUL included (PostgreSQL: 107 for the whole path).
UNIX_PATH_MAX = 107
SHORT_DIR_PARENT = "/tmp"  # short enough whatever TMPDIR is
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


_LIBC: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL | None:
    global _LIBC
    if _LIBC is None:
        with contextlib.suppress(OSError):
            _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def become_subreaper() -> bool:
    """Adopt orphaned descendants, so a daemonizing grandchild cannot escape."""
    libc = _libc()
    try:
        return libc is not None and bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except AttributeError:
        return False


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn: the kernel sends `sig` to the child when its parent dies, even by SIGKILL.

    The death signal follows the parent *thread*: spawn from the main thread. SIGTERM,
    not SIGKILL, so a server stops its own workers as on a normal stop. libc is loaded
    here, in the parent: between fork and exec the child only makes two system calls.
    """
    libc = _libc()
    parent = os.getpid()

    def preexec() -> None:
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody will send it
            os.kill(os.getpid(), sig)

    return preexec


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


class Supervisor:
    """Starts children with their output in log files of the run directory; stops them all."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []
        self.token = secrets.token_hex(8)
        self.subreaper = become_subreaper()
        self._record = log_dir / RECORD_NAME
        self._short_dir: Path | None = None  # socket_path's directory in /tmp, when the run directory is too deep
        me = _proc_info(os.getpid())
        self._append_record(f"supervisor {os.getpid()} {me.start_ticks if me else 0} {self.token}")
        atexit.register(self.stop_all)

    def socket_path(self, name: str) -> Path:
        """Where a unix socket called `name` goes: the run directory, or, when that path would pass
        the kernel's limit (sun_path: 108 bytes with its NUL), a short private directory of this run
        in /tmp (0700, named after the run directory, removed with it; reclaim_orphans knows it)."""
        path = self.log_dir / name
        if len(os.fsencode(path)) <= UNIX_PATH_MAX:
            return path
        if self._short_dir is None:
            self._short_dir = Path(tempfile.mkdtemp(prefix=f"{self.log_dir.name}-sockets-", dir=SHORT_DIR_PARENT))
        path = self._short_dir / name
        if len(os.fsencode(path)) > UNIX_PATH_MAX:
            raise ValueError(f"the unix socket name {name!r} is too long for the kernel's {UNIX_PATH_MAX} bytes")
        return path

    def _append_record(self, line: str) -> None:
        # O_NOFOLLOW|O_APPEND, 0600: the log directory is the 0700 run directory; no link is followed.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self._record, flags, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> Child:
        """Start argv in a new session, stdout and stderr to <log_dir>/<name>.log; it dies with servebench."""
        log_path = self.log_dir / f"{name}.log"
        marker = f"{self.token}.{len(self.children)}"
        child_env = {**(env if env is not None else os.environ), OWNER_ENV: marker}
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env,
                cwd=cwd,
                start_new_session=True,
                pass_fds=tuple(pass_fds),
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        child = Child(name=name, argv=argv, popen=popen, log_path=log_path, marker=marker)
        self.children.append(child)
        self._append_record(f"child {popen.pid} {child.start_ticks} {name}")
        return child

    def stop_all(self, *, timeout_s: float = 5.0) -> None:
        """Stop every child, the newest first (idempotent)."""
        for child in reversed(self.children):
            child.stop(timeout_s=timeout_s)

    def leftovers(self) -> list[ProcInfo]:
        """Processes still alive of the children we started (by parent chain, session or marker)."""
        return [info for child in self.children for info in child.tree() if info.state != "Z"]

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()
        atexit.unregister(self.stop_all)
        if self._short_dir is not None:
            shutil.rmtree(self._short_dir, ignore_errors=True)
        if not self.leftovers():
            # A clean end: a run directory kept for its logs is not an orphan to reclaim.
            with contextlib.suppress(OSError):
                self._append_record("stopped")


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SystemExit in the main thread, so cleanup runs as for Ctrl-C."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
