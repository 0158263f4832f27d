"""servebench's sweep inside the user's project: each target under each configuration, saved after each run.

Before its load, each configuration must answer the target 2xx once (Proof); one that does
not is stopped at once and its Run says what broke (Launcher.explain). Without timing the
servers run the project's plain app, no timing wrapper (no app figures).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from django.conf import settings

from ..bench.judge.settings import with_preflight
from ..bench.loadgen.plan import LoadPlan
from ..bench.measure.sweep import Progress, sweep
from ..bench.model.diagnosis import ViewTime
from ..bench.model.results import InstrumentCost, Metadata, Run, Suite, ViewCost
from ..bench.processes.supervisor import Supervisor
from ..cli.plan import Plan
from . import failures, project, sessions, writes
from .cache_server import cache_roles, cache_servers
from .dbcopy import database_copies
from .instrument_pairs import instrument_pairs
from .launcher import START_ERRORS, Launcher, Proof
from .profiling import ProjectProfiling
from .remote import close_masters, exposure, in_run_dir, resolved
from .services import JobError, prepare_database, provide_database, provide_services
from .sessions import PROBE_SESSION_AGE_S
from .t0 import instrument_cost, t0_cost

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")  # what Django's CsrfViewMiddleware does not check


@dataclass
class SweepRecord:
    """What the sweep has measured so far, as the Suite saved after every run."""

    metadata: Metadata
    preflight: Sequence[dict[str, str]]
    runs: list[Run] = field(default_factory=list)
    costs: dict[str, ViewCost | None] = field(default_factory=dict)
    instrument: dict[str, InstrumentCost] = field(default_factory=dict)
    housekeeping: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the reports must say (why t0 is missing)

    def suite(self) -> Suite:
        return Suite(
            metadata=self.metadata,
            notes=tuple(self.notes),
            view_costs=tuple(cost for cost in self.costs.values() if cost is not None),
            runs=tuple(self.runs),
            preflight=tuple(self.preflight),
            housekeeping=dict(self.housekeeping),
            instrument=tuple(self.instrument.values()),
        )

    def remove_probe_sessions(self, probe_paths: set[str]) -> None:
        self.housekeeping["probe_sessions_created"] = sum(
            sample.ok for run in self.runs if run.path in probe_paths for sample in run.samples
        )
        self.housekeeping["probe_sessions_deleted"] = sessions.delete_probe_sessions()
        self.housekeeping["probe_sessions_in_caches"] = f"expire {PROBE_SESSION_AGE_S} s after creation"

    def forget_login(self, key: str) -> None:
        sessions.delete_session(key)
        self.housekeeping["login_sessions_deleted"] = 1


def sweep_job(
    plan: Plan,
    *,
    supervisor: Supervisor,
    run_dir: Path,
    progress: Progress,
    on_suite: Callable[[Suite], None],
    metadata: Metadata,
    preflight: Sequence[dict[str, str]] = (),
    warn: Progress | None = None,
) -> Suite:
    """servebench's sweep: each target under each configuration, saved after each run."""
    assert plan.load is not None  # build_plan gives sweeps a load plan
    plan = replace(plan, load=resolved(plan.load))  # the client hosts asked, before anything starts
    load, targets = in_run_dir(plan.load, run_dir), plan.targets
    probe_paths = {target.path for target in targets if target.probe and target.probe.name.startswith("session-")}
    record = SweepRecord(metadata, preflight)

    warned = {str(warning.get("id", "")) for warning in preflight}

    def on_run(run: Run) -> None:
        record.runs.append(with_preflight(run, warned))
        on_suite(record.suite())

    # Undone in reverse order however the sweep ends: the login session, the
    # probe sessions, then the throwaway database.
    with contextlib.ExitStack() as undo:
        undo.callback(close_masters, load.remote)
        launcher, service_pids = around_the_servers(
            plan, supervisor=supervisor, run_dir=run_dir, progress=progress, undo=undo
        )
        if probe_paths:
            undo.callback(record.remove_probe_sessions, probe_paths)
        if plan.login_as is not None:
            load = _logged_in(plan, load, record, undo)
        # After the login (its session is in every copy), before anything in-process (it runs on a copy too).
        launcher.fresh_database = database_copies(plan.db_copy, run_dir=run_dir, progress=progress, undo=undo)
        # The services servebench started itself: one that dies fails the configuration it happened in,
        # and every one after it, naming it (not the project's own database: not ours to watch).
        watched = {role: c for role, pid in service_pids.items() for c in supervisor.children if c.pid == pid}
        proofs = in_process(plan, load, launcher, record, run_dir=run_dir, progress=progress, warn=warn or progress)
        profiling = None
        if load.profile:
            keep_as = plan.result_paths[0].with_suffix("")  # flame graphs: profile-sweep-<stamp>-N.speedscope.json
            profiling = ProjectProfiling(
                supervisor=supervisor, run_dir=run_dir, project_dir=launcher.directory, keep_as=keep_as
            )
        by_kind: tuple[tuple[str, float], ...] = ()
        if load.instrument_pairs and plan.timing:
            lines, by_kind = _instrument_pairs(plan, load, launcher, proofs, record, service_pids, progress)
            record.notes.extend(lines)
        for target in targets:
            wrapper, cost = record.instrument.get(target.path), record.costs[target.path]
            measured = sweep(
                plan.configs,
                replace(
                    load,
                    path=target.path,
                    timing=plan.timing,
                    instrument_s_per_request=wrapper_s(wrapper),
                    instrument_by_kind=by_kind,
                ),
                start=partial(launcher.start, proof=proofs[target.path]),
                service_pids=service_pids,
                progress=progress,
                on_run=on_run,
                start_errors=START_ERRORS,
                levels=plan.levels or (None,),
                t0=view_time(cost),
                explain=launcher.explain,
                profiling=profiling,
                watched=watched,
            )
            # The same runs, now with what only the whole sweep shows (scaling, knee).
            record.runs[len(record.runs) - len(measured) :] = [with_preflight(run, warned) for run in measured]
            on_suite(record.suite())
    return record.suite()


