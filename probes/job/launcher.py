"""Configurations of the project brought up for real: the Launcher every job starts servers with,
the Proof each must pass before any load, what broke when one fails, and `--check` (each
configuration up, one request through it, down)."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..bench.judge.quality import failure_head
from ..bench.loadgen.requests import Request
from ..bench.measure.sweep import Progress
from ..bench.model.results import Check, Failure, Run
from ..bench.model.tracebacks import ExceptionSeen
from ..bench.processes.child import Child, StartFailed
from ..bench.processes.ports import PortTaken
from ..bench.processes.supervisor import Supervisor
from ..bench.servers.kinds import ServerConfig
from ..bench.servers.memcached import Memcached
from ..bench.servers.nginx import Exposure, FrontUnavailable
from ..bench.servers.stack import NotApplicable, Stack, http_get, start_stack
from ..bench.timing.reader import read_exceptions
from ..catalog import get_probe
from . import failures, project


class PathFailed(StartFailed):
    """The configuration came up, but the target path did not answer 2xx through it: no load is put on it."""


@dataclass(frozen=True)
class Proof:
    """The request that must answer 2xx through a configuration before any load is put on it.

    2xx, not "the class t0 answered": a URL that answers 3xx/4xx/5xx would be a failing run
    whatever t0 said. It is the request the load sends: its headers, method and body.
    """

    path: str
    headers: tuple[tuple[str, str], ...] = ()
    in_process: failures.InProcess | None = None  # the same request replayed in servebench's process
    timeout_s: float = 10.0
    request: Request | None = None  # None: a GET of path (a --urls mix: its requests are its own)


class Launcher:
    """Brings up configurations of the project: fresh database, same environment, one supervisor."""

    def __init__(
        self,
        *,
        run_dir: Path,
        supervisor: Supervisor,
        memcached: Memcached | None,
        extra_env: dict[str, str] | None = None,
        between: Callable[[], object] | None = None,
        timing: bool = True,
        unattributed: dict[str, str] | None = None,
        expose: Exposure | None = None,
    ) -> None:
        self.run_dir = run_dir
        # The project's services whose processes could not be found (role -> how it connects): every
        # window records them, so their CPU, left unattributed, is never read as another process's.
        self.unattributed = dict(unattributed or {})
        self.expose = expose  # nginx's way in for client hosts (--client-netns, --client-host)
        # Servers run where the project runs, so relative paths in its settings (templates,
        # SQLite NAME, MEDIA_ROOT, .env files) resolve as under runserver; servebench's own
        # files (sockets, logs, configs, counters) are all named by absolute paths in run_dir.
        self.directory = project.directory()
        self.timing = timing
        self.supervisor = supervisor
        self.memcached = memcached
        self.extra_env = extra_env or {}
        # Without a fresh SQLite copy per configuration, `between` resets what
        # one configuration left (e.g. its probe sessions) before the next.
        self.between = between
        # --db-copy: the environment that points the next configuration at a fresh copy (job.dbcopy).
        self.fresh_database: Callable[[], dict[str, str]] | None = None
        self.host_header = project.host_header()
        self._sqlite_template = project.migrated_sqlite_template(run_dir) if project.owns_sqlite() else None
        self._started = 0
        self._failure: Failure | None = None  # why the last start failed (StartFailed, PathFailed)
        self._last: Stack | None = None

    def start(
        self,
        config: ServerConfig,
        *,
        port: int | None = None,
        timeout_s: float = 30.0,
        proof: Proof | None = None,
        timing: bool | None = None,
    ) -> Stack:
        """Start one configuration and prove its path; NotApplicable, StartFailed (PathFailed), PortTaken
        or FrontUnavailable if it cannot. timing: with or without the timing wrapper (None: the launcher's)."""
        self._started += 1
        self._failure, self._last = None, None
        database = None
        if self._sqlite_template is not None:
            database = project.fresh_sqlite(self._sqlite_template, self.run_dir, f"db-{self._started}")
        elif self.between is not None:
            self.between()
        env = project.server_environment(
            run_dir=self.run_dir,
            database_path=database,
            memcached_address=self.memcached.address if self.memcached else None,
        )
        env.update(self.extra_env)
        if self.fresh_database is not None:
            env.update(self.fresh_database())
        stats_dir = self.run_dir / f"stats-{self._started}" if (self.timing if timing is None else timing) else None
        first_child = len(self.supervisor.children)
        try:
            stack = start_stack(
                config,
                supervisor=self.supervisor,
                run_dir=self.run_dir,
                cwd=self.directory,
                env=env,
                host_header=self.host_header,
                port=port,
                stats_dir=stats_dir,
                timeout_s=timeout_s,
                expose=self.expose,
            )
        except StartFailed as exc:
            children = self.supervisor.children[first_child:]
            self._failure = self._explain(
                str(exc).splitlines()[0],
                status=None,
                in_process=proof.in_process if proof else None,
                recorded=read_exceptions(stats_dir) if stats_dir else [],
                logs=self._logs(children),
            )
            raise
        stack.unattributed = dict(self.unattributed)
        self._last = stack
        if proof is not None:
            self._prove(stack, proof)
        return stack

    def _logs(self, children: Sequence[Child]) -> list[Path]:
        logs = [child.log_path for child in children]
        if any(child.name.startswith("nginx-") for child in children):
            logs.append(self.run_dir / "nginx-error.log")
        return logs

    def _stack_logs(self, stack: Stack) -> list[Path]:
        return self._logs([child for child in (stack.server, stack.front) if child is not None])

    def _explain(
        self,
        head: str,
        *,
        status: int | None,
        in_process: failures.InProcess | None,
        recorded: Sequence[ExceptionSeen],
        logs: Sequence[Path],
        decision: str = "",
    ) -> Failure:
        in_log = failures.exceptions_in_logs(logs, root=self.directory)
        return failures.failure(
            head=head,
            status=status,
            in_process=in_process,
            exceptions=failures.distinct(recorded, in_log, in_process.exceptions if in_process else ()),
            decision=decision,
            logs=[path for path in logs if path.exists()],
            gone=self._services_gone(),
        )

    def _services_gone(self) -> tuple[str, ...]:
        """The services servebench started for this run that have exited since (they were up for t0)."""
        child = self.memcached.child if self.memcached else None
        return ("servebench's memcached",) if child is not None and not child.alive() else ()

    def _prove(self, stack: Stack, proof: Proof) -> None:
        """One request to the target through the whole path; PathFailed, the stack stopped, unless 2xx."""
        method = proof.request.method if proof.request is not None else "GET"
        try:
            answer = http_get(
                stack.port,
                proof.path,
                host_header=self.host_header,
                headers=proof.headers,
                timeout_s=proof.timeout_s,
                request=proof.request,
            )
        except (OSError, http.client.HTTPException) as exc:
            status, location, head = None, "", f"{method} {proof.path} got no answer ({type(exc).__name__}: {exc})"
        else:
            if 200 <= answer.status < 300:
                return
            status, location = answer.status, answer.headers.get("location", "")
            head = f"{method} {proof.path} answered {status}"
        stack.stop()
        logged = proof.in_process.logged if proof.in_process else ()
        decision = (
            failures.decided(status, path=proof.path, host=self.host_header, location=location, logged=logged)
            if status is not None and status < 500
            else ""
        )
        self._failure = self._explain(
            head,
            status=status,
            in_process=proof.in_process,
            recorded=read_exceptions(stack.stats_dir) if stack.stats_dir else [],
            logs=self._stack_logs(stack),
            decision=decision,
        )
        raise PathFailed(self._failure.summary)

    def explain(self, run: Run) -> Failure | None:
        """Why a failing run failed: what its start recorded, else the exceptions of its last stack."""
        if self._failure is not None:
            return self._failure
        stack, head = self._last, failure_head(run)
        if stack is None or head is None:
            return None
        return self._explain(
            head,
            status=None,
            in_process=None,
            recorded=read_exceptions(stack.stats_dir) if stack.stats_dir else [],
            logs=self._stack_logs(stack),
        )


START_ERRORS = (NotApplicable, StartFailed, PortTaken, FrontUnavailable)  # PathFailed is a StartFailed


def _check_path(config: ServerConfig) -> str:
    if config.app == "null":
        return "/"
    try:
        return get_probe("trivial").path()
    except LookupError:
        return "/__servebench__/ready"  # the project does not route the probes


def check_one(launcher: Launcher, config: ServerConfig, *, path: str | None = None) -> Check:
    """Bring one configuration up, request `path` (else the trivial probe) through the full path, tear it down."""

    def result(ok: bool, reason: str, **extra: object) -> Check:
        return Check(**config.describe(), ok=ok, reason=reason, **extra)  # type: ignore[arg-type]

    try:
        # The proof is the check's request through the full path; a failing one says what broke.
        target = path if path is not None and config.app == "project" else _check_path(config)
        stack = launcher.start(config, proof=Proof(target))
    except NotApplicable as exc:
        return result(False, f"not applicable: {exc}", ready_s=0.0, applicable=False)
    except START_ERRORS as exc:
        return result(False, str(exc), ready_s=0.0)
    try:
        processes = stack.process_counts()
        expected = stack.expected_server_processes()
    finally:
        stack.stop()
    reasons = []
    if processes["server"] != expected:
        reasons.append(f"{processes['server']} server processes found, {expected} expected")
    left = [info.pid for child in (stack.server, stack.front) if child for info in child.session() if info.state != "Z"]
    if left:
        reasons.append(f"processes left after stop: {left}")
    return result(
        not reasons,
        "; ".join(reasons),
        ready_s=stack.ready_s,
        processes=processes,
        expected_server_processes=expected,
        warnings=tuple(stack.log_warnings()),
    )


def check_configs(
    configs: Sequence[ServerConfig], launcher: Launcher, progress: Progress, *, path: str | None = None
) -> tuple[Check, ...]:
    """servebench --check: every configuration up, one request through it, down."""
    checks = []
    for index, config in enumerate(configs, 1):
        progress(f"check {index}/{len(configs)}: {config.label}")
        checks.append(check_one(launcher, config, path=path))
    return tuple(checks)
