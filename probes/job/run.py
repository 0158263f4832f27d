"""The one job entry point: a Plan run inside the user's project, its results saved as they come.

`run_job(plan, ...)` brings up what the plan needs (a private run directory, one
supervisor, memcached, the database), runs its job (sweep, explain, check or
view-cost) and returns its Suite with the files it was saved to; the engine judges and diagnoses every run.
Whatever happens, every process it started is stopped and each finished run is
already saved. A problem the user can fix is a JobError with one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..bench.judge.quality import Invalid, job_failure
from ..bench.loadgen import LoadgenError
from ..bench.measure.sweep import Progress
from ..bench.model.results import Metadata, Run, Suite, ViewCost
from ..bench.processes.child import StartFailed
from ..bench.processes.files import create_private
from ..bench.processes.orphans import reclaim_orphans
from ..bench.processes.rundir import RunDir
from ..bench.processes.supervisor import Supervisor, signals_raise
from ..bench.servers.nginx import nginx_version
from ..checks import preflight
from ..cli.plan import Plan
from . import project, sessions
from .against import against_job
from .launcher import Launcher, check_configs
from .project_settings import project_settings
from .services import JobError, prepare_database, provide_services
from .sweep import sweep_job
from .t0 import view_cost


class Interrupted(JobError):
    """Ctrl-C or SIGTERM: every process servebench started was stopped (exit status 130)."""


@dataclass(frozen=True)
class Finished:
    """A job's results, and the files they were saved to (the run's own name may have taken a suffix)."""

    suite: Suite
    saved: tuple[Path, ...]


def run_job(plan: Plan, *, progress: Progress, warn: Progress) -> Finished:
    """Run the plan's job; its results are saved to plan.result_paths after each configuration."""
    for notice in plan.notices:  # what the plan found worth saying before anything starts
        warn(notice)
    warnings = _preflight(plan, warn) if plan.load is not None else []
    for message in reclaim_orphans():  # what an earlier, killed servebench left running
        progress(message)
    run_dir = RunDir(keep=plan.keep_run_dir)
    latest: list[Suite] = []
    warned: set[Path] = set()
    paths = list(plan.result_paths)

    def on_suite(suite: Suite) -> None:
        if not latest and paths:
            paths[0] = claim_results(paths[0], warn)
        save(suite, paths, warn=warn, warned=warned)  # a crash or Ctrl-C keeps what finished
        latest[:] = [suite]

    try:
        with signals_raise(), Supervisor(run_dir.path) as supervisor:
            if plan.job == "view-cost":
                suite = view_cost_job(plan, supervisor=supervisor, progress=progress)
            elif plan.job == "check":
                suite = check_job(plan, supervisor=supervisor, run_dir=run_dir.path, progress=progress)
            else:
                job = against_job if plan.against is not None else sweep_job  # --against*: two sides, in pairs
                suite = job(
                    plan,
                    supervisor=supervisor,
                    run_dir=run_dir.path,
                    progress=progress,
                    on_suite=on_suite,
                    metadata=metadata(plan),
                    preflight=warnings,
                    warn=warn,
                )
        on_suite(suite)
        return Finished(suite, tuple(path for path in paths if path not in warned))
    except (StartFailed, LoadgenError, RuntimeError, ValueError, OverflowError) as exc:  # JobError too
        raise JobError(str(exc).splitlines()[0] + _saved_note(paths)) from None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: every process servebench started was stopped{_saved_note(paths)}") from None
    finally:
        # The logs of the configurations that failed say why: they are kept, the rest goes.
        run_dir.keep_logs = any(failed_lines(suite) for suite in latest)
        run_dir.cleanup()
        if plan.keep_run_dir:
            warn(f"run directory kept: {run_dir.path}")
        elif run_dir.keep_logs:
            warn(f"logs of the failing configurations kept in {run_dir.path}")


def claim_results(path: Path, warn: Progress, *, tries: int = 100) -> Path:
    """Create this run's results file in RESULTS_DIR without replacing any (O_EXCL, by link()); the path taken.

    Its name is unique to this run (cli.inputs.results_path); should another run hold it all the
    same (another pid namespace sharing the directory), a suffix is added and the change said.
    """
    for number in range(1, tries + 1):
        candidate = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
        try:
            if create_private(candidate, ""):
                if candidate != path:
                    warn(f"{path.name} was taken by another run: these results go to {candidate}")
                return candidate
        except OSError as exc:
            raise JobError(f"cannot write {candidate}: {exc.strerror}") from None
    raise JobError(f"cannot write {path}: {tries} names like it are taken")