def view_time(cost: ViewCost | None) -> ViewTime | None:
    """t0 as the engine reads it, from the in-process measurement (None: not measured)."""
    if cost is None:
        return None
    return ViewTime(cost.wall_us_median / 1e6, cost.cpu_us_median / 1e6, "in-process", cost.session_written)


def wrapper_s(wrapper: InstrumentCost | None) -> float | None:
    """The timing wrapper's in-process cost per request in seconds, never below 0 (None: not measured)."""
    return max(0.0, wrapper.us_per_request) / 1e6 if wrapper else None


def _instrument_pairs(
    plan: Plan,
    load: LoadPlan,
    launcher: Launcher,
    proofs: dict[str, Proof],
    record: SweepRecord,
    service_pids: dict[str, int],
    progress: Progress,
) -> tuple[list[str], tuple[tuple[str, float], ...]]:
    """--instrument-pairs on the first target: its lines for the notes and the wrapper booked per kind."""
    target = plan.targets[0]
    return instrument_pairs(
        plan.configs,
        replace(load, path=target.path, instrument_s_per_request=wrapper_s(record.instrument.get(target.path))),
        launcher=launcher,
        proof=proofs[target.path],
        t0=view_time(record.costs.get(target.path)),
        service_pids=service_pids,
        progress=progress,
    )


