"""servebench's jobs over the Django project: the glue between settings and the engine."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from . import failures, project, sessions
from .bench.concurrency import with_advice
from .bench.diagnosis import ViewTime, diagnose
from .bench.model import InstrumentCost, Run, Skipped, Suite, ViewCost
from .bench.runner import LoadPlan, sweep
from .bench.servers import ServerConfig
from .bench.services import (
    Memcached,
    ServiceUnavailable,
    memcached_answers,
    parse_address,
    start_memcached,
    start_postgres,
)
from .bench.supervisor import Supervisor
from .bench.viewcost import measure_instrument_cost, measure_view_cost
from .catalog import Probe
from .conf import get_config
from .harness import START_ERRORS, Harness, Proof, metadata
from .sessions import PROBE_SESSION_AGE_S
from .timing import minimal_django_app, timed_in_process

Progress = Callable[[str], None]


class JobError(RuntimeError):
    """A problem the user can fix; the command shows its message on one line."""


@dataclass(frozen=True)
class Services:
    memcached: Memcached | None
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class Target:
    """One URL of a sweep: a probe, or a path of the project (--url)."""

    name: str
    path: str
    probe: Probe | None = None


def provide_services(
    targets: Sequence[Target],
    *,
    supervisor: Supervisor,
    memcached_address: str | None,
    required: bool,
    memcached_transport: str = "unix",
    progress: Progress | None = None,
) -> Services:
    """Start (or check) the memcached the targets need; required=True fails instead of skipping a probe.

    A probe says whether it needs memcached. A --url target may need the managed cache alias
    without any setting saying so: the demo's session-cache view stores its sessions in
    SESSION_CACHE_ALIAS while SESSION_ENGINE is the database, so only the view knows. The
    managed alias points at nothing until servebench starts its memcached, so a --url target
    gets it whenever the project has one; if it cannot start, the run goes on and a view that
    needed it fails its proof, naming the error.
    """
    needing = [t.probe for t in targets if t.probe is not None and t.probe.needs_memcached]
    alias = project.managed_memcached_alias()
    urls = alias is not None and any(target.probe is None for target in targets)
    if not needing and not urls:
        return Services(None, ())
    try:
        if memcached_address:
            host, port = parse_address(memcached_address)
            if not memcached_answers(host, port):
                raise JobError(f"no memcached answers at {memcached_address}")
            memcached = Memcached(host, port, None)
        elif alias is None:
            # The project's own cache configuration is used as it is.
            return Services(None, ())
        else:
            memcached = start_memcached(supervisor, transport=memcached_transport)
    except (ServiceUnavailable, ValueError) as exc:
        if needing and required:
            raise JobError(str(exc)) from None
        if urls and progress is not None:
            progress(f"no memcached for the cache {alias!r} ({exc}): a view that uses it will fail")
        return Services(None, tuple(Skipped(probe.name, str(exc)) for probe in needing))
    if alias is not None:
        project.use_memcached(alias, memcached.address)
    return Services(memcached, ())


def _view_cost(app: object, name: str, path: str, host: str) -> ViewCost:
    config = get_config()
    return measure_view_cost(
        app,  # type: ignore[arg-type]
        name=name,
        path=path,
        host=host,
        warmup=config["VIEW_COST_WARMUP"],
        min_iterations=config["VIEW_COST_MIN_ITERATIONS"],
        min_time_s=config["VIEW_COST_MIN_TIME_S"],
        max_iterations=config["VIEW_COST_MAX_ITERATIONS"],
    )


def view_cost_job(
    targets: Sequence[Target],
    *,
    supervisor: Supervisor,
    memcached_address: str | None,
    required: bool,
    progress: Progress,
    memcached_transport: str = "unix",
) -> Suite:
    """Measure each target in-process; probes whose service is missing are skipped with the reason."""
    probes = [target.probe for target in targets if target.probe is not None]
    services = provide_services(
        targets,
        supervisor=supervisor,
        memcached_address=memcached_address,
        required=required,
        memcached_transport=memcached_transport,
        progress=progress,
    )
    skipped_names = {item.name for item in services.skipped}
    _prepare_database(probes)
    app = project.wsgi_application()
    host = project.host_header()
    costs: list[ViewCost] = []
    try:
        for target in targets:
            if target.name in skipped_names:
                continue
            progress(f"view cost: {target.name}")
            costs.append(_view_cost(app, target.name, target.path, host))
    finally:
        deleted = sessions.delete_probe_sessions() if any(probe.needs_db for probe in probes) else 0
    return Suite(
        metadata=metadata(),
        view_costs=tuple(costs),
        skipped=services.skipped,
        housekeeping={"probe_sessions_deleted": deleted},
    )


def _prepare_database(probes: Sequence[Probe]) -> None:
    """Migrate a database servebench owns; in the project's own, only check the probes' table exists."""
    if not any(probe.needs_db for probe in probes):
        return
    if not project.prepare_owned_database() and (missing := sessions.session_table_missing()):
        raise JobError(missing)


def _t0(app: object, target: Target, host: str, answered: int | None, progress: Progress) -> ViewCost | None:
    """The target's uncontended cost in-process; None when it cannot be called here (a run gives it)."""
    if answered is None or not 200 <= answered < 300:
        return None  # its figures would be those of an error page (what broke is said per configuration)
    progress(f"view cost of {target.path} in-process (t0)")
    try:
        cost = _view_cost(app, target.name, target.path, host)
    except Exception:  # the user's view may need what only a server gives it
        return None
    return cost if 200 <= cost.status < 300 else None


