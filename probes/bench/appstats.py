"""The timing wrapper: the application's own time, measured inside the server during the load.

Each server process keeps cumulative counters in a small file of its own
(mmap'ed, in the run directory); servebench reads them all before and after
the measured window and keeps the difference. Nothing has to be flushed at
exit, so the figures survive a worker killed by SIGKILL, and they are the same
whichever load generator (built-in, wrk, ab) drives the server.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

STATS_DIR_ENV = "SERVEBENCH_STATS_DIR"
# requests, wall, cpu, queue, queued, db, queries, wall_max, errors, 5xx, run-queue wait, 1 spare
_FORMAT = struct.Struct("<12q")
_FIELDS = 11
_FILE_SIZE = mmap.PAGESIZE


@dataclass(frozen=True)
class AppCounters:
    """Cumulative figures of one server process (ns are nanoseconds)."""

    requests: int = 0
    app_wall_ns: int = 0
    app_cpu_ns: int = 0
    queue_ns: int = 0
    queued_requests: int = 0  # requests that carried X-Request-Start
    db_ns: int = 0
    db_queries: int = 0
    app_wall_max_ns: int = 0
    exceptions: int = 0
    server_errors: int = 0  # 5xx answered by the app
    app_runq_ns: int = 0  # of the app's wall time, waiting for a CPU (run queue, /proc/thread-self/schedstat)

    def minus(self, earlier: AppCounters) -> AppCounters:
        """What happened between `earlier` and this snapshot (the max is kept as is)."""
        values = {f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)}
        values["app_wall_max_ns"] = self.app_wall_max_ns
        return AppCounters(**values)

    def plus(self, other: AppCounters) -> AppCounters:
        values = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        values["app_wall_max_ns"] = max(self.app_wall_max_ns, other.app_wall_max_ns)
        return AppCounters(**values)


def read_counters(stats_dir: Path) -> dict[int, AppCounters]:
    """Every process's counters in stats_dir, by pid."""
    found = {}
    for path in stats_dir.glob("*.stats"):
        try:
            raw = path.read_bytes()[: _FORMAT.size]
        except FileNotFoundError:
            continue
        if len(raw) == _FORMAT.size:
            values = _FORMAT.unpack(raw)
            found[int(path.stem)] = AppCounters(*values[:_FIELDS])
    return found


def window(start: dict[int, AppCounters], end: dict[int, AppCounters]) -> dict[int, AppCounters]:
    """Per process, what happened between two read_counters() snapshots."""
    return {pid: counters.minus(start.get(pid, AppCounters())) for pid, counters in end.items()}


def total(per_process: dict[int, AppCounters]) -> AppCounters:
    result = AppCounters()
    for counters in per_process.values():
        result = result.plus(counters)
    return result


def _request_start_ns(environ: dict[str, Any]) -> int | None:
    # nginx: "t=1732653845.123" ($msec: seconds, millisecond resolution).
    raw = environ.get("HTTP_X_REQUEST_START", "")
    if not raw.startswith("t="):
        return None
    try:
        return int(float(raw[2:]) * 1e9)
    except ValueError:
        return None


