"""One configuration brought up for real: the server, its front, readiness, teardown.

`start_stack` returns only once a real request through the whole path answered
(never a fixed sleep); `Stack.stop` leaves no process of either session.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..contract import KIND_ENV, READY_BODY, READY_PATH, STATS_DIR_ENV, TARGET_APP_ENV
from ..loadgen.requests import Request
from ..processes.child import Child
from ..processes.ports import ensure_free, free_port
from ..processes.supervisor import Supervisor
from .argv import listen_backlog
from .kinds import Endpoint, ServerConfig, get_kind
from .nginx import Exposure, start_nginx


class NotApplicable(ValueError):
    """A configuration that cannot exist (e.g. FastCGI without nginx)."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    headers: dict[str, str]


def http_get(
    port: int,
    path: str,
    *,
    host_header: str,
    headers: Sequence[tuple[str, str]] = (),
    timeout_s: float = 5.0,
    request: Request | None = None,
) -> HttpAnswer:
    """One GET to 127.0.0.1:port (or what `request` says: its method and body), new connection, body read whole."""
    request = request or Request(path)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        sent = {"Host": host_header, **dict(headers), **dict(request.body_headers())}
        conn.request(request.method, path, body=request.body or None, headers=sent)
        response = conn.getresponse()
        return HttpAnswer(response.status, response.read(), {k.lower(): v for k, v in response.getheaders()})
    finally:
        conn.close()


@dataclass
class Stack:
    config: ServerConfig
    server: Child
    front: Child | None
    port: int  # where clients connect: nginx's port, or the server's own
    upstream: Endpoint
    stats_dir: Path | None = None  # the timing wrapper's counters, when it is on
    ready_s: float = 0.0
    # Roles beside the server whose processes could not be found (the project's own database on a socket
    # servebench cannot see): role -> how the project reaches it. Their CPU is in the unattributed.
    unattributed: dict[str, str] = field(default_factory=dict)

    def process_counts(self) -> dict[str, int]:
        """Live processes per role, as really found (by session id, zombies excluded)."""
        counts = {"server": _live(self.server)}
        if self.front is not None:
            counts["nginx"] = _live(self.front)
        return counts

    def expected_server_processes(self) -> int:
        return get_kind(self.config.kind).expected_processes(self.config)

    def log_warnings(self) -> list[str]:
        """Lines of the server's log that say workers died or queues overflowed."""
        try:
            text = self.server.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        patterns = get_kind(self.config.kind).log_warnings
        return [line.strip() for line in text.splitlines() if any(p.match(line) for p in patterns)]

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Front first (no new requests), then the server."""
        for child in (self.front, self.server):
            if child is not None:
                child.stop(timeout_s=timeout_s)


def _live(child: Child) -> int:
    return sum(1 for info in child.session() if info.state != "Z")


def validate(config: ServerConfig) -> None:
    """Refuse a configuration that cannot exist, with the reason."""
    kind = get_kind(config.kind)
    if config.workers < 1:
        raise NotApplicable(f"workers must be at least 1, not {config.workers}")
    if config.threads < 1:
        raise NotApplicable(f"threads must be at least 1, not {config.threads}")
    if kind.protocol(config.front) is None:
        raise NotApplicable(f"{kind.name} speaks {kind.upstream_protocol} only: it needs --front nginx")
    if config.front == "direct" and config.socket == "unix":
        raise NotApplicable("direct means HTTP over TCP: a unix socket needs --front nginx")
    reason = kind.missing()
    if reason:
        raise NotApplicable(reason)


def start_stack(
    config: ServerConfig,
    *,
    supervisor: Supervisor,
    run_dir: Path,
    cwd: Path,
    env: Mapping[str, str],
    host_header: str,
    port: int | None = None,
    backlog: int | None = None,
    stats_dir: Path | None = None,
    timeout_s: float = 30.0,
    expose: Exposure | None = None,
) -> Stack:
    """Start the server (and nginx) in `cwd` (the project's directory), return once the readiness URL
    answers 200 through the front. stats_dir=None: the project's plain app, no timing wrapper."""
    validate(config)
    if expose is not None and config.front != "nginx":
        raise NotApplicable("load from client hosts needs --front nginx: only nginx faces them")
    # The servers run in cwd: every path of servebench's they are given must be absolute.
    run_dir = run_dir.absolute()
    stats_dir = stats_dir.absolute() if stats_dir is not None else None
    kind = get_kind(config.kind)
    protocol = kind.protocol(config.front)
    assert protocol is not None
    backlog = listen_backlog(backlog) if backlog else listen_backlog()
    public_port = port if port is not None else free_port()
    ensure_free(public_port)
    if config.front == "nginx":
        if config.socket == "unix":
            # In the run directory, or a short private one when its path is too long for a socket.
            upstream = Endpoint(protocol, unix_path=str(supervisor.socket_path(f"{config.kind}-{public_port}.sock")))
        else:
            upstream = Endpoint(protocol, port=free_port())
    else:
        upstream = Endpoint(protocol, port=public_port)
    name = f"{config.kind}-{public_port}"
    if config.app == "null":
        env = {**env, TARGET_APP_ENV: kind.null_app}
    if stats_dir is not None:
        stats_dir.mkdir(mode=0o700, exist_ok=True)
        env = {**env, STATS_DIR_ENV: str(stats_dir), KIND_ENV: kind.name}
    # Every path the servers and nginx are given is absolute (run_dir is): nothing of
    # servebench's lands in cwd, which is the project's, as under runserver.
    server = supervisor.spawn(name, kind.build_argv(config, upstream, backlog), env=env, cwd=cwd)
    front = None
    if config.front == "nginx":
        try:
            front = start_nginx(
                supervisor, upstream=upstream, port=public_port, run_dir=run_dir, backlog=backlog, expose=expose
            )
        except Exception:
            server.stop()
            raise
    stack = Stack(config, server, front, public_port, upstream, stats_dir)
    try:
        stack.ready_s = _wait_ready(stack, host_header=host_header, timeout_s=timeout_s)
    except BaseException:
        stack.stop()
        raise
    return stack


def _wait_ready(stack: Stack, *, host_header: str, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while True:
        for child in (stack.server, stack.front):
            if child is not None and not child.alive():
                raise child.failure(f"exited with status {child.popen.returncode} before it was ready")
        try:
            answer = http_get(stack.port, READY_PATH, host_header=host_header, timeout_s=2.0)
            if answer.status == 200 and answer.body == READY_BODY:
                return time.monotonic() - stack.server.started_at
            last = f"readiness URL answered {answer.status}"
        except OSError as exc:
            last = f"readiness URL: {exc.strerror or exc}"
        except http.client.HTTPException as exc:
            last = f"readiness URL: {type(exc).__name__}"
        if time.monotonic() > deadline:
            raise stack.server.failure(f"not ready after {timeout_s:g} s ({last})")
        time.sleep(0.05)
