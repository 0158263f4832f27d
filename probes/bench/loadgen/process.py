"""Run a generator in its own process (own session), so its CPU can be measured apart."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..processes.supervisor import die_with_parent
from .model import LoadgenError, LoadResult, LoadSpec, ceil_s, check_loopback, check_supported

# Beyond warm-up + duration: interpreter start, the preflight, whole-second rounding of
# wrk/ab, the histogram build. Past this the child is presumed stuck and is killed.
GRACE_S = 15.0
_PACKAGE_ROOT = Path(__file__).resolve().parents[3]


def deadline_s(spec: LoadSpec, generator: str) -> float:
    """Longest a generator child may run before it is killed."""
    if generator == "builtin":
        return spec.warmup_s + spec.duration_s + GRACE_S
    warm = ceil_s(spec.warmup_s) if spec.warmup_s > 0 else 0
    return warm + ceil_s(spec.duration_s) + 2 * spec.timeout_s + GRACE_S


class LoadProcess:
    """A running generator child: .pid to sample its CPU, .wait() for its LoadResult."""

    def __init__(self, spec: LoadSpec, generator: str) -> None:
        self.spec = spec
        self.generator = generator
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
        argv = [sys.executable, "-m", "probes.bench.loadgen", "--generator", generator, "--spec-stdin"]
        # The spec goes through stdin, never argv: its headers may hold a session cookie
        # (--login-as), and any local user can read /proc/PID/cmdline.
        # Its own session: the parent stops it, and wrk/ab under it, with one killpg.
        # TERM from the kernel when servebench dies (even by SIGKILL): it stops wrk/ab and cleans up.
        self._popen = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        assert self._popen.stdin is not None
        try:
            self._popen.stdin.write(json.dumps(spec.to_dict()).encode())
        except BrokenPipeError:
            pass  # it died at once: wait() reports its stderr
        finally:
            self._popen.stdin.close()
            self._popen.stdin = None  # communicate() must not touch it again

    @property
    def pid(self) -> int:
        """Process id of the child (also its process-group and session id)."""
        return self._popen.pid

    def poll(self) -> int | None:
        """Exit status, or None while it runs."""
        return self._popen.poll()

    def wait(self, timeout: float | None = None) -> LoadResult:
        """Wait (by default up to the spec's deadline) and return the child's LoadResult."""
        if timeout is None:
            timeout = deadline_s(self.spec, self.generator)
        try:
            out, err = self._popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise LoadgenError(f"{self.generator} load generator still running after {timeout:.0f} s; killed") from exc
        if self._popen.returncode != 0:
            message = err.decode(errors="replace").strip().splitlines()
            detail = message[-1] if message else f"exit status {self._popen.returncode}"
            raise LoadgenError(f"{self.generator} load generator failed: {detail}")
        try:
            return LoadResult.from_dict(json.loads(out))
        except (ValueError, KeyError, TypeError) as exc:
            raise LoadgenError(f"{self.generator} load generator printed no result") from exc

    def kill(self) -> None:
        """SIGKILL the child's whole process group and reap it; a no-op once it is gone."""
        if self._popen.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(self._popen.pid, signal.SIGKILL)
            self._popen.communicate()

    def __enter__(self) -> LoadProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


def start_load(spec: LoadSpec, *, generator: str = "builtin") -> LoadProcess:
    """Start a generator child for spec; unsupported combinations raise before anything starts."""
    check_supported(spec, generator)
    check_loopback(spec)
    return LoadProcess(spec, generator)


def run_load(spec: LoadSpec, *, generator: str = "builtin") -> LoadResult:
    """Start a generator child, wait for it, return its LoadResult (CPU of the window included)."""
    with start_load(spec, generator=generator) as load:
        return load.wait()
