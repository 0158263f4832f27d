"""The writer: this server process's counters file, and the sampling both timing wrappers follow.

Each server process keeps cumulative counters in a small file of its own
(mmap'ed, in the run directory, laid out as layout.Slot says); servebench reads
them all before and after the measured window (reader) and keeps the
difference. Nothing has to be flushed at exit, so the figures survive a worker
killed by SIGKILL.

Sampling: every request is counted (its status too), and one in
SAMPLE_PERIOD has its wall, CPU and queue time measured; after a request slower
than SAMPLE_EVERY_REQUEST_NS every request is measured. The wrappers (wsgi,
asgi) read and set `ProcessCounters.countdown` on their hot path.

Forks are handled here, once: a preforking server loads the app (and its
wrapper) in its master, whose counters no worker may share, so a forked child
forgets every file this process opened and every wrapper's handle on one
(`Instrument`); each reopens its own on first use.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from ..model.tracebacks import frames, where
from ..processes.files import write_atomic
from .layout import EXCEPTIONS_SUFFIX, FILE_SIZE, ITEM_FORMAT, STATS_SUFFIX, Slot

# Every request is measured after one slower than this; one in SAMPLE_PERIOD otherwise.
SAMPLE_EVERY_REQUEST_NS = 5_000_000
SAMPLE_PERIOD = 16
MAX_EXCEPTIONS = 5  # distinct exceptions kept per process

# Plain ints, read as module globals by the methods below: indexing with an enum member
# would add an attribute load per counter touched.
_REQUESTS = Slot.REQUESTS.value
_SAMPLED = Slot.SAMPLED_REQUESTS.value
_WALL = Slot.SAMPLED_WALL_NS.value
_CPU = Slot.SAMPLED_CPU_NS.value
_QUEUE = Slot.QUEUE_NS.value
_QUEUED = Slot.QUEUED_REQUESTS.value
_DB = Slot.DB_NS.value
_QUERIES = Slot.DB_QUERIES.value
_EXCEPTIONS = Slot.EXCEPTIONS.value
_ERRORS = Slot.SERVER_ERRORS.value
_LOOP_LAG = Slot.LOOP_LAG_NS.value
_LOOP_TICKS = Slot.LOOP_TICKS.value


class ProcessCounters:
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
        path = stats_dir / f"{self.pid}{STATS_SUFFIX}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.ftruncate(fd, FILE_SIZE)
            self.map = mmap.mmap(fd, FILE_SIZE)
        finally:
            os.close(fd)
        self.values = memoryview(self.map).cast(ITEM_FORMAT)
        self.exceptions: dict[tuple[str, str, str], int] = {}
        self.countdown = SAMPLE_PERIOD  # not the first request: it pays for the cold start
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
        self.countdown = 1 if wall_ns >= SAMPLE_EVERY_REQUEST_NS else SAMPLE_PERIOD
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
        """One database query and its time."""
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

    def add_current_exception(self) -> None:
        """The exception being handled (the app raised, or Django answered it with a 500), if any."""
        exc_type, exc, tb = sys.exc_info()
        if exc_type is not None and exc is not None:
            self.add_exception(exc_type, exc, tb)

    def add_exception(self, exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        """Count an exception; the first distinct ones are kept (type, message, where) in <pid>.exceptions."""
        key = (exc_type.__qualname__, str(exc)[:300], where(frames(tb), Path.cwd()))
        with self.lock:
            self.values[_EXCEPTIONS] += 1
            count = self.exceptions.get(key, 0)
            if not count and len(self.exceptions) >= MAX_EXCEPTIONS:
                return
            self.exceptions[key] = count + 1
            rows = [{"type": t, "message": m, "where": w, "count": n} for (t, m, w), n in self.exceptions.items()]
        # Only on errors, and only while the counts are small or a power of two: a failing
        # run is never a result, but writing a file per request would still slow it down.
        if count < 8 or not count & (count + 1):
            # Atomic through a temporary file of its own: two threads may record at once.
            write_atomic(self.stats_dir / f"{self.pid}{EXCEPTIONS_SUFFIX}", json.dumps(rows))


_opening = threading.Lock()
_opened: weakref.WeakValueDictionary[Path, ProcessCounters] = weakref.WeakValueDictionary()
_instruments: weakref.WeakSet[Instrument] = weakref.WeakSet()


def process_counters(stats_dir: Path, *, shares_cpu: bool = False) -> ProcessCounters:
    """This process's counters file in stats_dir, opened once, however many threads ask for it at once.

    (Opened twice, the second open would truncate the file under the first's map: counts lost, or SIGBUS.)
    """
    with _opening:
        counters = _opened.get(stats_dir)
        if counters is None:
            counters = _opened[stats_dir] = ProcessCounters(stats_dir, shares_cpu=shares_cpu)
        return counters


def _after_fork_in_child() -> None:
    """The one fork handler: the child opens counters of its own, under a lock of its own."""
    global _opening
    _opening = threading.Lock()  # a fork may happen while another thread holds it
    _opened.clear()
    for instrument in list(_instruments):
        instrument.forget_counters()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Instrument:
    """A timing wrapper's handle on this process's counters: opened on first use, forgotten in a forked child.

    The wrappers subclass it, so that their hot path reads `self._counters` directly.
    """

    __slots__ = ("stats_dir", "shares_cpu", "_counters", "__weakref__")

    def __init__(self, stats_dir: Path, *, shares_cpu: bool) -> None:
        self.stats_dir = stats_dir
        self.shares_cpu = shares_cpu  # see ProcessCounters.shares_cpu
        # Created lazily in the process that serves: a preforking server loads the app in its
        # master. (A weak set: a wrapper servebench measures in its own process may go.)
        self._counters: ProcessCounters | None = None
        _instruments.add(self)

    def counters(self) -> ProcessCounters:
        """This process's counters, opened on the first call."""
        counters = self._counters
        if counters is None:
            counters = self._counters = process_counters(self.stats_dir, shares_cpu=self.shares_cpu)
        return counters

    def forget_counters(self) -> None:
        """In a forked child: the parent's counters are not this process's."""
        self._counters = None

    def record_exception(self, *_: Any, **__: Any) -> None:
        """A receiver for Django's got_request_exception: the exception being handled."""
        self.counters().add_current_exception()


def queue_wait_ns(stamp: str, now_ns: int) -> int:
    """Wait before the app from nginx's X-Request-Start "t=SECONDS.MMM" ($msec); -1 when unreadable."""
    try:
        start_ns = int(stamp[2:].replace(".", "")) * 1_000_000 if stamp[-4] == "." else int(float(stamp[2:]) * 1e9)
    except (ValueError, IndexError):
        return -1
    return max(0, now_ns - start_ns)
