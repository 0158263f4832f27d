"""The one process supervisor: start children in their own session, wait until
they are really ready, and stop them (TERM, deadline, KILL, reap), leaving nothing.

Learned from gunicorn's arbiter and mirakuru: a new session per child so the
whole tree can be signalled; readiness is a predicate with a deadline; "no such
process" means already gone; leftovers are found by session id, not by the pids
we remember, because servers fork and daemonize.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
POLL_S = 0.02
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(: .*)?$")


class StartFailed(RuntimeError):
    """A child exited or never became ready; the message ends with its log tail."""


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str


def _proc_info(pid: int) -> ProcInfo | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may contain spaces and parentheses: split after the last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return ProcInfo(pid, int(fields[1]), int(fields[2]), int(fields[3]), fields[0])


def session_members(sid: int) -> list[ProcInfo]:
    """Every process (zombies included) whose session id is `sid`."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _proc_info(int(entry))
            if info is not None and info.sid == sid:
                members.append(info)
    return members


def become_subreaper() -> bool:
    """Adopt orphaned descendants, so a daemonizing grandchild cannot escape."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


class Child:
    """One started process and its session."""

    def __init__(self, *, name: str, argv: Sequence[str], popen: subprocess.Popen[bytes], log_path: Path):
        self.name = name
        self.argv = tuple(argv)
        self.popen = popen
        self.log_path = log_path
        self.started_at = time.monotonic()
        self._stopped = False

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
        """A StartFailed naming the child, the reason and its log tail."""
        tail = self.log_tail()
        return StartFailed(f"{self.name}: {reason}" + (f"\n{tail}" if tail else ""))

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

    def session(self) -> list[ProcInfo]:
        """The processes of this child's session, zombies included."""
        return session_members(self.pid)

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

    def _signal_session(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
        # A member that moved to a process group of its own is signalled by pid.
        for info in self.session():
            if info.pgid != self.pid and info.state != "Z":
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(info.pid, sig)

    def _wait_session_gone(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            self.popen.poll()
            self._reap_adopted()
            if not self.session():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)

    def _reap_adopted(self) -> None:
        # Orphans of this session re-parented to us (we are a subreaper) are
        # zombies until we wait for them; never wait(-1), which would steal
        # the status of children that subprocess.Popen tracks.
        me = os.getpid()
        for info in self.session():
            if info.ppid == me and info.pid != self.pid:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(info.pid, os.WNOHANG)


class Supervisor:
    """Starts children with their output in log files of the run directory; stops them all."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []
        become_subreaper()
        atexit.register(self.stop_all)

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> Child:
        """Start argv in a new session, stdout and stderr to <log_dir>/<name>.log."""
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                pass_fds=tuple(pass_fds),
            )
        child = Child(name=name, argv=argv, popen=popen, log_path=log_path)
        self.children.append(child)
        return child

    def stop_all(self, *, timeout_s: float = 5.0) -> None:
        """Stop every child, the newest first (idempotent)."""
        for child in reversed(self.children):
            child.stop(timeout_s=timeout_s)

    def leftovers(self) -> list[ProcInfo]:
        """Processes still alive in the sessions of children we started."""
        return [info for child in self.children for info in child.session() if info.state != "Z"]

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()
        atexit.unregister(self.stop_all)


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
