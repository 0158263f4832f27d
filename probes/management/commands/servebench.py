"""manage.py servebench: measure what the server costs, what the view costs, and why a view caps."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...bench.files import write_atomic
from ...bench.loadgen import GENERATORS, LoadgenError
from ...bench.model import Run, Suite
from ...bench.orphans import reclaim_orphans
from ...bench.rundir import RunDir
from ...bench.servers import KINDS
from ...bench.supervisor import StartFailed, Supervisor, signals_raise
from ...catalog import PROBES
from ...checks import preflight
from ...harness import check_job
from ...jobs import JobError, sweep_job, view_cost_job
from ...plan import Comparing, Plan, Refused, Report, build_plan
from ...report.compare import compare, render_comparison, slower_beyond
from ...report.html import html_report
from ...report.markdown import markdown_report
from ...report.spreadsheet import csv_report
from ...report.text import check_table, explain_report, sweep_table, view_cost_table

Job = Callable[[Supervisor, Path, Plan], Suite]
RENDERERS: dict[str, Callable[[Suite], str]] = {"markdown": markdown_report, "csv": csv_report, "html": html_report}


def _saved_table(suite: Suite, *, wide: bool) -> str:
    """The terminal table of a saved result, whichever job wrote it."""
    if suite.runs:
        return sweep_table(suite, wide=wide)
    return check_table(suite) if suite.checks else view_cost_table(suite)


def _why_failed(run: Run) -> str:
    """'label: why' on one line: what broke (harness.explain), else the error or the quality's reason."""
    why = run.failure.summary if run.failure else run.error or "; ".join(run.quality_reasons) or run.quality
    return f"{run.label}: {why.splitlines()[0]}"


