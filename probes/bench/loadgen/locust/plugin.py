"""servebench's locust plugin: loaded into the master and every worker (`locust -f plugin.py,users.py`).

Imported only by locust's own processes (importing locust monkey-patches the process with gevent), never
by servebench. It needs locust, gevent and hdrh, nothing of servebench, so a client host runs it as is.

- Each worker records every request from locust's `request` event into an HDR histogram of µs per second
  of its clock (the second the request completed in), by request name, with its status (0: no answer)
  and its error kind; and its own CPU at each whole second. Locust's own statistics round response times
  to whole ms below 100 ms and to 10 ms below 1 s: these do not.
- Each report to the master (every second, not locust's 3) carries the seconds that have ended.
- The master merges them (worker_report) and prints one line per second once every worker has sent it,
  with each worker's CPU in it, and each worker's clock offset at its first report: the driver
  (driver.py, in servebench) reads those lines from the master's stdout.
- OpenLoopUser sends on a schedule, whatever the server does, and measures each request from its
  intended start: a stall shows in the latency of every request it delayed (no coordinated omission).
- The master lives for servebench's whole run: servebench starts and stops each window's users through a
  pipe (SERVEBENCH_LOCUST_CONTROL_FD, one JSON line per command), so workers stay connected between
  windows (a master that quits tells its workers to quit: workers a user started would not come back).
  The window's own figures (the rate per worker, the pool) reach the workers in the spawn message, as a
  custom option (--servebench-window). When the pipe closes (servebench done or gone) the master quits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from typing import Any

import gevent
import gevent.pool
from hdrh.histogram import HdrHistogram
from locust import HttpUser, events, runners
from locust.contrib.fasthttp import FastHttpUser

REPORT_S = float(os.environ.get("SERVEBENCH_LOCUST_REPORT_S", "1.0"))
runners.WORKER_REPORT_INTERVAL = REPORT_S  # read by the worker's report loop at each turn
SECOND_LINE = "servebench-second "
OFFSET_LINE = "servebench-offset "
SPAWNED_LINE = "servebench-spawned "
WORKERS_LINE = "servebench-workers "
STOPPED_LINE = "servebench-stopped "
CONTROL_FD = "SERVEBENCH_LOCUST_CONTROL_FD"  # the environment variable naming the master's control pipe
HEADERS_FILE = "SERVEBENCH_LOCUST_HEADERS"  # the environment variable naming the headers file
INTENDED = "servebench_intended"  # a request's context key: the time it was meant to start (open loop)


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, 3_600_000_000, 3)


def _error_kind(exception: BaseException | None, status: int) -> str | None:
    if exception is None:
        return None
    text = f"{type(exception).__name__} {exception}".lower()
    if status:
        return None  # an answer with a status: counted by its status
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "refused" in text or "connect" in text:
        return "connect"
    if "reset" in text or "broken pipe" in text or "closed" in text:
        return "reset"
    return "malformed"


class _Recorder:
    """A worker's seconds: histogram and counts per (second, name), errors and CPU per second."""

    def __init__(self) -> None:
        self.histograms: dict[int, dict[str, HdrHistogram]] = defaultdict(dict)
        self.counts: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        self.errors: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.cpu_at: dict[int, tuple[float, float]] = {}  # second -> (user, system) when it began
        self.shipped = -1

    def record(self, name: str, latency_us: int, status: int, kind: str | None) -> None:
        second = int(time.time())
        histogram = self.histograms[second].get(name)
        if histogram is None:
            histogram = self.histograms[second][name] = _histogram()
        histogram.record_value(min(max(1, latency_us), 3_600_000_000))
        self.counts[second][name][str(status)] += 1
        if kind is not None:
            self.errors[second][kind] += 1

    def tick(self) -> None:
        """At each whole second: the CPU this process has used so far."""
        while True:
            now = time.time()
            times = os.times()
            self.cpu_at[int(now)] = (times.user, times.system)
            gevent.sleep(max(0.001, int(now) + 1 - time.time()))

    def ended(self) -> dict[str, Any]:
        """The seconds whose CPU is known at both edges, not yet shipped; each at most once."""
        ready = sorted(s for s in self.cpu_at if s + 1 in self.cpu_at and s > self.shipped)
        seconds = {}
        for second in ready:
            (user0, system0), (user1, system1) = self.cpu_at[second], self.cpu_at[second + 1]
            seconds[str(second)] = {
                "histograms": {n: h.encode().decode("ascii") for n, h in self.histograms.pop(second, {}).items()},
                "counts": {n: dict(c) for n, c in self.counts.pop(second, {}).items()},
                "errors": dict(self.errors.pop(second, {})),
                "cpu_user_s": round(user1 - user0, 6),
                "cpu_system_s": round(system1 - system0, 6),
            }
            self.shipped = second
        return seconds


