"""The timing wrapper: the application's own time, measured inside the server during the load.

Each server process keeps cumulative counters in a small file of its own
(mmap'ed, in the run directory); servebench reads them all before and after
the measured window and keeps the difference. Nothing has to be flushed at
exit, so the figures survive a worker killed by SIGKILL, and they are the same
whichever load generator (built-in, wrk, ab) drives the server.

The instrument must not change what it measures (DESIGN: "The instrument's own
cost"), so the hot path is a few clock reads and one locked update of the
mapped counters, and nothing is opened or kept per thread or per request:
- a plain Django response (already rendered) is returned as it is; only its
  close() is timed, where Django ends the request (request_finished);
- thread CPU time costs a system call (~0.7 µs here, where a wall clock read
  costs 0.08 µs): it is read on every request of a view slower than 5 ms and
  on one request in 16 otherwise, and the app's CPU per request is the mean
  of those samples (their count is kept, so the estimate's basis is
  visible); the queue time (nginx's stamp) is read on the same requests;
- the run-queue wait is read from outside, at the window's edges
  (`run_queue_ns`), not per request;
- the database timer is installed once per connection (probes.querytime).
"""

from __future__ import annotations

import json
import mmap
import os
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

STATS_DIR_ENV = "SERVEBENCH_STATS_DIR"
_FIELDS = (
    "requests",
    "app_wall_ns",
    "app_cpu_sampled_ns",
    "app_cpu_samples",
    "queue_ns",
    "queued_requests",
    "db_ns",
    "db_queries",
    "exceptions",
    "server_errors",
)
(
    _REQUESTS,
    _WALL,
    _CPU,
    _SAMPLES,
    _QUEUE,
    _QUEUED,
    _DB,
    _QUERIES,
    _EXCEPTIONS,
    _ERRORS,
) = range(len(_FIELDS))
_FILE_SIZE = mmap.PAGESIZE
# CPU time is read on every request slower than this, on one in _CPU_PERIOD otherwise.
_CPU_EVERY_REQUEST_NS = 5_000_000
_CPU_PERIOD = 16
_MAX_EXCEPTIONS = 5  # distinct exceptions kept per process


@dataclass(frozen=True)
class AppCounters:
    """Cumulative figures of one server process (ns are nanoseconds)."""

    requests: int = 0
    app_wall_ns: int = 0
    app_cpu_sampled_ns: int = 0  # thread CPU of the requests whose CPU was read
    app_cpu_samples: int = 0  # how many requests' CPU was read
    queue_ns: int = 0  # of the sampled requests that carried nginx's X-Request-Start
    queued_requests: int = 0  # how many those were
    db_ns: int = 0
    db_queries: int = 0
    exceptions: int = 0  # raised by the app or handled by Django as a 500 (got_request_exception)
    server_errors: int = 0  # 5xx answered by the app
    app_runq_ns: int = 0  # the serving processes' run-queue wait, read from outside (run_queue_ns)

    @property
    def app_cpu_ns(self) -> int:
        """The app's thread CPU over all requests, estimated from the sampled ones."""
        if not self.app_cpu_samples:
            return 0
        return round(self.app_cpu_sampled_ns * self.requests / self.app_cpu_samples)

    def minus(self, earlier: AppCounters) -> AppCounters:
        """What happened between `earlier` and this snapshot."""
        return AppCounters(**{f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)})

    def plus(self, other: AppCounters) -> AppCounters:
        return AppCounters(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def to_dict(self) -> dict[str, int]:
        """The counters with the estimated app CPU, as a Sample keeps them."""
        return {**asdict(self), "app_cpu_ns": self.app_cpu_ns}


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


@dataclass(frozen=True)
class ExceptionSeen:
    """One distinct exception raised inside a server's app."""

    type: str
    message: str
    where: str  # "file.py:LINE in function", the innermost frame outside the stdlib and installed packages
    count: int


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


_LIBRARY_DIRS = tuple(
    {os.path.realpath(p) for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_path(key))}
)


