"""manage.py servebench: measure what the server costs, what the view costs, and why a view caps."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...backends import remote_backends
from ...bench.frontends import nginx_binary
from ...bench.loadgen import GENERATORS, LoadgenError
from ...bench.model import Run, Suite
from ...bench.orphans import reclaim_orphans
from ...bench.rundir import RunDir
from ...bench.runner import LoadPlan, default_generator
from ...bench.servers import KINDS, ServerConfig, build_matrix, get_kind
from ...bench.supervisor import StartFailed, Supervisor, signals_raise
from ...catalog import PROBES, Probe, get_probe
from ...checks import preflight
from ...conf import results_dir
from ...harness import check_job
from ...jobs import JobError, Target, sweep_job, view_cost_job
from ...project import host_header
from ...report.text import check_table, explain_report, sweep_table, view_cost_table

DEFAULT_WORKERS = {"check": "2", "sweep": "1,4", "explain": "1,2,4"}
# --explain: a focused sweep of one or two server kinds.
EXPLAIN_KINDS = ("gunicorn", "uwsgi")
Job = Callable[[Supervisor, Path, dict[str, Any]], Suite]


def _positive_ints(text: str, option: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"{option} takes whole numbers separated by commas, not {text!r}") from None
    if not values or any(value < 1 for value in values):
        raise CommandError(f"{option} must be whole numbers of at least 1, not {text!r}")
    return values


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
        job: Job
        render: Callable[[Suite], str]
        if options["view_cost"]:
            job, render, kind = self._view_cost, view_cost_table, "view-cost"
        elif options["check"]:
            job, render, kind = self._check, check_table, "check"
        elif options["explain"]:
            job, render, kind = self._sweep, explain_report, "explain"
        else:
            job, render, kind = self._sweep, sweep_table, "sweep"
        self._paths = self._result_paths(kind, options["json"])
        self._failures: list[str] = []  # "label: why" of each configuration that failed
        # Before anything connects: --memcached on an unroutable host would hang, not fail.
        remote = remote_backends(memcached=options["memcached"])
        if remote and not options["allow_remote_backends"]:
            raise CommandError(
                f"refusing to run: {', '.join(remote)} is not on this machine (or servebench cannot tell where it"
                " is), and servebench would load-test shared infrastructure (--allow-remote-backends to do it anyway)"
            )
        suite = self._run(job, options)
        self.stdout.write(render(suite))
        self._save(suite, announce=True)
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

    def _run(self, job: Job, options: dict[str, Any]) -> Suite:
        # What an earlier, killed servebench left running (its run directory records it).
        for message in reclaim_orphans():
            self._progress(message)
        run_dir = RunDir(keep=options["keep_run_dir"])
        try:
            with signals_raise(), Supervisor(run_dir.path) as supervisor:
                suite = job(supervisor, run_dir.path, options)
            self._note_failures(suite)
            return suite
        except (JobError, StartFailed, LoadgenError, RuntimeError, ValueError) as exc:
            raise CommandError(str(exc).splitlines()[0] + self._kept()) from None
        except KeyboardInterrupt:
            raise CommandError(
                f"interrupted: every process servebench started was stopped{self._kept()}", returncode=130
            ) from None
        finally:
            run_dir.keep_logs = bool(self._failures)
            run_dir.cleanup()
            if options["keep_run_dir"]:
                self.stderr.write(f"run directory kept: {run_dir.path}")
            elif self._failures:
                self.stderr.write(f"logs of the failing configurations kept in {run_dir.path}")

    def _view_cost(self, supervisor: Supervisor, run_dir: Path, options: dict[str, Any]) -> Suite:
        return view_cost_job(
            self._targets(options, default=list(PROBES)),
            supervisor=supervisor,
            memcached_address=options["memcached"],
            memcached_transport="tcp" if options["memcached_tcp"] else "unix",
            required=bool(options["probe"]),
            progress=self._progress,
        )

    def _targets(self, options: dict[str, Any], *, default: list[Probe]) -> list[Target]:
        """What to measure: --url, or --probe (repeatable), or the default probes."""
        probes = self._probes(options)
        if options["url"] and probes:
            raise CommandError("give --url or --probe, not both")
        if options["url"]:
            return [Target(options["url"], self._url(options["url"]))]
        return [Target(probe.name, self._probe_path(probe), probe) for probe in probes or default]

    def _check(self, supervisor: Supervisor, run_dir: Path, options: dict[str, Any]) -> Suite:
        configs = self._matrix(options, "check")
        configs += [ServerConfig(kind, 1, front=configs[0].front, app="null") for kind in self._kinds(options)]
        return check_job(configs, supervisor=supervisor, run_dir=run_dir, progress=self._progress)

    def _sweep(self, supervisor: Supervisor, run_dir: Path, options: dict[str, Any]) -> Suite:
        targets = self._targets(options, default=[get_probe("trivial")])
        if options["explain"] and len(targets) > 1:
            raise CommandError("--explain diagnoses one URL: give one --probe or --url")
        job = "explain" if options["explain"] else "sweep"
        configs = self._matrix(options, job)
        if options["null_app"]:
            configs += [replace(config, app="null") for config in configs]
        warnings = self._preflight(max(config.workers for config in configs), strict=options["strict"])
        return sweep_job(
            configs,
            self._plan(targets[0].path, options),
            targets=targets,
            supervisor=supervisor,
            run_dir=run_dir,
            memcached_address=options["memcached"],
            memcached_transport="tcp" if options["memcached_tcp"] else "unix",
            progress=self._progress,
            on_suite=self._save,
            login_as=options["login_as"],
            preflight=warnings,
            database=options["database"],
            timing=not options["no_timing"],
        )

    def _preflight(self, workers: int, *, strict: bool) -> list[dict[str, str]]:
        """The project's settings that would make the figures lie or cap them, said before the sweep."""
        warnings = preflight(workers=workers)
        for warning in warnings:
            self.stderr.write(self.style.WARNING(f"{warning['id']}: {warning['msg']} (fix: {warning['hint']})"))
        if strict and warnings:
            raise CommandError(f"--strict: {len(warnings)} preflight warning(s), first {warnings[0]['id']}")
        return warnings

    def _plan(self, path: str, options: dict[str, Any]) -> LoadPlan:
        if options["duration"] <= 0 or options["warmup"] < 0 or options["repeat"] < 1:
            raise CommandError("--duration must be > 0, --warmup >= 0 and --repeat >= 1")
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        headers = []
        for raw in options["header"] or []:
            name, sep, value = raw.partition(":")
            if not sep or not name.strip():
                raise CommandError(f"--header takes 'Name: value', not {raw!r}")
            headers.append((name.strip(), value.strip()))
        return LoadPlan(
            path=path,
            host_header=host_header(),
            # wrk and ab cannot hold a constant rate: --rate takes the built-in generator.
            generator=options["loadgen"] or ("builtin" if options["rate"] else default_generator()),
            concurrency=options["concurrency"],
            duration_s=options["duration"],
            warmup_s=options["warmup"],
            repeat=options["repeat"],
            keepalive=not options["no_keepalive"],
            rate=options["rate"],
            headers=tuple(headers),
            pin=options["pin"],
        )

    def _url(self, url: str) -> str:
        if not url.startswith("/"):
            raise CommandError(
                f"--url takes a path of this project such as /probes/trivial/, not {url!r}:"
                " servebench only ever loads servers it started on this machine"
            )
        return url

    def _probes(self, options: dict[str, Any]) -> list[Probe]:
        try:
            return [get_probe(name) for name in options["probe"] or []]
        except LookupError as exc:
            raise CommandError(exc.args[0]) from None

    def _probe_path(self, probe: Probe) -> str:
        try:
            return probe.path()
        except LookupError as exc:
            raise CommandError(f"{exc.args[0]}, or give --url /a/path/of/yours/") from None

    def _kinds(self, options: dict[str, Any], job: str = "sweep") -> list[str]:
        if options["server"]:
            try:
                kinds = [get_kind(name) for name in options["server"]]
            except LookupError as exc:
                raise CommandError(exc.args[0]) from None
            for kind in kinds:
                if reason := kind.missing():
                    raise CommandError(f"{kind.name} cannot run here: {reason}")
            return [kind.name for kind in kinds]
        runnable = [kind.name for kind in KINDS.values() if kind.missing() is None]
        if job == "explain":
            return [name for name in runnable if name in EXPLAIN_KINDS] or runnable[:1]
        return runnable

    def _matrix(self, options: dict[str, Any], job: str) -> list[ServerConfig]:
        if options["threads"] < 1:
            raise CommandError("--threads must be at least 1")
        default_fronts = ["nginx", "direct"] if job == "check" else ["nginx"]
        if not nginx_binary():
            default_fronts = ["direct"]
        fronts = options["front"] or default_fronts
        if "nginx" in fronts and not nginx_binary():
            raise CommandError("--front nginx: nginx is not installed (Debian: apt-get install nginx)")
        configs = build_matrix(
            kinds=self._kinds(options, job),
            workers=_positive_ints(options["workers"] or DEFAULT_WORKERS[job], "--workers"),
            fronts=fronts,
            sockets=options["socket"] or ["tcp"],
            threads=options["threads"],
        )
        if not configs:
            raise CommandError("no configuration can run: FastCGI servers (flup) need --front nginx")
        return configs

    def _progress(self, message: str) -> None:
        sys.stderr.write(f"servebench: {message}\n")
        sys.stderr.flush()

    def _result_paths(self, kind: str, json_path: str | None) -> list[Path]:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return [results_dir() / f"{kind}-{stamp}.json", *([Path(json_path)] if json_path else [])]

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
                self.stdout.write(f"saved {path}")