class _Merger:
    """The master's seconds, merged from every worker; a second is printed once every worker has sent it."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.seconds: dict[int, dict[str, Any]] = {}
        self.through: dict[str, int] = {}
        self.printed = -1

    def add(self, client_id: str, data: dict[str, Any]) -> None:
        if client_id not in self.through:
            offset_ms = 1000 * (time.time() - data["sent_at"])
            _say(OFFSET_LINE + json.dumps({"worker": client_id, "offset_ms": round(offset_ms, 3)}))
        for key, figures in data["seconds"].items():
            second = int(key)
            merged = self.seconds.setdefault(second, {"histograms": {}, "counts": {}, "errors": {}, "cpu": {}})
            for name, encoded in figures["histograms"].items():
                incoming = HdrHistogram.decode(encoded.encode("ascii"))
                if name in merged["histograms"]:
                    merged["histograms"][name].add(incoming)
                else:
                    merged["histograms"][name] = incoming
            for name, statuses in figures["counts"].items():
                into = merged["counts"].setdefault(name, {})
                for status, count in statuses.items():
                    into[status] = into.get(status, 0) + count
            for kind, count in figures["errors"].items():
                merged["errors"][kind] = merged["errors"].get(kind, 0) + count
            merged["cpu"][client_id] = [figures["cpu_user_s"], figures["cpu_system_s"]]
        self.through[client_id] = max([self.through.get(client_id, -1), *(int(k) for k in data["seconds"])])
        self.flush()

    def flush(self, *, everything: bool = False) -> None:
        workers = set(self.through) | set(getattr(self.environment.runner, "clients", {}) or {})
        complete = min(self.through.get(w, -1) for w in workers) if workers else -1
        for second in sorted(self.seconds):
            if second > complete and not everything:
                break
            merged = self.seconds.pop(second)
            merged["histograms"] = {n: h.encode().decode("ascii") for n, h in merged["histograms"].items()}
            _say(SECOND_LINE + json.dumps({"second": second, **merged}))
            self.printed = second


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _give_headers(user_classes: list[type]) -> None:
    """The user's own classes send servebench's headers (the Host nginx expects, --login-as's session cookie
    and CSRF token, --header): read from the 0600 file the driver names, never from an argv."""
    path = os.environ.get(HEADERS_FILE)
    if not path:
        return
    with open(path, encoding="utf-8") as file:
        headers = dict(json.load(file))
    for cls in user_classes:
        if issubclass(cls, FastHttpUser):
            cls.default_headers = {**(cls.default_headers or {}), **headers}
        elif issubclass(cls, HttpUser):
            original = cls.__init__

            def __init__(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
                _original(self, *args, **kwargs)
                self.client.headers.update(headers)

            cls.__init__ = __init__  # type: ignore[method-assign]


def _window(environment: Any) -> dict[str, Any]:
    """This window's figures from servebench (the spawn message's --servebench-window), {} before any."""
    text = getattr(getattr(environment, "parsed_options", None), "servebench_window", None)
    return dict(json.loads(text)) if text else {}


def _control(environment: Any, fd: int) -> None:
    """servebench's commands, one JSON line each: start a window's users (on a host), stop them; EOF: quit."""
    from gevent.fileobject import FileObjectPosix

    runner = environment.runner

    def stop() -> None:
        runner.stop()
        _say(STOPPED_LINE + json.dumps({"at": time.time()}))

    for raw in FileObjectPosix(fd, "rb"):
        command = json.loads(raw)
        if command["do"] == "start":
            environment.host = command["host"]
            environment.parsed_options.servebench_window = json.dumps(command["window"])
            gevent.spawn(runner.start, command["users"], command["spawn_rate"])
        elif command["do"] == "stop":
            gevent.spawn(stop)
    runner.quit()


def _count_workers(runner: Any) -> None:
    """A line each time the number of ready workers changes (servebench waits for the workers it expects)."""
    said = -1
    while True:
        ready = len(runner.clients.ready) + len(runner.clients.running) + len(runner.clients.spawning)
        if ready != said:
            _say(WORKERS_LINE + json.dumps({"ready": ready}))
            said = ready
        gevent.sleep(0.1)


def _arguments(parser: Any, **_: Any) -> None:
    parser.add_argument("--servebench-window", default="", include_in_web_ui=False, help="set by servebench")


def _on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, runners.WorkerRunner):
        _give_headers(list(environment.user_classes))
        recorder = _Recorder()
        gevent.spawn(recorder.tick)

        def _on_request(name: str, response_time: float, response: Any, context: Any, exception: Any, **_: Any) -> None:
            intended = (context or {}).get(INTENDED)
            latency_us = (time.time() - intended) * 1e6 if intended else response_time * 1000
            status = int(getattr(response, "status_code", 0) or 0)
            recorder.record(name, round(latency_us), status, _error_kind(exception, status))

        def _on_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
            data["servebench"] = {"sent_at": time.time(), "seconds": recorder.ended()}

        environment.events.request.add_listener(_on_request)
        environment.events.report_to_master.add_listener(_on_report)

    elif isinstance(runner, runners.MasterRunner):
        # A headless master's main greenlet polls each second until `--expect-workers` are *ready*, then starts
        # `-u` users itself. servebench starts every window's users through _control, and a worker running a
        # window is not ready: that poll could outlast the run (the master then never quit at the pipe's end,
        # 10 s at every run's end) or end between two windows and start 0 users over the next. Nothing to wait
        # for: the driver waits for the workers itself (WORKERS_LINE).
        if (options := getattr(environment, "parsed_options", None)) is not None:
            options.expect_workers = 0
        merger = _Merger(environment)

        def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
            if "servebench" in data:
                merger.add(client_id, data["servebench"])

        def _on_spawned(user_count: int, **_: Any) -> None:
            _say(SPAWNED_LINE + json.dumps({"users": user_count, "at": time.time()}))

        def _on_quitting(**_: Any) -> None:
            merger.flush(everything=True)

        environment.events.worker_report.add_listener(_on_worker_report)
        environment.events.spawning_complete.add_listener(_on_spawned)
        environment.events.quitting.add_listener(_on_quitting)
        gevent.spawn(_count_workers, runner)
        if (fd := os.environ.get(CONTROL_FD)) is not None:
            gevent.spawn(_control, environment, int(fd))


events.init_command_line_parser.add_listener(_arguments)  # type: ignore[no-untyped-call]
events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]


class OpenLoopUser(FastHttpUser):
    """Sends `rate` requests a second on a schedule, each in its own greenlet (the pool's connections
    shared), and times each from its intended start: a server that stalls delays the answers, never the
    schedule. servebench's generated users file sets rate, requests and the pool's size."""

    abstract = True
    rate: float = 1.0
    requests: tuple[tuple[str, str, bytes, dict[str, str], str], ...] = ()  # method, path, body, headers, name

    def wait_time(self) -> float:
        return 0.0

    @staticmethod
    def _one(client: Any, method: str, path: str, body: bytes, headers: dict[str, str], name: str, at: float) -> None:
        client.request(
            method, path, data=body or None, headers=headers, name=name, allow_redirects=False, context={INTENDED: at}
        )

    def __init__(self, environment: Any) -> None:
        # The pool's size before the client is made: this window's, else the class's.
        self.concurrency = int(_window(environment).get("concurrency", self.concurrency))
        super().__init__(environment)

    def on_start(self) -> None:
        rate = float(_window(self.environment).get("rate_per_worker", self.rate))
        start, sent, group = time.time(), 0, gevent.pool.Group()
        while True:
            at = start + sent / rate
            delay = at - time.time()
            if delay > 0:
                gevent.sleep(delay)
            method, path, body, headers, name = self.requests[sent % len(self.requests)]
            group.spawn(self._one, self.client, method, path, body, headers, name, at)
            sent += 1
