"""manage.py servebench: measure what the server costs, what the view costs, and why a view caps."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...bench.model import Suite
from ...bench.rundir import RunDir
from ...bench.supervisor import StartFailed, Supervisor, signals_raise
from ...catalog import PROBES, get_probe
from ...conf import results_dir
from ...jobs import JobError, view_cost_job
from ...report.text import view_cost_table


class Command(BaseCommand):
    help = "Start real WSGI servers, load them, and say what the server and the view cost."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--view-cost",
            action="store_true",
            help="measure each probe view in-process (no server): the floor of every later figure",
        )
        parser.add_argument(
            "--probe",
            action="append",
            metavar="NAME",
            help=f"a probe to measure (repeatable): {', '.join(p.name for p in PROBES)}",
        )
        parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
        parser.add_argument(
            "--memcached", metavar="HOST:PORT", help="use this memcached instead of starting one"
        )
        parser.add_argument("--keep-run-dir", action="store_true", help="keep logs and configs of the run")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            probes = [get_probe(name) for name in options["probe"]] if options["probe"] else list(PROBES)
        except LookupError as exc:
            raise CommandError(exc.args[0]) from None
        suite = self._run(probes, options)
        self.stdout.write(view_cost_table(suite))
        self._save(suite, options["json"])

    def _run(self, probes: list[Any], options: dict[str, Any]) -> Suite:
        run_dir = RunDir(keep=options["keep_run_dir"])
        try:
            with signals_raise(), Supervisor(run_dir.path) as supervisor:
                return view_cost_job(
                    probes,
                    supervisor=supervisor,
                    memcached_address=options["memcached"],
                    required=bool(options["probe"]),
                    progress=self._progress,
                )
        except (JobError, StartFailed) as exc:
            raise CommandError(str(exc)) from None
        finally:
            run_dir.cleanup()

    def _progress(self, message: str) -> None:
        sys.stderr.write(f"servebench: {message}\n")

    def _save(self, suite: Suite, json_path: str | None) -> None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        paths = [results_dir() / f"view-cost-{stamp}.json"]
        if json_path:
            paths.append(Path(json_path))
        for path in paths:
            try:
                suite.dump(path)
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {exc.strerror}") from None
            self.stdout.write(f"saved {path}")