class _ProcessCounters:
    """This process's counters, in memory and mirrored to its mmap'ed file after every request."""

    def __init__(self, stats_dir: Path) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.threads = threading.local()
        self.values = [0] * 12
        fd = os.open(stats_dir / f"{self.pid}.stats", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, _FILE_SIZE)
            self.map = mmap.mmap(fd, _FILE_SIZE)
        finally:
            os.close(fd)

    def run_delay_ns(self) -> int:
        """This thread's total time waiting on a run queue (0 where the kernel does not say)."""
        fd = getattr(self.threads, "schedstat", None)
        if fd is None:
            # Opened by the thread it describes; kept open: a pread is ~2 µs.
            try:
                fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
            except OSError:
                fd = -1
            self.threads.schedstat = fd
        if fd < 0:
            return 0
        try:
            return int(os.pread(fd, 64, 0).split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    def add(
        self,
        *,
        wall_ns: int,
        cpu_ns: int,
        queue_ns: int | None,
        db_ns: int,
        queries: int,
        exception: bool,
        status: int,
        runq_ns: int = 0,
    ) -> None:
        with self.lock:
            v = self.values
            v[0] += 1
            v[1] += wall_ns
            v[2] += cpu_ns
            if queue_ns is not None:
                v[3] += queue_ns
                v[4] += 1
            v[5] += db_ns
            v[6] += queries
            v[7] = max(v[7], wall_ns)
            v[8] += exception
            v[9] += status >= 500
            v[10] += max(0, runq_ns)
            _FORMAT.pack_into(self.map, 0, *v)


class TimingWrapper:
    """WSGI middleware: wall and thread CPU time inside the app call, the body iteration and close()."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        stats_dir: Path,
        db_timer: Callable[[DbTally], Any] | None = None,
    ) -> None:
        self.app = app
        self.stats_dir = stats_dir
        self.db_timer = db_timer  # a context manager factory yielding a DbTally
        self._counters: _ProcessCounters | None = None

    def counters(self) -> _ProcessCounters:
        # Created after fork, in the process that serves: a preforking server
        # loads the app in its master, whose counters no worker may share.
        counters = self._counters
        if counters is None or counters.pid != os.getpid():
            counters = self._counters = _ProcessCounters(self.stats_dir)
        return counters

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        queued_since = _request_start_ns(environ)
        now_ns = time.time_ns()
        counters = self.counters()
        runq0 = counters.run_delay_ns()
        wall0, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
        status_holder = [0]

        def recording_start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            status_holder[0] = int(status[:3])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        tally = DbTally()
        timer = self.db_timer(tally) if self.db_timer else None
        try:
            if timer is not None:
                with timer:
                    result = self.app(environ, recording_start_response)
            else:
                result = self.app(environ, recording_start_response)
        except BaseException:
            counters.add(
                wall_ns=time.perf_counter_ns() - wall0,
                cpu_ns=time.thread_time_ns() - cpu0,
                queue_ns=None if queued_since is None else max(0, now_ns - queued_since),
                db_ns=tally.ns,
                queries=tally.queries,
                exception=True,
                status=500,
                runq_ns=counters.run_delay_ns() - runq0,
            )
            raise
        spent = (time.perf_counter_ns() - wall0, time.thread_time_ns() - cpu0)
        queue_ns = None if queued_since is None else max(0, now_ns - queued_since)
        return _TimedBody(result, counters, spent, queue_ns, tally, status_holder, runq0)


@dataclass
class DbTally:
    ns: int = 0
    queries: int = 0


class _TimedBody:
    """The response iterable, timed while the server iterates and closes it."""

    def __init__(
        self,
        body: Iterable[bytes],
        counters: _ProcessCounters,
        spent: tuple[int, int],
        queue_ns: int | None,
        tally: DbTally,
        status: list[int],
        runq0: int,
    ) -> None:
        self.body = body
        self.iterator: Iterator[bytes] | None = None
        self.counters = counters
        # Run-queue wait is read once at each end: it spans the server's own
        # writes between chunks too (one chunk, in practice, for Django).
        self.runq0 = runq0
        self.wall_ns, self.cpu_ns = spent
        self.queue_ns = queue_ns
        self.tally = tally
        self.status = status
        self.recorded = False

    def __iter__(self) -> _TimedBody:
        self.iterator = iter(self.body)
        return self

    def __next__(self) -> bytes:
        assert self.iterator is not None
        wall0, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
        try:
            return next(self.iterator)
        finally:
            self.wall_ns += time.perf_counter_ns() - wall0
            self.cpu_ns += time.thread_time_ns() - cpu0

    def close(self) -> None:
        wall0, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            if not self.recorded:
                self.recorded = True
                self.counters.add(
                    wall_ns=self.wall_ns + time.perf_counter_ns() - wall0,
                    cpu_ns=self.cpu_ns + time.thread_time_ns() - cpu0,
                    queue_ns=self.queue_ns,
                    db_ns=self.tally.ns,
                    queries=self.tally.queries,
                    exception=False,
                    status=self.status[0],
                    runq_ns=self.counters.run_delay_ns() - self.runq0,
                )
