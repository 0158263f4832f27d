"""A locust master for servebench's run and its workers: started once, each window's users through the plugin.

A master that quits tells its workers to quit, and a worker that hears no master for 60 s quits too: the
workers a user started (--locust-workers) would not survive a master per window. So the master lives as
long as the load does not change: each window is a `start` (users, host, the window's rate) and a `stop`
sent on a pipe the plugin reads (plugin.py, _control); the workers stay connected in between, and locust's
start-up (interpreter, import, connect: ~4 s) is paid once. The pipe's end (servebench done, or killed)
ends the master, which ends its workers; each process servebench started dies with it too (PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import selectors
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ...processes.ports import free_port
from ..model import LoadgenError, LoadSpec
from .hosts import Placement, bundle, locust_command, worker_argv
from .process import LocustProcess
from .seconds import MasterLines
from .setup import LocustSetup

HEADERS_NAME = "headers.json"
HEADERS_FILE = "SERVEBENCH_LOCUST_HEADERS"  # plugin.py's (it cannot import this module)
CONTROL_FD = "SERVEBENCH_LOCUST_CONTROL_FD"  # plugin.py's
STARTUP_S = 30.0  # interpreter and locust import on a loaded machine, the workers' connect
REPORT_S = 1.0  # the plugin's report interval (locust's own is 3 s)
STOP_S = 10.0
WORKER_LIMIT_S = 24 * 3600  # `timeout` of a worker in a namespace or over ssh: a backstop, the master ends it
Say = Callable[[str], None]


class Fleet:
    """The run's master (this host) and the workers servebench started; `users` or `wanted` more it waits for."""

    def __init__(
        self,
        files: str,
        directory: Path,
        where: Placement,
        cores: set[int] | None,
        *,
        user_workers: int = 0,
        say: Say | None = None,
    ) -> None:
        self.where, self.directory, self.files = where, directory, files
        self.expected = where.total + user_workers
        self.lines = MasterLines()
        self.quit_itself: bool | None = None  # close(): did the master quit at the pipe's end, within STOP_S?
        self.port = free_port(where.bind)
        env = {**os.environ, "SERVEBENCH_LOCUST_REPORT_S": str(REPORT_S)}
        if (headers := directory / HEADERS_NAME).exists():
            env[HEADERS_FILE] = str(headers)
        read_end, self.control = os.pipe()
        env[CONTROL_FD] = str(read_end)
        master = [*locust_command(files), "--master", "--master-bind-host", where.bind]
        master += ["--master-bind-port", str(self.port), "--headless", "--only-summary", "-u", "0", "-r", "1"]
        master += ["--exit-code-on-error", "0", "--stop-timeout", "1"]
        try:
            self.master = LocustProcess(master, env, cores, read=True, pass_fds=(read_end,))
        finally:
            os.close(read_end)
        self.workers: list[LocustProcess] = []
        for host in where.workers:
            argv = worker_argv(host, locust_command(files), (where.bind, self.port), WORKER_LIMIT_S)
            over_ssh = host is not None and host.kind == "ssh"
            # Over ssh the client host's cores are its own: no affinity of this host's applies.
            stdin = bundle(files, REPORT_S) if over_ssh else None
            self.workers.append(LocustProcess(argv, env, None if over_ssh else cores, read=False, stdin=stdin))
        self.selector = selectors.DefaultSelector()
        assert self.master.popen.stdout is not None
        self.selector.register(self.master.popen.stdout, selectors.EVENT_READ)
        if user_workers:
            (say or _stderr)(self.worker_command(user_workers))

    def worker_command(self, count: int) -> str:
        """What a user runs, count times, for the workers servebench waits for (the files are 0600, theirs)."""
        target = f"[{self.where.bind}]" if ":" in self.where.bind else self.where.bind
        env = f"SERVEBENCH_LOCUST_REPORT_S={REPORT_S}"
        if (headers := self.directory / HEADERS_NAME).exists():
            env += f" {HEADERS_FILE}={headers}"
        return (
            f"locust: servebench waits {WORKERS_WAIT_S:.0f} s for {count} worker(s) you start, each with:"
            f" {env} locust -f {self.files} --worker --master-host {target} --master-port {self.port}"
        )

    def wait_for_workers(self, wait_s: float) -> None:
        """Until every worker expected is connected; a LoadgenError naming how many came."""
        try:
            self.pump(lambda: self.lines.workers >= self.expected, time.time() + wait_s, "workers")
        except LoadgenError:
            raise LoadgenError(
                f"locust: {self.lines.workers} of {self.expected} worker(s) connected within {wait_s:.0f} s"
            ) from None
        # Every locust process has loaded the files: the users (a session cookie maybe) go at once.
        shutil.rmtree(self.directory, ignore_errors=True)

    def send(self, command: dict[str, object]) -> None:
        try:
            os.write(self.control, (json.dumps(command) + "\n").encode())
        except BrokenPipeError:
            raise LoadgenError(f"locust master ended: {self.master.said()}") from None

    def start(self, spec: LoadSpec, setup: LocustSetup) -> None:
        """A window's users on every worker; returns once locust says they are spawned."""
        workers = self.expected
        users = workers if spec.rate is not None and setup.locustfile is None else spec.concurrency
        target = f"[{self.where.target}]" if ":" in self.where.target else self.where.target
        window = {"concurrency": spec.concurrency}
        if spec.rate is not None:
            window["rate_per_worker"] = spec.rate / workers  # type: ignore[assignment]
        self.lines.spawned_at = None
        host = f"http://{target}:{spec.port}"
        self.send({"do": "start", "users": users, "spawn_rate": max(users, 1000), "host": host, "window": window})
        self.pump(lambda: self.lines.spawned_at is not None, time.time() + STARTUP_S, "users spawned")

    def stop_users(self) -> None:
        """The window's users stopped on every worker (they stay connected for the next)."""
        self.lines.stopped_at = None
        self.send({"do": "stop"})
        self.pump(lambda: self.lines.stopped_at is not None, time.time() + STOP_S + 60, "users stopped")

    def pump(self, until: Callable[[], bool], deadline: float, what: str) -> None:
        """Read the master's lines until `until()` or the deadline (LoadgenError, naming what was awaited)."""
        while not until():
            left = deadline - time.time()
            if left <= 0:
                raise LoadgenError(f"locust: no {what} within the time allowed")
            if self.selector.select(timeout=min(left, 0.25)) and not self._feed():
                if until():
                    return
                raise LoadgenError(f"locust master ended before {what}: {self.master.said()}")

    def sleep_until(self, moment: float) -> None:
        self.pump(lambda: time.time() >= moment, moment + 1.0, "the clock")

    def _feed(self) -> bool:
        assert self.master.popen.stdout is not None
        chunk = self.master.popen.stdout.read()
        if chunk is None:
            return True
        if not chunk:
            return False
        *whole, self.master.buffer = (self.master.buffer + chunk).split(b"\n")
        for line in whole:
            self.lines.read(line.decode(errors="replace"))
        return True

    @property
    def alive(self) -> bool:
        return self.master.popen.poll() is None

    def close(self) -> None:
        """The pipe closed: the master quits (telling every worker, the user's too), then TERM what is left."""
        with contextlib.suppress(OSError):
            os.close(self.control)
        deadline = time.time() + STOP_S
        while self.alive and time.time() < deadline:
            with contextlib.suppress(LoadgenError):
                self.pump(lambda: not self.alive, deadline, "end")
        self.quit_itself = not self.alive  # False: STOP_S passed and it is TERMed (tests/servers/test_locust_ends.py)
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.master.popen.send_signal(signal.SIGTERM)
        with contextlib.suppress(ValueError, OSError):
            self.selector.close()
        self.master.stop(STOP_S)
        for worker in self.workers:
            worker.stop(STOP_S)
        shutil.rmtree(self.directory, ignore_errors=True)


WORKERS_WAIT_S = 120.0  # how long servebench waits for the workers a user starts


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def new_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="servebench-locust-"))  # 0700


def window_edges(spec: LoadSpec) -> tuple[int, int]:
    """The window's whole seconds on this host's clock: from the next whole second, for the duration asked."""
    from ..model import ceil_s

    first = math.ceil(time.time())
    return first, first + ceil_s(spec.duration_s)
