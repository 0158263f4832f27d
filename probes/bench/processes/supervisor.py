"""The one process supervisor: start children in their own session, wait until
they are really ready, and stop them (TERM, deadline, KILL, reap), leaving nothing.

Learned from gunicorn's arbiter and mirakuru: a new session per child so the
whole tree can be signalled; readiness is a predicate with a deadline; "no such
process" means already gone.

Each child (child.py) finds its whole tree and signals only what is provably its
own (signals.py: pidfds, start times).

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
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from .child import Child
from .procfs import OWNER_ENV, ProcInfo, _proc_info

# Where the rest of servebench has always found them.

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# In the run directory: "supervisor PID START TOKEN", one "child PID START NAME" per spawn,
# and "stopped" once every child was stopped.
RECORD_NAME = "servebench.pids"
# sockaddr_un.sun_path holds 108 bytes, the terminating NUL included (PostgreSQL: 107 for the whole path).
UNIX_PATH_MAX = 107
SHORT_DIR_PARENT = "/tmp"  # short enough whatever TMPDIR is


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
