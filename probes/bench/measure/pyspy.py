"""Sample a server's processes from outside with py-spy during a measured window.

py-spy reads the interpreters' memory through ptrace (process_vm_readv): no change
to the app, any server kind. `--nonblocking` never pauses the target (the price:
a few torn stacks, counted as py-spy's errors); `--idle` keeps waiting threads,
so time a view spends waiting (a lock, the database) shows in the wall-clock
profile. Where the kernel refuses ptrace, `ptrace_refusal` says why in one line
and the caller measures on without a profile.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..processes.child import Child, StartFailed
from ..processes.supervisor import Supervisor

YAMA_SCOPE = Path("/proc/sys/kernel/yama/ptrace_scope")
CAP_SYS_PTRACE = 19
READY_LINE = "py-spy> Sampling process"
_DONE = re.compile(r"Samples: (\d+) Errors: (\d+)")
_REFUSED = ("permission denied", "operation not permitted", "os error 1)", "os error 13)")  # lower case


class ProfilerUnavailable(RuntimeError):
    """Profiling cannot run here; the message is one line that says why."""

    def __init__(self, message: str, *, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting  # True: no configuration of this run can be profiled (ptrace refused, no py-spy)


def py_spy_path() -> str | None:
    """py-spy next to this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


def _has_cap_sys_ptrace(status_path: Path) -> bool:
    try:
        for line in status_path.read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_SYS_PTRACE & 1)
    except (OSError, ValueError):
        pass
    return False


def ptrace_refusal(
    pid: int, *, scope_path: Path = YAMA_SCOPE, status_path: Path = Path("/proc/self/status")
) -> str | None:
    """Why the kernel will not let py-spy (our child, the server's sibling) read `pid`; None when it will."""
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
    except FileNotFoundError:
        return f"no profile: process {pid} does not exist"
    capable = _has_cap_sys_ptrace(status_path)
    try:
        scope = int(scope_path.read_text().strip())
    except (OSError, ValueError):
        scope = 0  # no Yama: classic ptrace rules
    if scope >= 3:
        return "no profile: kernel.yama.ptrace_scope = 3 forbids ptrace to every process until a reboot"
    if scope == 2 and not capable:
        return "no profile: kernel.yama.ptrace_scope = 2 lets only CAP_SYS_PTRACE trace (run as root, or set it to 1)"
    if scope == 1 and not capable:
        return (
            "no profile: kernel.yama.ptrace_scope = 1 lets a process trace only its descendants, and py-spy is the"
            " server's sibling (sysctl kernel.yama.ptrace_scope=0, or give py-spy CAP_SYS_PTRACE)"
        )
    if owner != os.geteuid() and not capable:
        return f"no profile: the server runs as uid {owner}, and tracing another user's process needs CAP_SYS_PTRACE"
    return None


@dataclass(frozen=True)
class Recording:
    """What one py-spy run left: its speedscope file and its sample counts (its CPU is the window's
    `profiler` role, read by metrics.snapshot_cpu on its pid)."""

    path: Path
    samples: int
    errors: int  # stacks py-spy could not read (torn by --nonblocking); a few per thousand is normal


class ProfilerRun:
    """One py-spy attached to a server's process tree; `finish` ends it at the window's end."""

    def __init__(self, child: Child, output: Path) -> None:
        self.child = child
        self.output = output

    @property
    def pid(self) -> int:
        """py-spy's pid: the `profiler` role's root for metrics.snapshot_cpu."""
        return self.child.pid

    def finish(self, *, timeout_s: float = 10.0) -> Recording:
        """End the recording now (SIGINT: py-spy writes its file), reap it; ProfilerUnavailable if no file."""
        if self.child.popen.poll() is None:
            self.child.signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.popen.wait(timeout=timeout_s)
        self.child.stop(timeout_s=timeout_s)  # TERM then KILL whatever is left of its session; reaps
        log = self.child.log_tail(lines=40)
        if not self.output.is_file() or self.output.is_symlink():
            raise ProfilerUnavailable(f"no profile: py-spy wrote no file ({_last_line(log)})")
        self.output.chmod(0o600)  # py-spy creates it by the umask; it names the project's files and lines
        done = _DONE.search(log)
        samples, errors = (int(done.group(1)), int(done.group(2))) if done else (0, 0)
        return Recording(self.output, samples, errors)


def _last_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    return (errors or lines or ["no output"])[-1]


def start_profiler(
    supervisor: Supervisor,
    *,
    pid: int,
    output: Path,
    max_duration_s: float,
    rate_hz: int = 100,
    ready_timeout_s: float = 15.0,
    py_spy: str | None = None,
    scope_path: Path = YAMA_SCOPE,
) -> ProfilerRun:
    """Attach py-spy to `pid` and its subprocesses; returns once it samples. ProfilerUnavailable: one line why not."""
    binary = py_spy or py_spy_path()
    if binary is None:
        raise ProfilerUnavailable(
            "no profile: py-spy is not installed (pip install 'django-servebench[profile]')", lasting=True
        )
    refusal = ptrace_refusal(pid, scope_path=scope_path)
    if refusal:
        raise ProfilerUnavailable(refusal, lasting=True)
    if os.path.lexists(output):
        raise ProfilerUnavailable(f"no profile: {output} exists already (py-spy would write through it)")
    argv = [binary, "record", "--pid", str(pid), "--subprocesses", "--format", "speedscope"]
    argv += ["--output", str(output), "--rate", str(rate_hz), "--duration", str(math.ceil(max_duration_s))]
    argv += ["--nonblocking", "--idle", "--full-filenames", "--function"]
    # A log of its own per recording: the readiness check must not read an earlier one's line.
    try:
        child = supervisor.spawn(f"py-spy-{pid}-{len(supervisor.children)}", argv)
    except OSError as exc:
        raise ProfilerUnavailable(f"no profile: py-spy could not start ({exc.strerror or exc})", lasting=True) from None

    def sampling() -> bool:
        try:
            return READY_LINE in child.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return False

    try:
        child.wait_ready(sampling, timeout_s=ready_timeout_s)
    except StartFailed:
        log = child.log_tail(lines=40)
        child.stop()
        line = _last_line(log)
        if any(marker in line.lower() for marker in _REFUSED):
            raise ProfilerUnavailable(
                f"no profile: ptrace refused on pid {pid} (a container without CAP_SYS_PTRACE, or its seccomp"
                f" profile?): {line}",
                lasting=True,
            ) from None
        raise ProfilerUnavailable(f"no profile: py-spy could not attach to pid {pid}: {line}") from None
    return ProfilerRun(child, output)
