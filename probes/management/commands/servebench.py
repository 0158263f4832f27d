"""manage.py servebench: measure what the server costs, what the view costs, and why a view caps."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...bench.frontends import nginx_binary
from ...bench.model import Suite
from ...bench.rundir import RunDir
from ...bench.servers import KINDS, ServerConfig, build_matrix, get_kind
from ...bench.supervisor import StartFailed, Supervisor, signals_raise
from ...catalog import PROBES, get_probe
from ...conf import results_dir
from ...jobs import JobError, check_job, view_cost_job
from ...report.text import check_table, view_cost_table

DEFAULT_CHECK_WORKERS = "2"


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--workers takes whole numbers separated by commas, not {text!r}") from None
    if not values or any(value < 1 for value in values):
        raise CommandError(f"--workers must be whole numbers of at least 1, not {text!r}")
    return values


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
            "--check",
            action="store_true",
            help="bring every configuration up, request it through the full path, tear it down",
        )
        names = ", ".join(p.name for p in PROBES)
        parser.add_argument("--probe", action="append", metavar="NAME", help=f"a probe (repeatable): {names}")
        parser.add_argument(
            "--server", action="append", metavar="KIND", help=f"repeatable: {', '.join(KINDS)}"
        )
        parser.add_argument("--workers", metavar="N,N", help="worker counts, e.g. 1,2,5,10")
        parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn-gthread worker")
        parser.add_argument("--front", action="append", choices=("nginx", "direct"), help="repeatable")
        parser.add_argument(
            "--socket", action="append", choices=("tcp", "unix"), help="upstream behind nginx"
        )
        parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
        parser.add_argument(
            "--memcached", metavar="HOST:PORT", help="use this memcached instead of starting one"
        )
        parser.add_argument("--keep-run-dir", action="store_true", help="keep logs and configs of the run")

    def handle(self, *args: Any, **options: Any) -> None:
        job: Callable[[Supervisor, Path, dict[str, Any]], Suite]
        render: Callable[[Suite], str]
        if options["check"]:
            job, render = self._check, check_table
        else:  # the default job until the sweep exists
            job, render = self._view_cost, view_cost_table
        suite = self._run(job, options)
        self.stdout.write(render(suite))
        self._save(suite, options["json"])
        failed = [
            check for check in suite.checks if not check.ok and not check.reason.startswith("not applicable")
        ]
        if failed:
            raise CommandError(f"{len(failed)} of {len(suite.checks)} configurations failed")

    def _run(
        self, job: Callable[[Supervisor, Path, dict[str, Any]], Suite], options: dict[str, Any]
    ) -> Suite:
        run_dir = RunDir(keep=options["keep_run_dir"])
        try:
            with signals_raise(), Supervisor(run_dir.path) as supervisor:
                return job(supervisor, run_dir.path, options)
        except (JobError, StartFailed, RuntimeError) as exc:
            raise CommandError(str(exc).splitlines()[0]) from None
        except KeyboardInterrupt:
            raise CommandError(
                "interrupted: every process servebench started was stopped", returncode=130
            ) from None
        finally:
            run_dir.cleanup()
            if options["keep_run_dir"]:
                self.stderr.write(f"run directory kept: {run_dir.path}")

    def _view_cost(self, supervisor: Supervisor, run_dir: Path, options: dict[str, Any]) -> Suite:
        try:
            probes = [get_probe(name) for name in options["probe"]] if options["probe"] else list(PROBES)
        except LookupError as exc:
            raise CommandError(exc.args[0]) from None
        return view_cost_job(
            probes,
            supervisor=supervisor,
            memcached_address=options["memcached"],
            required=bool(options["probe"]),
            progress=self._progress,
        )

    def _check(self, supervisor: Supervisor, run_dir: Path, options: dict[str, Any]) -> Suite:
        configs = self._matrix(options)
        configs += [
            ServerConfig(kind, 1, front=configs[0].front, app="null") for kind in self._kinds(options)
        ]
        return check_job(configs, supervisor=supervisor, run_dir=run_dir, progress=self._progress)

    def _kinds(self, options: dict[str, Any]) -> list[str]:
        if options["server"]:
            try:
                return [get_kind(name).name for name in options["server"]]
            except LookupError as exc:
                raise CommandError(exc.args[0]) from None
        return [kind.name for kind in KINDS.values() if kind.missing() is None]

    def _matrix(self, options: dict[str, Any]) -> list[ServerConfig]:
        fronts = options["front"] or (["nginx", "direct"] if nginx_binary() else ["direct"])
        if "nginx" in fronts and not nginx_binary():
            raise CommandError("--front nginx: nginx is not installed (Debian: apt-get install nginx)")
        configs = build_matrix(
            kinds=self._kinds(options),
            workers=_positive_ints(options["workers"] or DEFAULT_CHECK_WORKERS),
            fronts=fronts,
            sockets=options["socket"] or ["tcp"],
            threads=options["threads"],
        )
        if not configs:
            raise CommandError("no configuration can run: FastCGI servers need --front nginx")
        return configs

    def _progress(self, message: str) -> None:
        sys.stderr.write(f"servebench: {message}\n")
        sys.stderr.flush()

    def _save(self, suite: Suite, json_path: str | None) -> None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        kind = "check" if suite.checks else "view-cost"
        paths = [results_dir() / f"{kind}-{stamp}.json"]
        if json_path:
            paths.append(Path(json_path))
        for path in paths:
            try:
                suite.dump(path)
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {exc.strerror}") from None
            self.stdout.write(f"saved {path}")