# Above this CPU per call, an A/B on the view cannot resolve the wrapper's µs: its
# jitter is larger (a 49 ms page moved by ±3 ms per block); a minimal Django response is measured instead.
INSTRUMENT_ON_VIEW_MAX_US = 1000.0


def _instrument_cost(
    app: object, cost: ViewCost, host: str, run_dir: Path, progress: Progress
) -> InstrumentCost | None:
    """The timing wrapper's own CPU per request, in-process (plain vs wrapped, alternated): on the target
    view, or on a minimal Django response when the view is too slow for the A/B to resolve µs."""
    on_view = cost.cpu_us_median <= INSTRUMENT_ON_VIEW_MAX_US
    target, path = (app, cost.path) if on_view else (minimal_django_app, "/")
    progress(f"the timing wrapper's own cost on {cost.path if on_view else 'a minimal Django response'}, in-process")
    stats_dir = run_dir / "instrument"
    stats_dir.mkdir(mode=0o700, exist_ok=True)
    try:
        with timed_in_process(target, stats_dir) as wrapped:  # type: ignore[arg-type]
            measured = measure_instrument_cost(target, wrapped, path=path, host=host)  # type: ignore[arg-type]
    except Exception:  # the user's view may need what only a server gives it (t0 said so already)
        return None
    return replace(measured, path=cost.path, reference=None if on_view else "a minimal Django response")


