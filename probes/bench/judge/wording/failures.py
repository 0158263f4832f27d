"""The sentences that say which process ended a configuration and how (quality.process_ended decides)."""

from __future__ import annotations

import signal

# Roles as a person reads them: a service servebench started is said to be servebench's own.
_SERVICE_NAMES = {"memcached": "servebench's memcached", "database": "servebench's PostgreSQL"}


def who(role: str, name: str) -> str:
    """'nginx', 'gunicorn (its master)', "servebench's memcached"."""
    if role == "nginx":
        return "nginx"
    if role == "server":
        return f"{name} (its master)"
    return _SERVICE_NAMES.get(role, f"servebench's {role}")


def how(returncode: int) -> str:
    """'signal 9' or 'status 1': what the kernel said of the exit."""
    if returncode < 0:
        number = -returncode
        try:
            return f"signal {number}, {signal.Signals(number).name}"
        except ValueError:
            return f"signal {number}"
    return f"status {returncode}"


def ended_text(role: str, name: str, returncode: int | None, when: str) -> str:
    """'nginx exited (signal 9, SIGKILL) during the window', "servebench's memcached died (status 1) ..."."""
    verb = "exited" if role in ("server", "nginx") else "died"
    status = f" ({how(returncode)})" if returncode is not None else ""
    return f"{who(role, name)} {verb}{status} {when}"


def oom_text(victim: str, when: str) -> str:
    """'the OOM killer ended nginx during the window'."""
    return f"the OOM killer ended {victim} {when} (the kernel's oom_kill count rose; see dmesg)"


def oom_worker(pid: int, server: str) -> str:
    """'worker 1234 of gunicorn'."""
    return f"worker {pid} of {server}"
