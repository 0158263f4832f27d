"""The command's arguments turned into one frozen Plan before anything starts.

Every input is checked here (inputs.py: each one on its own; here: how they combine): bad
input is refused in milliseconds, in one line that names the option and why. What is left
to fail later needs the servers themselves (a view that breaks, a port taken meanwhile).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..bench.loadgen.plan import LoadPlan
from ..bench.model.results import FormatError, Suite
from ..bench.servers.kinds import ServerConfig
from ..conf import get_config
from ..job import dbcopy, project, sessions
from ..report.compare import CompareError, load_for_compare
from . import matrix, requests
from .against import AgainstPlan, against_defaults, against_plan, chosen
from .backends import remote_backends
from .clients import with_clients
from .inputs import (
    Refused,
    check_database,
    check_machine,
    check_memcached,
    check_numbers,
    checked_header,
    first_line,
    output_path,
    results_path,
)
from .locust import with_locust
from .matrix import Target

REPORT_FORMATS = {".md": "markdown", ".csv": "csv", ".html": "html"}


@dataclass(frozen=True)
class Report:
    """One --report: its format, and its file (None: Markdown to stdout)."""

    format: str  # markdown, csv or html
    path: Path | None


@dataclass(frozen=True)
class Comparing:
    """--compare A B: two saved results, B against A."""

    a: Suite
    b: Suite
    min_change_pct: float
    fail_if_slower_pct: float | None


@dataclass(frozen=True)
class Plan:
    """Everything a servebench invocation will do, validated."""

    job: str  # sweep, explain, check or view-cost
    targets: tuple[Target, ...]
    configs: tuple[ServerConfig, ...]  # none for view-cost
    load: LoadPlan | None  # sweep and explain only
    result_paths: tuple[Path, ...]
    memcached_address: str | None = None
    memcached_transport: str = "unix"
    services_required: bool = True  # view-cost without --probe skips a probe whose service is missing
    login_as: str | None = None
    database: str = "project"
    db_copy: bool = False  # each configuration on a fresh copy of the project's database (job.dbcopy)
    timing: bool = True
    strict: bool = False
    keep_run_dir: bool = False
    reports: tuple[Report, ...] = ()
    saved: Suite | None = None  # --from: the result to render; nothing is measured
    comparing: Comparing | None = None  # --compare: nothing is measured
    wide: bool = False  # every figure in the terminal's table
    levels: tuple[int, ...] = ()  # --concurrency 1,2,4: each level a configuration of its own (the knee)
    command: tuple[str, ...] = ()  # the arguments as given, recorded in the results (arguments.recorded_command)
    notices: tuple[str, ...] = ()  # warnings said when the job starts (a superuser --login-as)
    against: AgainstPlan | None = None  # --against*: side A, measured in interleaved pairs with this project (B)

    @property
    def max_workers(self) -> int:
        return max((config.workers for config in self.configs), default=1)


def build_plan(options: Mapping[str, Any], *, command: tuple[str, ...] = ()) -> Plan:
    """The Plan of the command's parsed options; Refused (one line) for anything that cannot run."""
    reports = tuple(_report(text) for text in options.get("report") or [])
    if options.get("compare"):
        return _compare_plan(options, reports)
    for name in ("min_change", "fail_if_slower"):
        if options.get(name) is not None and not (name == "fail_if_slower" and chosen(options)):
            also = " or --against*" if name == "fail_if_slower" else ""
            raise Refused(f"--{name.replace('_', '-')} goes with --compare A.json B.json{also}")
    options = against_defaults(options)  # an A/B measures one configuration
    if options.get("from_json") is not None:
        return _render_plan(options, reports)
    job = _job(options)
    if reports and job in ("check", "view-cost"):
        raise Refused(f"--report needs configurations under load: --{job} measures none")
    if options.get("profile") and job in ("check", "view-cost"):
        raise Refused(f"--profile samples configurations under load: --{job} puts none under load")
    check_numbers(options)
    check_memcached(options)
    headers = tuple(checked_header(raw) for raw in options["header"] or [])
    host = _host_of_checked_settings(options)
    sent = requests.requests_of(options, options.get("url"), job)
    # --urls: one target, the mix, named by its file and measured at its first path.
    targets = (
        (Target(f"--urls {options['urls']}", sent[0].path),) if options.get("urls") else matrix.targets(options, job)
    )
    configs = matrix.configs(options, job)
    against = against_plan(options, job, configs)
    if options.get("instrument_pairs") and (job not in ("sweep", "explain") or against is not None):
        raise Refused("--instrument-pairs goes with a sweep: not with --against*, --check or --view-cost")
    levels = matrix.levels(options)
    load = matrix.load_plan(options, targets[0].path, host, headers, levels) if job in ("sweep", "explain") else None
    load = requests.with_requests(load, sent) if load is not None else None
    load = with_locust(options, with_clients(options, load, configs))
    check_machine(configs, load, levels)
    check_database(options, load)
    db_copy = _db_copy(options, job)
    notices = _login_notices(options["login_as"]) if options["login_as"] is not None and load is not None else ()
    json_path = output_path(options["json"], "--json") if options["json"] is not None else None
    try:
        results = results_path(job)  # last: it creates RESULTS_DIR
    except (ValueError, TypeError) as exc:
        raise Refused(f"settings: {first_line(exc)}") from None
    paths = (results, *([json_path] if json_path else []))
    return Plan(
        job=job,
        targets=targets,
        configs=configs,
        load=load,
        result_paths=paths,
        memcached_address=options["memcached"],
        memcached_transport="tcp" if options["memcached_tcp"] else "unix",
        services_required=job != "view-cost" or bool(options["probe"]),
        login_as=options["login_as"],
        database=options["database"],
        db_copy=db_copy,
        timing=not options["no_timing"],
        strict=options["strict"],
        keep_run_dir=options["keep_run_dir"],
        reports=reports,
        wide=bool(options.get("wide")),
        command=command,
        levels=levels if len(levels) > 1 else (),
        notices=notices,
        against=against,
    )