def around_the_servers(
    plan: Plan, *, supervisor: Supervisor, run_dir: Path, progress: Progress, undo: contextlib.ExitStack
) -> tuple[Launcher, dict[str, int]]:
    """memcached and the database the targets need (the database removed by `undo`), the project's
    database prepared and rid of stale sessions, and the Launcher that starts each configuration."""
    targets = plan.targets
    services = provide_services(
        targets,
        supervisor=supervisor,
        memcached_address=plan.memcached_address,
        required=True,
        memcached_transport=plan.memcached_transport,
        progress=progress,
    )
    database = provide_database(plan.database, supervisor=supervisor, run_dir=run_dir, progress=progress)
    undo.callback(database.remove)
    service_pids = dict(database.pids)
    prepare_database([target.probe for target in targets if target.probe is not None])
    sessions_used = any(target.probe and target.probe.name.startswith("session-") for target in targets)
    if sessions_used or plan.login_as is not None:
        # Sessions an earlier, killed run left in the database (probe ones, a still-valid login).
        for message in sessions.remove_stale_sessions():
            progress(message)
    # The project's own cache servers here (a memcached, a Redis): theirs is the project's CPU.
    cache_pids, cache_unattributed = cache_roles(
        cache_servers(settings.CACHES, skip=project.managed_memcached_alias()),
        memcached_started=bool(services.memcached and services.memcached.child),
    )
    service_pids.update(cache_pids)
    launcher = Launcher(
        run_dir=run_dir,
        supervisor=supervisor,
        memcached=services.memcached,
        extra_env=database.env,
        between=sessions.delete_probe_sessions,
        timing=plan.timing,
        unattributed={**database.unattributed, **cache_unattributed},
        expose=exposure(plan.load),
    )
    if services.memcached and services.memcached.child:
        service_pids["memcached"] = services.memcached.child.pid
    return launcher, service_pids


def _logged_in(plan: Plan, load: LoadPlan, record: SweepRecord, undo: contextlib.ExitStack) -> LoadPlan:
    """The load with --login-as's session cookie; the session is deleted when the sweep ends."""
    assert plan.login_as is not None
    if project.owns_sqlite():
        raise JobError("--login-as needs the project's own database: the demo's are fresh copies without users")
    run_s = len(plan.configs) * len(plan.targets) * max(1, len(plan.levels)) * load.seconds_per_config()
    # A request that changes data gets a CSRF token too, as the logged-in browser would send it.
    # A locustfile may send anything: its users get the token too.
    writes = any(r.method not in SAFE_METHODS for r in load.mix) or (load.locust is not None and load.locust.locustfile)
    csrf = sessions.new_csrf_secret() if writes else None
    expiry_s = sessions.login_expiry_s(run_s)
    cookie, login_key = sessions.login_session(plan.login_as, expiry_s=expiry_s, csrf_secret=csrf)
    record.housekeeping["login_sessions_created"] = 1
    undo.callback(record.forget_login, login_key)
    return replace(load, headers=(*load.headers, *sessions.login_headers(cookie, login_key, csrf)))


def in_process(
    plan: Plan,
    load: LoadPlan,
    launcher: Launcher,
    record: SweepRecord,
    *,
    run_dir: Path,
    progress: Progress,
    warn: Progress,
) -> dict[str, Proof]:
    """Each target once in-process with the load's headers (what Django decides if a server fails it, and
    what it writes), its t0 and the timing wrapper's own cost; the Proof every configuration must pass."""
    app = project.wsgi_application()
    proofs = {}

    def unmeasured(line: str) -> None:  # in the terminal now, and in every report
        progress(line)
        record.notes.append(line)

    for target in plan.targets:
        sent = replace(load, path=target.path).sent  # the request the load sends (None: a mix)
        first = sent or load.requests[0]  # a mix is proven by its first request (at target.path)
        with writes.observed() as tally:
            here = failures.replay(
                app,
                target.path,
                host=launcher.host_header,
                headers=load.headers,
                root=launcher.directory,
                request=first,
            )
        seen = writes.writes_of(
            target.path,
            tally,
            status=here.status,
            login=plan.login_as is not None,
            db_copy=launcher.fresh_database is not None,
        )
        record.metadata = writes.noted(record.metadata, seen, warn)
        proofs[target.path] = Proof(target.path, load.headers, here, timeout_s=load.timeout_s, request=first)
        cost = t0_cost(app, target, launcher.host_header, here.status, progress, load=load, unmeasured=unmeasured)
        cost = record.costs[target.path] = replace(cost, session_written=here.session_saved) if cost else None
        if plan.timing and cost is not None:
            measured = instrument_cost(
                app, cost, launcher.host_header, run_dir, progress, headers=load.headers, request=sent
            )
            if measured is not None:
                record.instrument[target.path] = measured
    return proofs
