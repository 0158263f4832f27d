"""--against*: side A brought up beside this project (B), both measured in interleaved pairs.

A is another checkout (its directory), a git ref (a worktree of it in the private run directory,
removed when the job ends, also on failure) or another settings module. Both sides run the same
configuration, each with its own Launcher (own run directory, ports, database copy) on one
supervisor; each side's t0 and timing wrapper's cost are measured as usual: B's in this process,
A's in a process of its own (side_costs.py), since this one has B's code loaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from ..bench.judge.settings import with_preflight
from ..bench.measure.pairs import Side, abba, measure_pairs
from ..bench.measure.sweep import Progress
from ..bench.model.pairs import Against
from ..bench.model.results import InstrumentCost, Metadata, Suite, ViewCost
from ..bench.processes.supervisor import Supervisor
from ..bench.servers.kinds import ServerConfig
from ..bench.servers.stack import Stack
from ..cli.against import AgainstPlan
from ..cli.plan import Plan
from . import project
from .launcher import START_ERRORS, Launcher, Proof
from .remote import close_masters, in_run_dir, resolved
from .services import JobError
from .sweep import SweepRecord, around_the_servers, in_process, view_time, wrapper_s

SIDE_COSTS_TIMEOUT_S = 300.0
GIT_WORKTREE_TIMEOUT_S = 120.0


def against_job(
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
    """Both sides of the A/B measured in ABBA pairs (as many as plan.against counts); the Suite keeps both runs."""
    against, config = plan.against, plan.configs[0]
    assert against is not None and plan.load is not None  # build_plan gives an A/B one configuration and a load
    plan = replace(plan, load=resolved(plan.load))
    load = in_run_dir(plan.load, run_dir)
    target = plan.targets[0]
    record = SweepRecord(metadata, preflight)
    warned = {str(warning.get("id", "")) for warning in preflight}
    with contextlib.ExitStack() as undo:
        undo.callback(close_masters, load.remote)
        a_directory = _side_a_directory(against, run_dir=run_dir, progress=progress, undo=undo)
        launcher_b, service_pids = around_the_servers(
            plan, supervisor=supervisor, run_dir=run_dir, progress=progress, undo=undo
        )
        launcher_a = _launcher_a(launcher_b, against, a_directory, supervisor=supervisor, run_dir=run_dir)
        proofs = in_process(plan, load, launcher_b, record, run_dir=run_dir, progress=progress, warn=warn or progress)
        cost_b, wrapper_b = record.costs.get(target.path), record.instrument.get(target.path)
        cost_a, wrapper_a = _side_a_costs(plan, launcher_a, record, progress)
        if wrapper_a is None and wrapper_b is not None and plan.timing:
            # The same wrapper runs in both servers: B's cost stands in, so A's server CPU is not charged with it.
            record.notes.append("A's timing wrapper cost not measured: B's stands in for it")
            wrapper_a = wrapper_b
        sides = {
            "A": Side(_starter(launcher_a, proofs[target.path], "A"), view_time(cost_a), wrapper_s(wrapper_a)),
            "B": Side(_starter(launcher_b, proofs[target.path], "B"), view_time(cost_b), wrapper_s(wrapper_b)),
        }
        progress(
            f"{against.counted} of {config.label}, each on servers started for it:"
            f" A is {against.described}, B the project as it stands"
        )
        runs = measure_pairs(
            config,
            replace(load, path=target.path, timing=plan.timing),
            sides=sides,
            pairs=against.pairs,
            most=against.most,
            service_pids=service_pids,
            progress=progress,
        )
        record.runs[:] = [with_preflight(runs[side], warned) for side in ("A", "B")]
        suite = replace(
            record.suite(),
            against=Against(
                a_is=against.described,
                b_is=f"the project as it stands (settings {project.settings_module()})",
                a_label=runs["A"].label,
                b_label=runs["B"].label,
                order=abba(against.most)[: len(runs["A"].samples) + len(runs["B"].samples)],
            ),
        )
        on_suite(suite)
    return suite


def _starter(launcher: Launcher, proof: Proof, side: str) -> Callable[[ServerConfig], Stack]:
    """launcher.start for one side; a start that fails is a JobError naming the side (no pair can be measured)."""

    def start(config: ServerConfig) -> Stack:
        try:
            return launcher.start(config, proof=proof)
        except START_ERRORS as exc:
            raise JobError(f"side {side}: {config.label} did not start: {str(exc).splitlines()[0]}") from None

    return start


def _side_a_directory(against: AgainstPlan, *, run_dir: Path, progress: Progress, undo: contextlib.ExitStack) -> Path:
    """Where A's servers run: the checkout, this project (other settings), or a worktree of the ref."""
    if against.kind == "path":
        return Path(against.value)
    here = project.directory().resolve()
    if against.kind == "settings":
        return here
    assert against.git_root is not None
    worktree = run_dir / f"against-{against.commit[:10]}"
    progress(f"a git worktree of {against.value} ({against.commit[:10]}) for side A")
    git = shutil.which("git") or "git"
    undo.callback(_remove_worktree, git, against.git_root, worktree)
    added = subprocess.run(
        [git, "worktree", "add", "--detach", "--quiet", str(worktree), against.commit],
        cwd=against.git_root,
        capture_output=True,
        text=True,
        timeout=GIT_WORKTREE_TIMEOUT_S,
        check=False,
    )
    if added.returncode != 0:
        last = (added.stderr.strip().splitlines() or ["no output"])[-1]
        raise JobError(f"--against-ref {against.value}: git worktree add failed: {last}")
    # The project may sit below the repository's top level: A's is at the same place in the worktree.
    return worktree / here.relative_to(against.git_root.resolve())