def save(suite: Suite, paths: Sequence[Path], *, warn: Progress | None = None, warned: set[Path] | None = None) -> None:
    """Write the suite to every result path (atomically). The first is the run's own file: JobError naming
    it if it cannot be written. An extra one (--json) that cannot be is one warning (once per path, in
    `warned`), and the sweep goes on: its results are still in the first."""
    for index, path in enumerate(paths):
        try:
            suite.dump(path)
        except OSError as exc:
            if index == 0 or warn is None:
                raise JobError(f"cannot write {path}: {exc.strerror}") from None
            if warned is None or path not in warned:
                warn(f"cannot write {path} ({exc.strerror}): the run goes on, its results are in {paths[0]}")
            if warned is not None:
                warned.add(path)


def _saved_note(paths: Sequence[Path]) -> str:
    saved = [path for path in paths if path.exists()]
    return f"; what finished is in {saved[0]}" if saved else ""


def _why_failed(run: Run) -> str:
    """'label: why' on one line: what broke (Launcher.explain), else the error or the quality's reason."""
    why = run.failure.summary if run.failure else run.error or "; ".join(run.quality_reasons) or run.quality
    return f"{run.label}: {why.splitlines()[0]}"


def failed_lines(suite: Suite) -> list[str]:
    """'label: why' of each configuration that failed (a check that does not apply has not failed)."""
    lines = [_why_failed(run) for run in suite.runs if run.quality == "failing"]
    lines += [f"{c.label}: {c.reason.splitlines()[0]}" for c in suite.checks if not c.ok and c.applicable]
    return lines


def exit_line(suite: Suite) -> str | None:
    """The one line a command exits non-zero with, or None when the job gave a valid result."""
    failure = job_failure(suite)
    if failure is None:
        return None
    if failure.why is Invalid.UNMEASURED and failure.first_unmeasured is not None:
        return f"{failure.count} of {failure.total} {failure.why}; {_why_failed(failure.first_unmeasured)}"
    if failure.why is Invalid.CHECKS_FAILED:
        return f"{failure.count} of {failure.total} configurations failed; {failed_lines(suite)[0]}"
    return f"no valid result: every run failed; {failed_lines(suite)[0]}"


def metadata(plan: Plan) -> Metadata:
    """Where and how this run measures: the machine, the versions (nginx's too) and the command."""
    extra = {"nginx": version} if (version := nginx_version()) else {}
    return Metadata.collect(
        settings_module=project.settings_module(),
        extra_versions=extra,
        command=plan.command,
        settings=project_settings(),
    )


def _preflight(plan: Plan, warn: Progress) -> list[dict[str, str]]:
    """The project's settings that would make the figures lie or cap them, said before the sweep."""
    warnings = preflight(workers=plan.max_workers)
    for warning in warnings:
        warn(f"{warning['id']}: {warning['msg']} (fix: {warning['hint']})")
    if plan.strict and warnings:
        raise JobError(f"--strict: {len(warnings)} preflight warning(s), first {warnings[0]['id']}")
    return warnings


def view_cost_job(plan: Plan, *, supervisor: Supervisor, progress: Progress) -> Suite:
    """Measure each target in-process; probes whose service is missing are skipped with the reason."""
    probes = [target.probe for target in plan.targets if target.probe is not None]
    services = provide_services(
        plan.targets,
        supervisor=supervisor,
        memcached_address=plan.memcached_address,
        required=plan.services_required,
        memcached_transport=plan.memcached_transport,
        progress=progress,
    )
    skipped_names = {item.name for item in services.skipped}
    prepare_database(probes)
    app = project.wsgi_application()
    host = project.host_header()
    costs: list[ViewCost] = []
    try:
        for target in plan.targets:
            if target.name in skipped_names:
                continue
            progress(f"view cost: {target.name}")
            costs.append(view_cost(app, target.name, target.path, host))
    finally:
        deleted = sessions.delete_probe_sessions() if any(probe.needs_db for probe in probes) else 0
    return Suite(
        metadata=metadata(plan),
        view_costs=tuple(costs),
        skipped=services.skipped,
        housekeeping={"probe_sessions_deleted": deleted},
    )


def check_job(plan: Plan, *, supervisor: Supervisor, run_dir: Path, progress: Progress) -> Suite:
    """servebench --check: every configuration up, one request through it, down."""
    launcher = Launcher(run_dir=run_dir, supervisor=supervisor, memcached=None)
    path = plan.targets[0].path if plan.targets else None  # --url or --probe: that path through each
    return Suite(metadata=metadata(plan), checks=check_configs(plan.configs, launcher, progress, path=path))