def _user_frame(tb: Any) -> str:
    """The innermost frame of the traceback outside the stdlib and installed packages (else the innermost)."""
    innermost = chosen = None
    while tb is not None:
        code = tb.tb_frame.f_code
        innermost = (code.co_filename, tb.tb_lineno, code.co_name)
        if not os.path.realpath(code.co_filename).startswith(_LIBRARY_DIRS):
            chosen = innermost
        tb = tb.tb_next
    frame = chosen or innermost
    if frame is None:
        return "?"
    filename, line, function = frame
    # Relative to the project's directory (the server's cwd) or to the library it lies in, the nearer.
    real = os.path.realpath(filename)
    for base in sorted((os.path.realpath(os.getcwd()), *_LIBRARY_DIRS), key=len, reverse=True):
        if real.startswith(base + os.sep):
            filename = os.path.relpath(real, base)
            break
    return f"{filename}:{line} in {function}"


class _ProcessCounters:
    """This process's counters, kept in its mmap'ed file (updated in place under a lock)."""

    def __init__(self, stats_dir: Path) -> None:
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
        self.cpu_countdown = _CPU_PERIOD  # not the first request: it pays for the cold start

    def add(self, wall_ns: int, status: int) -> None:
        """One finished request whose CPU was not read (after a slow one, the next one's is)."""
        if wall_ns >= _CPU_EVERY_REQUEST_NS:
            self.cpu_countdown = 1
        v = self.values
        self.acquire()
        v[_REQUESTS] += 1
        v[_WALL] += wall_ns
        if status >= 500:
            v[_ERRORS] += 1
        self.release()

    def add_sampled(self, wall_ns: int, cpu_ns: int, queue_ns: int, status: int) -> None:
        """One finished request whose CPU (and queue time, when stamped: queue_ns >= 0) was read."""
        self.cpu_countdown = 1 if wall_ns >= _CPU_EVERY_REQUEST_NS else _CPU_PERIOD
        v = self.values
        with self.lock:
            v[_REQUESTS] += 1
            v[_WALL] += wall_ns
            v[_CPU] += cpu_ns
            v[_SAMPLES] += 1
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

    def add_exception(self, exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        """Count an exception; the first distinct ones are kept (type, message, where) in <pid>.exceptions."""
        key = (exc_type.__qualname__, str(exc)[:300], _user_frame(tb))
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
            path = self.stats_dir / f"{self.pid}.exceptions"
            tmp = path.with_suffix(".exceptions-tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(rows, handle)
            os.replace(tmp, path)


def _queue_ns(raw: str, now_ns: int) -> int:
    """Wait before the app from nginx's "t=SECONDS.MMM" ($msec); -1 when unreadable."""
    try:
        start_ns = int(raw[2:].replace(".", "")) * 1_000_000 if raw[-4] == "." else int(float(raw[2:]) * 1e9)
    except (ValueError, IndexError):
        return -1
    return max(0, now_ns - start_ns)


class TimingWrapper:
    """WSGI middleware: the app's wall time (and sampled thread CPU) in the app call, the body and close()."""

    def __init__(self, app: Callable[..., Iterable[bytes]], stats_dir: Path) -> None:
        self.app = app
        self.stats_dir = stats_dir
        self._counters: _ProcessCounters | None = None
        # Created lazily in the process that serves: a preforking server loads
        # the app in its master, whose counters no worker may share.
        os.register_at_fork(after_in_child=self._forget_counters)

    def _forget_counters(self) -> None:
        self._counters = None

    def counters(self) -> _ProcessCounters:
        counters = self._counters
        if counters is None:
            counters = self._counters = _ProcessCounters(self.stats_dir)
        return counters

    def record_exception(self, *_: Any, **__: Any) -> None:
        """A receiver for Django's got_request_exception: the exception being handled."""
        exc_type, exc, tb = sys.exc_info()
        if exc_type is not None and exc is not None:
            self.counters().add_exception(exc_type, exc, tb)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        counters = self._counters or self.counters()
        # Whether this request's CPU is read (a decrement lost between threads only shifts the sample).
        left = counters.cpu_countdown - 1
        if left > 0:
            counters.cpu_countdown = left
            wall0 = time.perf_counter_ns()
            try:
                result = self.app(environ, start_response)
            except BaseException:
                self._failed(counters, wall0, -1, -1)
                raise
            wall = time.perf_counter_ns() - wall0
            if getattr(result, "streaming", None) is False:
                body = _Rendered(result)
                body.response, body.counters, body.wall = result, counters, wall
                return body
            return self._other(result, counters, wall, -1, -1)
        stamp = environ.get("HTTP_X_REQUEST_START")
        queue_ns = _queue_ns(stamp, time.time_ns()) if stamp else -1
        wall0 = time.perf_counter_ns()
        cpu0 = time.thread_time_ns()
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._failed(counters, wall0, cpu0, queue_ns)
            raise
        cpu = time.thread_time_ns() - cpu0
        wall = time.perf_counter_ns() - wall0
        if getattr(result, "streaming", None) is False:
            sampled = _RenderedSampled(result)
            sampled.response, sampled.counters, sampled.wall, sampled.cpu, sampled.queue_ns = (
                result,
                counters,
                wall,
                cpu,
                queue_ns,
            )
            return sampled
        return self._other(result, counters, wall, cpu, queue_ns)

    @staticmethod
    def _failed(counters: _ProcessCounters, wall0: int, cpu0: int, queue_ns: int) -> None:
        """The app raised (the server answers 500)."""
        wall = time.perf_counter_ns() - wall0
        if cpu0 >= 0:
            counters.add_sampled(wall, time.thread_time_ns() - cpu0, queue_ns, 500)
        else:
            counters.add(wall, 500)
        exc_type, exc, tb = sys.exc_info()
        if exc_type is not None and exc is not None:
            counters.add_exception(exc_type, exc, tb)

    @staticmethod
    def _other(result: Iterable[bytes], counters: _ProcessCounters, wall: int, cpu: int, queue_ns: int) -> Any:
        """A body that is not a rendered Django response: a list or a file (wsgi.file_wrapper, which the
        server may send with sendfile) is passed on as it is, any other iterable is timed too."""
        if isinstance(result, list) or hasattr(result, "filelike"):
            if cpu >= 0:
                counters.add_sampled(wall, cpu, queue_ns, 0)
            else:
                counters.add(wall, 0)
            return result
        return _TimedBody(result, counters, wall, cpu, queue_ns)


class _Rendered(list):  # type: ignore[type-arg]
    """A Django response whose body is already rendered, as the list of its chunks: the server
    sends it without a Python call per chunk. Its close() is timed, since Django ends the request
    there (request_finished closes the database connections), and the request is recorded then."""

    __slots__ = ("response", "counters", "wall")

    def close(self) -> None:
        response = self.response
        wall0 = time.perf_counter_ns()
        try:
            response.close()
        finally:
            self.counters.add(self.wall + time.perf_counter_ns() - wall0, response.status_code)


class _RenderedSampled(_Rendered):
    """_Rendered, for a request whose CPU (and queue time) is read."""

    __slots__ = ("cpu", "queue_ns")

    def close(self) -> None:
        response = self.response
        wall0 = time.perf_counter_ns()
        cpu0 = time.thread_time_ns()
        try:
            response.close()
        finally:
            cpu = self.cpu + time.thread_time_ns() - cpu0
            wall = self.wall + time.perf_counter_ns() - wall0
            self.counters.add_sampled(wall, cpu, self.queue_ns, response.status_code)


def _status(result: object) -> int:
    """A Django response's status; 0 (unknown) for another WSGI app's body."""
    return getattr(result, "status_code", 0)


class _TimedBody:
    """A streamed (or non-Django) response: its iteration and close() are the app's time too."""

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
        wall0 = time.perf_counter_ns()
        cpu0 = time.thread_time_ns() if self.cpu_ns >= 0 else 0
        try:
            return next(self.iterator)
        finally:
            self.wall_ns += time.perf_counter_ns() - wall0
            if self.cpu_ns >= 0:
                self.cpu_ns += time.thread_time_ns() - cpu0

    def close(self) -> None:
        wall0 = time.perf_counter_ns()
        cpu0 = time.thread_time_ns() if self.cpu_ns >= 0 else 0
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            if not self.recorded:
                self.recorded = True
                wall = self.wall_ns + time.perf_counter_ns() - wall0
                if self.cpu_ns >= 0:
                    cpu = self.cpu_ns + time.thread_time_ns() - cpu0
                    self.counters.add_sampled(wall, cpu, self.queue_ns, _status(self.body))
                else:
                    self.counters.add(wall, _status(self.body))


@dataclass
class DbTally:
    """Query time and count of one request (the toolbar panel's timer)."""

    ns: int = 0
    queries: int = 0