def _db_copy(options: Mapping[str, Any], job: str) -> bool:
    """--db-copy, refused (one line) where it cannot copy: a job without configurations under load, a
    backend other than SQLite or PostgreSQL, a PostgreSQL role that may not create databases."""
    if not options.get("db_copy"):
        return False
    if job not in ("sweep", "explain"):
        raise Refused(f"--db-copy gives each configuration under load a fresh database: --{job} puts none under load")
    if (refused := dbcopy.refusal()) is not None:
        raise Refused(refused)
    return True


def _login_notices(username: str) -> tuple[str, ...]:
    """--login-as's user, read from the project's database (no process started): refused when its session
    would not log in (unknown, inactive), a warning for a superuser."""
    try:
        return sessions.check_login(username)
    except sessions.LoginError as exc:
        raise Refused(str(exc)) from None
    except ImproperlyConfigured as exc:  # no user model installed
        raise Refused(f"--login-as: {first_line(exc)}") from None


def _host_of_checked_settings(options: Mapping[str, Any]) -> str:
    """The project's Host header, once the settings servebench reads are checked and no backend is remote."""
    try:
        # The settings servebench reads, at once: unknown SERVEBENCH keys, a cache or
        # database it cannot place are refused here.
        get_config()
        host = project.host_header()
        remote = remote_backends(memcached=options["memcached"])
    except (ValueError, TypeError, LookupError, ImproperlyConfigured) as exc:
        raise Refused(f"settings: {first_line(exc)}") from None
    if remote and not options["allow_remote_backends"]:
        raise Refused(
            f"refusing to run: {', '.join(remote)} is not on this machine (or servebench cannot tell where it"
            " is), and servebench would load-test shared infrastructure (--allow-remote-backends to do it anyway)"
        )
    return host


def _render_plan(options: Mapping[str, Any], reports: tuple[Report, ...]) -> Plan:
    """--from RESULTS.json: a saved result rendered again; nothing starts, nothing is written but the reports."""
    job = _job(options)
    if job != "sweep":
        raise Refused(f"--from renders a saved result: it measures nothing, so it takes no --{job}")
    saved = load_saved(options["from_json"])
    if reports and not saved.runs:
        raise Refused(f"--from {options['from_json']}: it has no configurations under load to report on")
    return Plan(
        job="render",
        targets=(),
        configs=(),
        load=None,
        result_paths=(),
        reports=reports,
        saved=saved,
        wide=bool(options.get("wide")),
    )


def _compare_plan(options: Mapping[str, Any], reports: tuple[Report, ...]) -> Plan:
    """--compare A B: two saved results loaded and checked; nothing starts."""
    if reports or options.get("from_json") is not None or _job(options) != "sweep":
        raise Refused("--compare reads two saved results: it takes no job, --from or --report")
    limits = {"--min-change": options.get("min_change"), "--fail-if-slower": options.get("fail_if_slower")}
    for name, value in limits.items():
        if value is not None and not (math.isfinite(value) and 0 <= value <= 1000):
            raise Refused(f"{name} takes a percentage from 0 to 1000, not {value:g}")
    try:
        a, b = (load_for_compare(Path(path)) for path in options["compare"])
    except CompareError as exc:
        raise Refused(str(exc)) from None
    min_change = options.get("min_change")
    comparing = Comparing(a, b, 5.0 if min_change is None else min_change, options.get("fail_if_slower"))
    return Plan(job="compare", targets=(), configs=(), load=None, result_paths=(), comparing=comparing)


def load_saved(text: str) -> Suite:
    """The Suite saved in a servebench JSON file; Refused (one line) for anything else."""
    path = Path(text)
    try:
        return Suite.load(path)
    except FormatError as exc:
        raise Refused(f"--from {text}: {first_line(exc).removeprefix(f'{path}: ')}") from None
    except OSError as exc:
        raise Refused(f"--from {text}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise Refused(f"--from {text}: not JSON (not UTF-8 text)") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # servebench/1 on the label, but not its shape (edited, truncated, another tool's file).
        raise Refused(f"--from {text}: not a servebench result ({type(exc).__name__}: {first_line(exc)})") from None


def _report(text: str) -> Report:
    """--report PATH: '-' is Markdown on stdout; otherwise the extension says the format."""
    if text == "-":
        return Report("markdown", None)
    suffix = Path(text).suffix.lower()
    if suffix not in REPORT_FORMATS:
        known = ", ".join(REPORT_FORMATS)
        raise Refused(f"--report {text}: the extension says the format ({known}), or '-' for Markdown on stdout")
    return Report(REPORT_FORMATS[suffix], output_path(text, "--report"))


def _job(options: Mapping[str, Any]) -> str:
    if options["view_cost"]:
        return "view-cost"
    if options["check"]:
        return "check"
    return "explain" if options["explain"] else "sweep"
