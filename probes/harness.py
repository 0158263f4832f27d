"""Configurations of the project brought up for real: the Harness every job starts servers with,
and `servebench --check` (each configuration up, one request through it, down)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from . import project
from .bench.frontends import FrontUnavailable, nginx_version
from .bench.model import Check, Metadata, Suite
from .bench.ports import PortTaken
from .bench.servers import ServerConfig
from .bench.services import Memcached
from .bench.stack import NotApplicable, Stack, http_get, start_stack
from .bench.supervisor import StartFailed, Supervisor
from .catalog import get_probe

Progress = Callable[[str], None]


def metadata() -> Metadata:
    """Where and how this run measures, with nginx's version when it is installed."""
    extra = {"nginx": version} if (version := nginx_version()) else {}
    return Metadata.collect(settings_module=project.settings_module(), extra_versions=extra)


class Harness:
    """Brings up configurations of the project: fresh database, same environment, one supervisor."""

    def __init__(
        self,
        *,
        run_dir: Path,
        supervisor: Supervisor,
        memcached: Memcached | None,
        extra_env: dict[str, str] | None = None,
        between: Callable[[], object] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.supervisor = supervisor
        self.memcached = memcached
        self.extra_env = extra_env or {}
        # Without a fresh SQLite copy per configuration, `between` resets what
        # one configuration left (e.g. its probe sessions) before the next.
        self.between = between
        self.host_header = project.host_header()
        self._sqlite_template = project.migrated_sqlite_template(run_dir) if project.owns_sqlite() else None
        self._started = 0

    def start(self, config: ServerConfig, *, port: int | None = None, timeout_s: float = 30.0) -> Stack:
        """Start one configuration; NotApplicable, StartFailed, PortTaken or FrontUnavailable if it cannot."""
        self._started += 1
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
        return start_stack(
            config,
            supervisor=self.supervisor,
            run_dir=self.run_dir,
            env=env,
            host_header=self.host_header,
            port=port,
            stats_dir=self.run_dir / f"stats-{self._started}",
            timeout_s=timeout_s,
        )


START_ERRORS = (NotApplicable, StartFailed, PortTaken, FrontUnavailable)


def _check_path(config: ServerConfig) -> str:
    if config.app == "null":
        return "/"
    try:
        return get_probe("trivial").path()
    except LookupError:
        return "/__servebench__/ready"  # the project does not route the probes


def check_one(harness: Harness, config: ServerConfig) -> Check:
    """Bring one configuration up, request the trivial probe through the full path, tear it down."""

    def result(ok: bool, reason: str, **extra: object) -> Check:
        return Check(**config.describe(), ok=ok, reason=reason, **extra)  # type: ignore[arg-type]

    try:
        stack = harness.start(config)
    except NotApplicable as exc:
        return result(False, f"not applicable: {exc}", ready_s=0.0)
    except START_ERRORS as exc:
        return result(False, str(exc), ready_s=0.0)
    reasons = []
    try:
        path = _check_path(config)
        answer = http_get(stack.port, path, host_header=harness.host_header)
        if answer.status != 200:
            reasons.append(f"{path} answered {answer.status}")
        processes = stack.process_counts()
        expected = stack.expected_server_processes()
        if processes["server"] != expected:
            reasons.append(f"{processes['server']} server processes found, {expected} expected")
    except OSError as exc:
        reasons.append(f"request failed: {exc}")
        processes, expected = {}, stack.expected_server_processes()
    finally:
        stack.stop()
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


def check_job(configs: Sequence[ServerConfig], *, supervisor: Supervisor, run_dir: Path, progress: Progress) -> Suite:
    """servebench --check: every configuration up, one request through it, down."""
    harness = Harness(run_dir=run_dir, supervisor=supervisor, memcached=None)
    checks = []
    for index, config in enumerate(configs, 1):
        progress(f"check {index}/{len(configs)}: {config.label}")
        checks.append(check_one(harness, config))
    return Suite(metadata=metadata(), checks=tuple(checks))
