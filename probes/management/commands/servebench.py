"""manage.py servebench: measure what the server costs, what the view costs, and why a view caps.

Thin: arguments -> one frozen Plan (plan.build_plan) -> one job (job.run.run_job) -> reporters.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...bench.judge.pairs import gate_fails
from ...bench.judge.wording.pairs import gate_line
from ...bench.model.results import Suite
from ...bench.processes.files import write_atomic
from ...cli.arguments import add_arguments, recorded_command
from ...cli.plan import Plan, Refused, build_plan
from ...job.run import Interrupted, JobError, exit_line, run_job
from ...report import RENDERERS, terminal_report
from ...report.compare import compare, nothing_in_common, render_comparison, slower_beyond


class Command(BaseCommand):
    help = "Start real WSGI servers, load them, and say what the server and the view cost."
    argv: list[str] | None = None  # as typed after `manage.py` (None: call_command)

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def run_from_argv(self, argv: list[str]) -> None:
        self.argv = argv[1:]
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        command = recorded_command(self.argv) if self.argv else ()
        try:
            plan = build_plan(options, command=command)  # every check that needs no process, before any starts
        except Refused as exc:
            raise CommandError(str(exc)) from None
        # '--report -': stdout carries the Markdown alone; the table and what was saved go to stderr.
        out = self.stderr if any(report.path is None for report in plan.reports) else self.stdout
        if plan.comparing is not None:
            self._compare(plan)
            return
        if plan.saved is not None:
            out.write(terminal_report(plan.saved, job="render", wide=plan.wide))
            self._write_reports(plan.saved, plan, out)
            return
        try:
            finished = run_job(plan, progress=self._progress, warn=self._warn)
        except Interrupted as exc:
            raise CommandError(str(exc), returncode=130) from None
        except JobError as exc:
            raise CommandError(str(exc)) from None
        suite = finished.suite
        out.write(terminal_report(suite, job=plan.job, wide=plan.wide))
        for path in finished.saved:
            out.write(f"saved {path}")
        self._write_reports(suite, plan, out)
        if (line := exit_line(suite)) is not None:
            raise CommandError(line)
        limit = plan.against.fail_if_slower_pct if plan.against is not None else None
        if (slower := gate_fails(suite, limit)) is not None and limit is not None:  # --against*'s CI gate
            raise CommandError(gate_line(slower, limit))

    def _compare(self, plan: Plan) -> None:
        comparing = plan.comparing
        assert comparing is not None
        result = compare(comparing.a, comparing.b, min_change_pct=comparing.min_change_pct)
        if not result.pairs:  # nothing was compared: not a result, whatever the two files hold
            raise CommandError(nothing_in_common(result))
        self.stdout.write(render_comparison(result))
        limit = comparing.fail_if_slower_pct
        if limit is not None and (slower := slower_beyond(result, limit)):
            raise CommandError(
                f"{len(slower)} configuration(s) significantly slower than before by more than {limit:g} %,"
                f" first {slower[0].key}"
            )

    def _write_reports(self, suite: Suite, plan: Plan, out: Any) -> None:
        for report in plan.reports:
            text = RENDERERS[report.format](suite)
            if report.path is None:
                self.stdout.write(text, ending="")
                continue
            try:
                write_atomic(report.path, text, mode=0o644)
            except OSError as exc:
                raise CommandError(f"cannot write {report.path}: {exc.strerror}") from None
            out.write(f"wrote {report.path}")

    def _progress(self, message: str) -> None:
        sys.stderr.write(f"servebench: {message}\n")
        sys.stderr.flush()

    def _warn(self, message: str) -> None:
        self.stderr.write(self.style.WARNING(message))