class Command(BaseCommand):
    help = "Start real WSGI servers, load them, and say what the server and the view cost."

    def add_arguments(self, parser: CommandParser) -> None:
        job = parser.add_mutually_exclusive_group()
        job.add_argument(
            "--view-cost",
            action="store_true",
            help="measure each probe view in-process (no server): the floor of every later figure",
        )
        job.add_argument(
            "--explain",
            action="store_true",
            help="diagnose one URL: a focused sweep over 1, 2 and 4 workers, then why it caps where it caps",
        )
        job.add_argument(
            "--check",
            action="store_true",
            help="bring every configuration up, request it through the full path, tear it down",
        )
        names = ", ".join(p.name for p in PROBES)
        parser.add_argument("--probe", action="append", metavar="NAME", help=f"a probe (repeatable): {names}")
        parser.add_argument("--url", metavar="PATH", help="a path of this project to load, e.g. /shop/?page=2")
        parser.add_argument("--server", action="append", metavar="KIND", help=f"repeatable: {', '.join(KINDS)}")
        parser.add_argument("--workers", metavar="N,N", help="worker counts (default: 1,4; --check: 2)")
        parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn-gthread worker")
        parser.add_argument("--front", action="append", choices=("nginx", "direct"), help="repeatable")
        parser.add_argument("--socket", action="append", choices=("tcp", "unix"), help="upstream behind nginx")
        parser.add_argument("--loadgen", choices=GENERATORS, help="load generator (default: wrk if installed)")
        parser.add_argument("--concurrency", type=int, help="connections (default: 2 x workers x threads, >= 8)")
        parser.add_argument("--duration", type=float, default=2.0, help="seconds per measured window")
        parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per configuration")
        parser.add_argument("--repeat", type=int, default=3, help="measured windows per configuration")
        parser.add_argument("--no-keepalive", action="store_true", help="a new connection per request (as ab)")
        parser.add_argument("--rate", type=float, help="constant rate in r/s (latency corrected for omission)")
        parser.add_argument("--header", action="append", metavar="'NAME: VALUE'", help="extra request header")
        parser.add_argument(
            "--pin", action="store_true", help="load generator on the last core, servers and nginx on the others"
        )
        parser.add_argument("--null-app", action="store_true", help="also run each server with the null app")
        parser.add_argument(
            "--database",
            choices=("project", "postgres"),
            default="project",
            help="the project's database (default) or, for the demo site, a throwaway PostgreSQL",
        )
        parser.add_argument("--login-as", metavar="USERNAME", help="send a session cookie of this existing user")
        parser.add_argument(
            "--allow-remote-backends",
            action="store_true",
            help="run although a database or cache of the project is on another machine (it gets loaded too)",
        )
        parser.add_argument("--strict", action="store_true", help="refuse to run when a preflight check warns")
        parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
        parser.add_argument(
            "--wide", action="store_true", help="every figure in the terminal's table (it fits 120 columns without)"
        )
        parser.add_argument(
            "--report",
            action="append",
            metavar="PATH",
            help="repeatable: write a report, its format by extension (.md, .csv, .html); '-': Markdown to stdout",
        )
        parser.add_argument(
            "--from",
            dest="from_json",
            metavar="RESULTS.json",
            help="render a saved result (its table and any --report) without measuring anything",
        )
        parser.add_argument(
            "--compare",
            nargs=2,
            metavar=("A.json", "B.json"),
            help="compare two saved results, B against A (faster, slower, not significant); runs nothing",
        )
        parser.add_argument(
            "--min-change", type=float, metavar="PCT", help="with --compare: a change under PCT %% is noise (5)"
        )
        parser.add_argument(
            "--fail-if-slower",
            type=float,
            metavar="PCT",
            help="with --compare: exit 1 when B is significantly slower than A by more than PCT %%",
        )
        parser.add_argument("--memcached", metavar="HOST:PORT", help="use this memcached instead of starting one")
        parser.add_argument(
            "--memcached-tcp",
            action="store_true",
            help="start servebench's memcached on a loopback TCP port (default: a unix socket only you can reach)",
        )
        parser.add_argument("--keep-run-dir", action="store_true", help="keep logs and configs of the run")
        parser.add_argument(
            "--no-timing",
            action="store_true",
            help="servers run the project's plain app, without the timing wrapper (no app figures)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plan = build_plan(options)  # every check that needs no process, before any starts
        except Refused as exc:
            raise CommandError(str(exc)) from None
        # '--report -': stdout carries the Markdown alone; the table and what was saved go to stderr.
        self._out = self.stderr if any(report.path is None for report in plan.reports) else self.stdout
        if plan.comparing is not None:
            self._compare(plan.comparing)
            return
        if plan.saved is not None:
            self._out.write(_saved_table(plan.saved, wide=plan.wide))
            self._write_reports(plan.saved, plan.reports)
            return
        jobs: dict[str, tuple[Job, Callable[[Suite], str]]] = {
            "view-cost": (self._view_cost, view_cost_table),
            "check": (self._check, check_table),
            "explain": (self._sweep, partial(explain_report, wide=plan.wide)),
            "sweep": (self._sweep, partial(sweep_table, wide=plan.wide)),
        }
        job, render = jobs[plan.job]
        self._paths = plan.result_paths
        self._failures: list[str] = []  # "label: why" of each configuration that failed
        self._warnings = self._preflight(plan) if plan.load is not None else []
        suite = self._run(job, plan)
        self._out.write(render(suite))
        self._save(suite, announce=True)
        self._write_reports(suite, plan.reports)
        failed = [check for check in suite.checks if not check.ok and not check.reason.startswith("not applicable")]
        if failed:
            raise CommandError(f"{len(failed)} of {len(suite.checks)} configurations failed; {self._failures[0]}")
        if suite.runs and all(run.quality == "failing" for run in suite.runs):
            raise CommandError(f"no valid result: every run failed; {self._failures[0]}")
        broken = [run for run in suite.runs if run.error]
        if broken:
            raise CommandError(
                f"{len(broken)} of {len(suite.runs)} configurations could not be measured; {self._failures[0]}"
            )

    def _compare(self, comparing: Comparing) -> None:
        result = compare(comparing.a, comparing.b, min_change_pct=comparing.min_change_pct)
        self.stdout.write(render_comparison(result))
        limit = comparing.fail_if_slower_pct
        if limit is not None and (slower := slower_beyond(result, limit)):
            raise CommandError(
                f"{len(slower)} configuration(s) significantly slower than before by more than {limit:g} %,"
                f" first {slower[0].key}"
            )

    def _write_reports(self, suite: Suite, reports: tuple[Report, ...]) -> None:
        for report in reports:
            text = RENDERERS[report.format](suite)
            if report.path is None:
                self.stdout.write(text, ending="")
                continue
            try:
                write_atomic(report.path, text, mode=0o644)
            except OSError as exc:
                raise CommandError(f"cannot write {report.path}: {exc.strerror}") from None
            self._out.write(f"wrote {report.path}")

    def _run(self, job: Job, plan: Plan) -> Suite:
        # What an earlier, killed servebench left running (its run directory records it).
        for message in reclaim_orphans():
            self._progress(message)
        run_dir = RunDir(keep=plan.keep_run_dir)
        try:
            with signals_raise(), Supervisor(run_dir.path) as supervisor:
                suite = job(supervisor, run_dir.path, plan)
            self._note_failures(suite)
            return suite
        except (JobError, StartFailed, LoadgenError, RuntimeError, ValueError, OverflowError) as exc:
            raise CommandError(str(exc).splitlines()[0] + self._kept()) from None
        except KeyboardInterrupt:
            raise CommandError(
                f"interrupted: every process servebench started was stopped{self._kept()}", returncode=130
            ) from None
        finally:
            run_dir.keep_logs = bool(self._failures)
            run_dir.cleanup()
            if plan.keep_run_dir:
                self.stderr.write(f"run directory kept: {run_dir.path}")
            elif self._failures:
                self.stderr.write(f"logs of the failing configurations kept in {run_dir.path}")

    def _view_cost(self, supervisor: Supervisor, run_dir: Path, plan: Plan) -> Suite:
        return view_cost_job(
            plan.targets,
            supervisor=supervisor,
            memcached_address=plan.memcached_address,
            memcached_transport=plan.memcached_transport,
            required=plan.services_required,
            progress=self._progress,
        )

    def _check(self, supervisor: Supervisor, run_dir: Path, plan: Plan) -> Suite:
        return check_job(plan.configs, supervisor=supervisor, run_dir=run_dir, progress=self._progress)

    def _sweep(self, supervisor: Supervisor, run_dir: Path, plan: Plan) -> Suite:
        assert plan.load is not None  # build_plan gives sweeps a load plan
        return sweep_job(
            plan.configs,
            plan.load,
            targets=plan.targets,
            supervisor=supervisor,
            run_dir=run_dir,
            memcached_address=plan.memcached_address,
            memcached_transport=plan.memcached_transport,
            progress=self._progress,
            on_suite=self._save,
            login_as=plan.login_as,
            preflight=self._warnings,
            database=plan.database,
            timing=plan.timing,
        )

    def _preflight(self, plan: Plan) -> list[dict[str, str]]:
        """The project's settings that would make the figures lie or cap them, said before the sweep."""
        warnings = preflight(workers=plan.max_workers)
        for warning in warnings:
            self.stderr.write(self.style.WARNING(f"{warning['id']}: {warning['msg']} (fix: {warning['hint']})"))
        if plan.strict and warnings:
            raise CommandError(f"--strict: {len(warnings)} preflight warning(s), first {warnings[0]['id']}")
        return warnings

    def _progress(self, message: str) -> None:
        sys.stderr.write(f"servebench: {message}\n")
        sys.stderr.flush()

    def _kept(self) -> str:
        saved = [path for path in self._paths if path.exists()]
        return f"; what finished is in {saved[0]}" if saved else ""

    def _note_failures(self, suite: Suite) -> None:
        """'label: why' of each configuration that failed: their logs are kept, the first is the exit line."""
        self._failures = [_why_failed(run) for run in suite.runs if run.quality == "failing"]
        self._failures += [
            f"{check.label}: {check.reason.splitlines()[0]}"
            for check in suite.checks
            if not check.ok and not check.reason.startswith("not applicable")
        ]

    def _save(self, suite: Suite, *, announce: bool = False) -> None:
        self._note_failures(suite)
        for path in self._paths:
            try:
                suite.dump(path)
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {exc.strerror}") from None
            if announce:
                self._out.write(f"saved {path}")
