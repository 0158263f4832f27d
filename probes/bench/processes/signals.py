"""Signals only to processes that are provably ours: a pid names a process only with its start time.

Pids are reused (pid_max is often 32,768: they wrap within minutes of busy tests), so a
pid read from /proc a moment ago, or remembered from a spawn, may name someone else's
process now. Each signal here goes through a pidfd (Linux 5.3+, Python 3.9+): the pidfd
is opened first, the start time read after it is checked against the one recorded, and
the signal goes to the process the pidfd holds, which cannot be a newcomer with the same
pid. Without pidfds the start time is checked just before os.kill (a window of a few
microseconds instead of none).
"""

from __future__ import annotations

import contextlib
import os
import signal

from .procfs import _proc_info

HAVE_PIDFD = hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


def open_pidfd(pid: int) -> int | None:
    """A pidfd for `pid` (close-on-exec), or None when the kernel or Python offers none, or it is gone."""
    if not HAVE_PIDFD:
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:  # ESRCH: gone; ENOSYS/EPERM: a kernel or sandbox without pidfds
        return None


def send_via_pidfd(pidfd: int, sig: int) -> bool:
    """Signal the process a pidfd holds; False once it has exited and been reaped (or never existed)."""
    try:
        signal.pidfd_send_signal(pidfd, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def same_process(pid: int, start_ticks: int) -> bool:
    """True while `pid` is still the process that started at `start_ticks` (a zombie counts: it holds the pid)."""
    info = _proc_info(pid)
    return info is not None and info.start_ticks == start_ticks


def signal_if_same(pid: int, start_ticks: int, sig: int) -> bool:
    """Send `sig` to `pid` only if it is still the process that started at `start_ticks`; True if sent."""
    pidfd = open_pidfd(pid)
    if pidfd is None:
        if not same_process(pid, start_ticks):
            return False
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    try:
        # Checked after the pidfd is open: if the pid names our process now, the pidfd holds it
        # (or a process that has exited since, which the signal then cannot reach).
        return same_process(pid, start_ticks) and send_via_pidfd(pidfd, sig)
    finally:
        with contextlib.suppress(OSError):
            os.close(pidfd)