def _remove_worktree(git: str, root: Path, worktree: Path) -> None:
    """Remove the ref's worktree and git's record of it (whatever is left of it)."""
    subprocess.run(
        [git, "worktree", "remove", "--force", str(worktree)], cwd=root, capture_output=True, timeout=60, check=False
    )
    shutil.rmtree(worktree, ignore_errors=True)
    subprocess.run([git, "worktree", "prune"], cwd=root, capture_output=True, timeout=60, check=False)


def _side_a_environment(against: AgainstPlan, directory: Path) -> dict[str, str]:
    """What differs in A's servers' environment: its settings module and its import roots."""
    here = project.directory().resolve()
    roots = []
    for root in project.import_roots():  # a root inside B's project maps to the same place in A's
        path = Path(root).resolve()
        roots.append(str(directory / path.relative_to(here)) if path.is_relative_to(here) else root)
    settings = against.value if against.kind == "settings" else project.settings_module()
    return {
        "DJANGO_SETTINGS_MODULE": settings,
        "PYTHONPATH": os.pathsep.join([*roots, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }


def _launcher_a(
    launcher_b: Launcher, against: AgainstPlan, directory: Path, *, supervisor: Supervisor, run_dir: Path
) -> Launcher:
    """B's launcher's twin for A: its own run directory, A's directory and environment."""
    own = run_dir / "side-a"
    own.mkdir(mode=0o700)
    launcher = Launcher(
        run_dir=own,
        supervisor=supervisor,
        memcached=launcher_b.memcached,
        extra_env={**launcher_b.extra_env, **_side_a_environment(against, directory)},
        between=launcher_b.between,
        timing=launcher_b.timing,
        unattributed=launcher_b.unattributed,
        expose=launcher_b.expose,
    )
    launcher.directory = directory
    launcher.fresh_database = launcher_b.fresh_database
    return launcher


def _side_a_costs(
    plan: Plan, launcher: Launcher, record: SweepRecord, progress: Progress
) -> tuple[ViewCost | None, InstrumentCost | None]:
    """A's t0 and wrapper cost, measured by side_costs.py in A's directory and environment; (None, None) and
    a note when they cannot be (a load with headers or a body, A without this servebench)."""
    assert plan.load is not None
    path = plan.targets[0].path
    if plan.load.headers or (plan.load.sent is not None and plan.load.sent.method != "GET"):
        record.notes.append("A's t0 not measured: its process calls GETs without headers only")
        return None, None
    progress(f"view cost of {path} in-process on side A (t0)")
    env = project.server_environment(run_dir=launcher.run_dir, database_path=None, memcached_address=None)
    env.update(launcher.extra_env)
    command = [sys.executable, "-m", "probes.job.side_costs", path, launcher.host_header]
    try:
        done = subprocess.run(
            command, cwd=launcher.directory, env=env, capture_output=True, text=True, timeout=SIDE_COSTS_TIMEOUT_S
        )
        measured = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        measured, done = None, None
    if measured is None:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1] if done is not None else "it did not finish"
        record.notes.append(f"A's t0 not measured: {why}")
        return None, None
    record.notes.extend(f"A's {note}" for note in measured["notes"])
    cost = ViewCost(**measured["t0"]) if measured["t0"] else None
    wrapper = InstrumentCost(**measured["instrument"]) if measured["instrument"] else None
    return cost, wrapper