def sweep_job(
    configs: Sequence[ServerConfig],
    plan: LoadPlan,
    *,
    targets: Sequence[Target],
    supervisor: Supervisor,
    run_dir: Path,
    memcached_address: str | None,
    progress: Progress,
    on_suite: Callable[[Suite], None],
    login_as: str | None = None,
    preflight: Sequence[dict[str, str]] = (),
    database: str = "project",
    timing: bool = True,
    memcached_transport: str = "unix",
) -> Suite:
    """servebench's sweep: each target under each configuration; on_suite gets the results after each run.

    Before its load, each configuration must answer the target 2xx once (Proof); one that does
    not is stopped at once and its Run says what broke (harness.explain). timing=False: the
    servers run the project's plain app, no timing wrapper (no app figures).
    """
    probes = [target.probe for target in targets if target.probe is not None]
    probe_paths = {target.path for target in targets if target.probe and target.probe.name.startswith("session-")}
    measured_on = metadata()
    housekeeping: dict[str, object] = {}
    runs: list[Run] = []
    costs: dict[str, ViewCost | None] = {}
    instrument: dict[str, InstrumentCost] = {}

    def suite() -> Suite:
        return Suite(
            metadata=measured_on,
            view_costs=tuple(cost for cost in costs.values() if cost is not None),
            runs=tuple(runs),
            preflight=tuple(preflight),
            housekeeping=dict(housekeeping),
            instrument=tuple(instrument.values()),
        )

    def on_run(run: Run) -> None:
        run = replace(run, timing=timing)
        if run.quality == "failing" and (failure := harness.explain(run)) is not None:
            run = replace(run, failure=failure, quality_reasons=(failure.summary, *run.quality_reasons[1:]))
        run = with_diagnosis(run, t0_for(run.path, costs, runs))
        runs.append(run)
        on_suite(suite())
        rate = run.diagnosis["figures"]["throughput_rps"] if run.samples else 0.0
        progress(f"    {run.label}: {rate:,.0f} r/s, {run.quality}, {run.verdict}")

    def remove_probe_sessions() -> None:
        housekeeping["probe_sessions_created"] = sum(
            sample.ok for run in runs if run.path in probe_paths for sample in run.samples
        )
        housekeeping["probe_sessions_deleted"] = sessions.delete_probe_sessions()
        housekeeping["probe_sessions_in_caches"] = f"expire {PROBE_SESSION_AGE_S} s after creation"

    def forget_login(key: str) -> None:
        sessions.delete_session(key)
        housekeeping["login_sessions_deleted"] = 1

    # Undone in reverse order however the sweep ends: the login session, the
    # probe sessions, then the throwaway database.
    with contextlib.ExitStack() as undo:
        services = provide_services(
            targets,
            supervisor=supervisor,
            memcached_address=memcached_address,
            required=True,
            memcached_transport=memcached_transport,
            progress=progress,
        )
        extra_env, service_pids, remove_database = _provide_database(
            database, supervisor=supervisor, run_dir=run_dir, progress=progress
        )
        undo.callback(remove_database)
        _prepare_database(probes)
        if probe_paths or login_as is not None:
            # Sessions an earlier, killed run left in the database (probe ones, a still-valid login).
            for message in sessions.remove_stale_sessions():
                progress(message)
        if probe_paths:
            undo.callback(remove_probe_sessions)
        if login_as is not None:
            if project.owns_sqlite():
                raise JobError("--login-as needs the project's own database: the demo's are fresh copies without users")
            run_s = len(configs) * len(targets) * plan.seconds_per_config()
            cookie, login_key = sessions.login_session(login_as, expiry_s=sessions.login_expiry_s(run_s))
            housekeeping["login_sessions_created"] = 1
            undo.callback(forget_login, login_key)
            plan = replace(plan, headers=(*plan.headers, ("Cookie", f"{cookie}={login_key}")))
        harness = Harness(
            run_dir=run_dir,
            supervisor=supervisor,
            memcached=services.memcached,
            extra_env=extra_env,
            between=sessions.delete_probe_sessions,
            timing=timing,
        )
        if services.memcached and services.memcached.child:
            service_pids["memcached"] = services.memcached.child.pid
        app = project.wsgi_application()
        proofs = {}
        for target in targets:
            # Once in-process with the plan's headers: says what Django decides if a server fails it.
            here = failures.replay(
                app, target.path, host=harness.host_header, headers=plan.headers, root=harness.directory
            )
            proofs[target.path] = Proof(target.path, plan.headers, here, timeout_s=plan.timeout_s)
            cost = costs[target.path] = _t0(app, target, harness.host_header, here.status, progress)
            if timing and cost is not None:
                measured = _instrument_cost(app, cost, harness.host_header, run_dir, progress)
                if measured is not None:
                    instrument[target.path] = measured
        for target in targets:
            wrapper = instrument.get(target.path)
            instrument_s = max(0.0, wrapper.us_per_request) / 1e6 if wrapper else None
            sweep(
                configs,
                replace(plan, path=target.path, instrument_s_per_request=instrument_s),
                start=partial(harness.start, proof=proofs[target.path]),
                service_pids=service_pids,
                progress=progress,
                on_run=on_run,
                start_errors=START_ERRORS,
            )
    return suite()


def _provide_database(
    database: str, *, supervisor: Supervisor, run_dir: Path, progress: Progress
) -> tuple[dict[str, str], dict[str, int], Callable[[], None]]:
    """(server environment, CPU roles, cleanup) for the database: the project's own, or a throwaway PostgreSQL."""
    if database == "project":
        pid = project.local_database_pid()
        return {}, ({"database": pid} if pid else {}), lambda: None
    if database != "postgres":
        raise JobError(f"--database takes project or postgres, not {database!r}")
    if not get_config()["OWN_DATABASE"]:
        raise JobError("--database postgres is for the demo site: your project's own database is what it uses")
    progress("starting a throwaway PostgreSQL")
    try:
        postgres = start_postgres(supervisor, run_dir=run_dir)
    except ServiceUnavailable as exc:
        raise JobError(str(exc)) from None
    project.use_database(postgres.url)
    # Its files lie outside the run directory: remove() stops it and deletes them.
    return {"DATABASE_URL": postgres.url}, {"database": postgres.child.pid}, postgres.remove


def t0_for(path: str, costs: dict[str, ViewCost | None], runs: Sequence[Run]) -> ViewTime | None:
    """t0 from the in-process view cost, else from the app's own time in a 1-worker run of the path."""
    cost = costs.get(path)
    if cost is not None:
        return ViewTime(cost.wall_us_median / 1e6, cost.cpu_us_median / 1e6, "in-process")
    for run in runs:
        if run.path == path and run.workers * run.threads == 1 and run.diagnosis:
            figures = run.diagnosis["figures"]
            if figures["app_wall_s"]:
                return ViewTime(figures["app_wall_s"], figures["app_cpu_s"] or 0.0, "1-worker run")
    return None


def with_diagnosis(run: Run, t0: ViewTime | None) -> Run:
    """The run with its verdict and the numbers behind it."""
    result = with_advice(run, diagnose(run, t0))
    return replace(run, verdict=result.verdict, diagnosis=result.to_dict())
