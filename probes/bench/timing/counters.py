"""The timing wrapper: the application's own time, measured inside the server during the load.

Each server process keeps cumulative counters in a small file of its own
(mmap'ed, in the run directory); servebench reads them all before and after
the measured window and keeps the difference. Nothing has to be flushed at
exit, so the figures survive a worker killed by SIGKILL, and they are the same
whichever load generator (built-in, wrk, ab) drives the server.

The instrument must not change what it measures (DESIGN: "The instrument's own
cost"). Measured here, every touch of a request costs more inside Django than
in a micro-benchmark (the view's working set evicts the wrapper's), and
reading a thread's CPU clock is a system call (~0.7 µs), so requests are
sampled: every request is counted (its status too), and one in 16 has its
wall time, CPU time and queue time (nginx's X-Request-Start) measured in the
app call, the body and close(), where Django ends the request. A view slower
than 5 ms has every request measured. The app's time per request is the mean
of the sampled ones (their count is kept, so the estimate's basis is
visible). Other requests are passed through untouched. Nothing is opened or
kept per thread or per request; the run-queue wait is read from outside at
the window's edges (`run_queue_ns`); the database timer is put on each
connection once (probes.worker.querytime) and times every query.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any

from ..model.tracebacks import ExceptionSeen, frames, where
from ..processes.files import write_atomic

_FIELDS = (
    "requests",
    "sampled_requests",
    "sampled_wall_ns",
    "sampled_cpu_ns",
    "queue_ns",
    "queued_requests",
    "db_ns",
    "db_queries",
    "exceptions",
    "server_errors",
    "loop_lag_ns",
    "loop_ticks",
)
(
    _REQUESTS,
    _SAMPLED,
    _WALL,
    _CPU,
    _QUEUE,
    _QUEUED,
    _DB,
    _QUERIES,
    _EXCEPTIONS,
    _ERRORS,
    _LOOP_LAG,
    _LOOP_TICKS,
) = range(len(_FIELDS))
_FILE_SIZE = mmap.PAGESIZE
# Every request is measured after one slower than this; one in _SAMPLE_PERIOD otherwise.
_SAMPLE_EVERY_REQUEST_NS = 5_000_000
_SAMPLE_PERIOD = 16
_MAX_EXCEPTIONS = 5  # distinct exceptions kept per process


@dataclass(frozen=True)
class AppCounters:
    """Cumulative figures of one server process (ns are nanoseconds)."""

    requests: int = 0
    sampled_requests: int = 0  # requests whose wall, CPU and queue time were measured
    sampled_wall_ns: int = 0
    sampled_cpu_ns: int = 0  # thread CPU
    queue_ns: int = 0  # of the sampled requests that carried nginx's X-Request-Start
    queued_requests: int = 0  # how many those were
    db_ns: int = 0  # every query
    db_queries: int = 0
    exceptions: int = 0  # raised by the app or handled by Django as a 500 (got_request_exception)
    server_errors: int = 0  # 5xx answered by the app
    # ASGI: how late the event loop ran a periodic tick, summed, and how many ticks (probes.bench.timing.asgi)
    loop_lag_ns: int = 0
    loop_ticks: int = 0
    app_runq_ns: int = 0  # the serving processes' run-queue wait, read from outside (run_queue_ns)

    @property
    def app_wall_ns(self) -> int:
        """The app's wall time over all requests, estimated from the sampled ones (0: none sampled)."""
        return self._estimated(self.sampled_wall_ns)

    @property
    def app_cpu_ns(self) -> int:
        """The app's thread CPU over all requests, estimated from the sampled ones (0: none sampled)."""
        return self._estimated(self.sampled_cpu_ns)

    def _estimated(self, sampled_ns: int) -> int:
        return round(sampled_ns * self.requests / self.sampled_requests) if self.sampled_requests else 0

    def minus(self, earlier: AppCounters) -> AppCounters:
        """What happened between `earlier` and this snapshot."""
        return AppCounters(**{f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)})

    def plus(self, other: AppCounters) -> AppCounters:
        return AppCounters(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def to_dict(self) -> dict[str, int]:
        """The counters with the estimated app wall and CPU time, as a Sample keeps them."""
        return {**asdict(self), "app_wall_ns": self.app_wall_ns, "app_cpu_ns": self.app_cpu_ns}


def read_counters(stats_dir: Path) -> dict[int, AppCounters]:
    """Every process's counters in stats_dir, by pid."""
    size = 8 * len(_FIELDS)
    found = {}
    for path in stats_dir.glob("*.stats"):
        try:
            raw = path.read_bytes()[:size]
        except FileNotFoundError:
            continue
        if len(raw) == size:
            found[int(path.stem)] = AppCounters(*memoryview(raw).cast("q"))
    return found


def window(start: dict[int, AppCounters], end: dict[int, AppCounters]) -> dict[int, AppCounters]:
    """Per process, what happened between two read_counters() snapshots."""
    return {pid: counters.minus(start.get(pid, AppCounters())) for pid, counters in end.items()}


def total(per_process: dict[int, AppCounters]) -> AppCounters:
    result = AppCounters()
    for counters in per_process.values():
        result = result.plus(counters)
    return result


def run_queue_ns(pids: Iterable[int]) -> dict[int, int]:
    """Per process, its live threads' total time waiting on a run queue (/proc/PID/task/*/schedstat).

    Read from outside at a window's edges: the servers pay nothing for it. A
    thread that exits within the window takes its share with it (flup's
    threaded pool retires threads); processes are read whole.
    """
    found = {}
    for pid in pids:
        waited = 0
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as handle:
                    waited += int(handle.read().split()[1])
            except (OSError, IndexError, ValueError):
                continue
        found[pid] = waited
    return found


def read_exceptions(stats_dir: Path) -> list[ExceptionSeen]:
    """The distinct exceptions the servers' processes recorded, most frequent first."""
    merged: dict[tuple[str, str, str], int] = {}
    for path in stats_dir.glob("*.exceptions"):
        try:
            rows = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for row in rows:
            key = (row["type"], row["message"], row["where"])
            merged[key] = merged.get(key, 0) + row["count"]
    seen = [ExceptionSeen(type_, message, where, count) for (type_, message, where), count in merged.items()]
    return sorted(seen, key=lambda item: -item.count)


class _ProcessCounters:
    """This process's counters, kept in its mmap'ed file (updated in place under a lock)."""

    # Slots: fewer memory lines touched per request (the view's own work evicts them between requests).
    __slots__ = (
        "pid",
        "stats_dir",
        "lock",
        "acquire",
        "release",
        "map",
        "values",
        "exceptions",
        "countdown",
        "shares_cpu",
        "cpu_mark_ns",
        "requests_mark",
        "__weakref__",
    )

    def __init__(self, stats_dir: Path, *, shares_cpu: bool = False) -> None:
        self.pid = os.getpid()
        self.stats_dir = stats_dir
        self.lock = threading.Lock()
        self.acquire, self.release = self.lock.acquire, self.lock.release
        fd = os.open(stats_dir / f"{self.pid}.stats", os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.ftruncate(fd, _FILE_SIZE)
            self.map = mmap.mmap(fd, _FILE_SIZE)
        finally:
            os.close(fd)
        self.values = memoryview(self.map).cast("q")
        self.exceptions: dict[tuple[str, str, str], int] = {}
        self.countdown = _SAMPLE_PERIOD  # not the first request: it pays for the cold start
        # Requests that run at once on one thread (an event loop, greenlets): a thread's CPU clock
        # would charge a request its neighbours' CPU. Each sampled one gets the process's CPU
        # since the last sample per request completed since, instead.
        self.shares_cpu = shares_cpu
        self.cpu_mark_ns, self.requests_mark = time.process_time_ns(), 0

    def count(self, status: int) -> None:
        """One request that was not sampled."""
        v = self.values
        self.acquire()
        v[_REQUESTS] += 1
        if status >= 500:
            v[_ERRORS] += 1
        self.release()

    def add_sampled(self, wall_ns: int, cpu_ns: int, queue_ns: int, status: int) -> None:
        """One sampled request (queue_ns < 0: not stamped); when it was slow, every next one is sampled."""
        self.countdown = 1 if wall_ns >= _SAMPLE_EVERY_REQUEST_NS else _SAMPLE_PERIOD
        v = self.values
        with self.lock:
            if self.shares_cpu:
                now, done = time.process_time_ns(), v[_REQUESTS] + 1
                cpu_ns = (now - self.cpu_mark_ns) // max(1, done - self.requests_mark)
                self.cpu_mark_ns, self.requests_mark = now, done
            v[_REQUESTS] += 1
            v[_SAMPLED] += 1
            v[_WALL] += wall_ns
            v[_CPU] += cpu_ns
            if queue_ns >= 0:
                v[_QUEUE] += queue_ns
                v[_QUEUED] += 1
            if status >= 500:
                v[_ERRORS] += 1

    def add_query(self, ns: int) -> None:
        v = self.values
        with self.lock:
            v[_DB] += ns
            v[_QUERIES] += 1

    def add_loop_lag(self, ns: int) -> None:
        """One tick of the event loop's lag probe: how late it ran (ASGI servers)."""
        v = self.values
        with self.lock:
            v[_LOOP_LAG] += ns
            v[_LOOP_TICKS] += 1

    def add_exception(self, exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        """Count an exception; the first distinct ones are kept (type, message, where) in <pid>.exceptions."""
        key = (exc_type.__qualname__, str(exc)[:300], where(frames(tb), Path.cwd()))
        with self.lock:
            self.values[_EXCEPTIONS] += 1
            count = self.exceptions.get(key, 0)
            if not count and len(self.exceptions) >= _MAX_EXCEPTIONS:
                return
            self.exceptions[key] = count + 1
            rows = [{"type": t, "message": m, "where": w, "count": n} for (t, m, w), n in self.exceptions.items()]
        # Only on errors, and only while the counts are small or a power of two: a failing
        # run is never a result, but writing a file per request would still slow it down.
        if count < 8 or not count & (count + 1):
            # Atomic through a temporary file of its own: two threads may record at once.
            write_atomic(self.stats_dir / f"{self.pid}.exceptions", json.dumps(rows))


_opening = threading.Lock()
_opened: weakref.WeakValueDictionary[Path, _ProcessCounters] = weakref.WeakValueDictionary()


def _forget_opened() -> None:
    global _opening
    _opening = threading.Lock()  # a fork may happen while another thread holds it
    _opened.clear()


os.register_at_fork(after_in_child=_forget_opened)


def process_counters(stats_dir: Path, *, shares_cpu: bool = False) -> _ProcessCounters:
    """This process's counters file in stats_dir, opened once, however many threads ask for it at once.

    (Opened twice, the second open would truncate the file under the first's map: counts lost, or SIGBUS.)
    """
    with _opening:
        counters = _opened.get(stats_dir)
        if counters is None:
            counters = _opened[stats_dir] = _ProcessCounters(stats_dir, shares_cpu=shares_cpu)
        return counters


def _queue_ns(raw: str, now_ns: int) -> int:
    """Wait before the app from nginx's "t=SECONDS.MMM" ($msec); -1 when unreadable."""
    try:
        start_ns = int(raw[2:].replace(".", "")) * 1_000_000 if raw[-4] == "." else int(float(raw[2:]) * 1e9)
    except (ValueError, IndexError):
        return -1
    return max(0, now_ns - start_ns)


def _forget_counters(wrapper: weakref.ref[TimingWrapper]) -> None:
    if (alive := wrapper()) is not None:
        alive._counters = None


class TimingWrapper:
    """WSGI middleware: the app's wall time (and sampled thread CPU) in the app call, the body and close()."""

    __slots__ = ("app", "stats_dir", "lists_closed", "shares_cpu", "_counters", "__weakref__")

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        stats_dir: Path,
        *,
        lists_closed: bool = True,
        shares_cpu: bool = False,
    ) -> None:
        self.app = app
        self.stats_dir = stats_dir
        self.lists_closed = lists_closed  # the server calls close() on a list body (servers.ServerKind)
        self.shares_cpu = shares_cpu  # requests run at once on one thread: see _ProcessCounters.shares_cpu
        self._counters: _ProcessCounters | None = None
        # Created lazily in the process that serves: a preforking server loads
        # the app in its master, whose counters no worker may share. (A weak
        # reference: a wrapper servebench measures in its own process may go.)
        os.register_at_fork(after_in_child=partial(_forget_counters, weakref.ref(self)))

    def counters(self) -> _ProcessCounters:
        counters = self._counters
        if counters is None:
            counters = self._counters = process_counters(self.stats_dir, shares_cpu=self.shares_cpu)
        return counters

    def record_exception(self, *_: Any, **__: Any) -> None:
        """A receiver for Django's got_request_exception: the exception being handled."""
        exc_type, exc, tb = sys.exc_info()
        if exc_type is not None and exc is not None:
            self.counters().add_exception(exc_type, exc, tb)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        counters = self._counters or self.counters()
        left = counters.countdown - 1
        if left > 0:  # not sampled: counted, and passed on untouched
            counters.countdown = left  # (a decrement lost between threads only shifts the sample)
            try:
                result = self.app(environ, start_response)
            except BaseException:
                counters.count(500)
                self._failed(counters)
                raise
            counters.count(getattr(result, "status_code", 0))
            return result
        stamp = environ.get("HTTP_X_REQUEST_START")
        queue_ns = _queue_ns(stamp, time.time_ns()) if stamp else -1
        # The CPU clock outside the wall clock's window: its system call is not the app's time.
        cpu0 = time.thread_time_ns()
        wall0 = time.perf_counter_ns()
        try:
            result = self.app(environ, start_response)
        except BaseException:
            wall = time.perf_counter_ns() - wall0
            counters.add_sampled(wall, time.thread_time_ns() - cpu0, queue_ns, 500)
            self._failed(counters)
            raise
        wall = time.perf_counter_ns() - wall0
        cpu = time.thread_time_ns() - cpu0
        if self.lists_closed and getattr(result, "streaming", None) is False:
            # A Django response, already rendered: the server gets its chunks as a list.
            body = _Rendered(result)
            body.response, body.counters, body.wall, body.cpu, body.queue_ns = result, counters, wall, cpu, queue_ns
            return body
        if isinstance(result, list) or hasattr(result, "filelike"):
            # e.g. the null app, or a file the server may send with sendfile: nothing of the app runs while sent.
            counters.add_sampled(wall, cpu, queue_ns, _status(result))
            return result
        return _TimedBody(result, counters, wall, cpu, queue_ns)

    @staticmethod
    def _failed(counters: _ProcessCounters) -> None:
        """The app raised (the server answers 500): the exception is recorded."""
        exc_type, exc, tb = sys.exc_info()
        if exc_type is not None and exc is not None:
            counters.add_exception(exc_type, exc, tb)


class _Rendered(list):  # type: ignore[type-arg]
    """A sampled request's rendered Django response, as the list of its chunks (no Python call per
    chunk). Its close() is timed too, since Django ends the request there (request_finished closes
    the database connections), and the request is recorded then."""

    __slots__ = ("response", "counters", "wall", "cpu", "queue_ns")
    response: Any
    counters: _ProcessCounters
    wall: int
    cpu: int
    queue_ns: int

    def close(self) -> None:
        response = self.response
        cpu0 = time.thread_time_ns()
        wall0 = time.perf_counter_ns()
        try:
            response.close()
        finally:
            wall = self.wall + time.perf_counter_ns() - wall0
            cpu = self.cpu + time.thread_time_ns() - cpu0
            self.counters.add_sampled(wall, cpu, self.queue_ns, response.status_code)


def _status(result: object) -> int:
    """A Django response's status; 0 (unknown) for another WSGI app's body."""
    return getattr(result, "status_code", 0)


class _TimedBody:
    """A sampled request's streamed (or non-Django) body: its iteration and close() are the app's time too."""

    def __init__(self, body: Iterable[bytes], counters: _ProcessCounters, wall: int, cpu: int, queue_ns: int) -> None:
        self.body = body
        self.iterator: Iterator[bytes] | None = None
        self.counters = counters
        self.wall_ns, self.cpu_ns = wall, cpu
        self.queue_ns = queue_ns
        self.recorded = False

    def __iter__(self) -> _TimedBody:
        self.iterator = iter(self.body)
        return self

    def __next__(self) -> bytes:
        assert self.iterator is not None
        cpu0 = time.thread_time_ns()
        wall0 = time.perf_counter_ns()
        try:
            return next(self.iterator)
        finally:
            self.wall_ns += time.perf_counter_ns() - wall0
            self.cpu_ns += time.thread_time_ns() - cpu0

    def close(self) -> None:
        cpu0 = time.thread_time_ns()
        wall0 = time.perf_counter_ns()
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            if not self.recorded:
                self.recorded = True
                wall = self.wall_ns + time.perf_counter_ns() - wall0
                cpu = self.cpu_ns + time.thread_time_ns() - cpu0
                self.counters.add_sampled(wall, cpu, self.queue_ns, _status(self.body))


@dataclass
class DbTally:
    """Query time and count of one request (the toolbar panel's timer)."""

    ns: int = 0
    queries: int = 0
