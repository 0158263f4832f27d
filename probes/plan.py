"""The command's arguments, checked and turned into one frozen Plan before anything starts.

Nothing here starts a process, opens a socket or connects to a database: bad input is
refused in milliseconds, in one line that names the option and why. A bound taken from
this machine (open files, memory, threads) says which limit it comes from. What is left
to fail later needs the servers themselves (a view that breaks, a port taken meanwhile).
"""

from __future__ import annotations

import math
import os
import re
import resource
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from django.core.exceptions import ImproperlyConfigured

from . import project
from .backends import remote_backends
from .bench.files import UnsafeTarget, refuse_non_regular
from .bench.frontends import nginx_binary
from .bench.loadgen import LoadgenError, LoadSpec
from .bench.loadgen.adapters import check_supported
from .bench.model import FormatError, Suite
from .bench.runner import LoadPlan, default_generator
from .bench.servers import KINDS, ServerConfig, build_matrix, get_kind
from .bench.services import parse_address
from .catalog import PROBES, Probe, get_probe
from .conf import get_config, results_dir
from .jobs import Target
from .report.compare import CompareError, load_for_compare

DEFAULT_WORKERS = {"check": "2", "sweep": "1,4", "explain": "1,2,4"}
# --explain: a focused sweep of one or two server kinds.
EXPLAIN_KINDS = ("gunicorn", "uwsgi")

# Bounds that no machine changes: past them a value is a typo, not a benchmark.
MAX_WINDOW_S = 3600.0  # --duration and --warmup: an hour per window
MAX_REPEAT = 100
MAX_RATE = 1_000_000.0  # r/s: far above what one loopback client sends
MAX_URL_CHARS = 8000  # nginx's default large header buffer is 8 KB for the whole request line
# A worker of a small Django project holds at least this much of its own (USS; the demo's
# gunicorn sync worker: ~20 MB): the lower bound is what refuses, so a refusal is certain.
WORKER_BYTES = 15 * 2**20
# Descriptors the load generator needs besides one per connection (Python, epoll, pipes, logs).
FD_RESERVE = 64
# Headers servebench writes itself: a second one would make the request invalid or contradict an option.
OWN_HEADERS = {"host": "the Host the project accepts", "connection": "--no-keepalive"}
OWN_HEADERS |= {"content-length": "a GET without a body", "transfer-encoding": "a GET without a body"}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: what a header name may be


REPORT_FORMATS = {".md": "markdown", ".csv": "csv", ".html": "html"}


class Refused(ValueError):
    """Bad input: its message is the one line the user sees."""


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
    timing: bool = True
    strict: bool = False
    keep_run_dir: bool = False
    reports: tuple[Report, ...] = ()
    saved: Suite | None = None  # --from: the result to render; nothing is measured
    comparing: Comparing | None = None  # --compare: nothing is measured
    wide: bool = False  # every figure in the terminal's table

    @property
    def max_workers(self) -> int:
        return max((config.workers for config in self.configs), default=1)


def build_plan(options: Mapping[str, Any]) -> Plan:
    """The Plan of the command's parsed options; Refused (one line) for anything that cannot run."""
    reports = tuple(_report(text) for text in options.get("report") or [])
    if options.get("compare"):
        return _compare_plan(options, reports)
    for name in ("min_change", "fail_if_slower"):
        if options.get(name) is not None:
            raise Refused(f"--{name.replace('_', '-')} goes with --compare A.json B.json")
    if options.get("from_json") is not None:
        return _render_plan(options, reports)
    job = _job(options)
    if reports and job in ("check", "view-cost"):
        raise Refused(f"--report needs configurations under load: --{job} measures none")
    _check_numbers(options)
    _check_memcached(options)
    headers = tuple(_header(raw) for raw in options["header"] or [])
    try:
        # The settings servebench reads, at once: unknown SERVEBENCH keys, a cache or
        # database it cannot place are refused here.
        get_config()
        host = project.host_header()
        remote = remote_backends(memcached=options["memcached"])
    except (ValueError, TypeError, LookupError, ImproperlyConfigured) as exc:
        raise Refused(f"settings: {_first_line(exc)}") from None
    if remote and not options["allow_remote_backends"]:
        raise Refused(
            f"refusing to run: {', '.join(remote)} is not on this machine (or servebench cannot tell where it"
            " is), and servebench would load-test shared infrastructure (--allow-remote-backends to do it anyway)"
        )
    targets = _targets(options, job)
    configs = _configs(options, job)
    load = _load_plan(options, targets[0].path, host, headers) if job in ("sweep", "explain") else None
    _check_machine(configs, load)
    _check_database(options, load)
    json_path = _output_path(options["json"], "--json") if options["json"] is not None else None
    try:
        results = _results_path(job)  # last: it creates RESULTS_DIR
    except (ValueError, TypeError) as exc:
        raise Refused(f"settings: {_first_line(exc)}") from None
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
        timing=not options["no_timing"],
        strict=options["strict"],
        keep_run_dir=options["keep_run_dir"],
        reports=reports,
        wide=bool(options.get("wide")),
    )


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
        raise Refused(f"--from {text}: {_first_line(exc).removeprefix(f'{path}: ')}") from None
    except OSError as exc:
        raise Refused(f"--from {text}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise Refused(f"--from {text}: not JSON (not UTF-8 text)") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # servebench/1 on the label, but not its shape (edited, truncated, another tool's file).
        raise Refused(f"--from {text}: not a servebench result ({type(exc).__name__}: {_first_line(exc)})") from None


def _report(text: str) -> Report:
    """--report PATH: '-' is Markdown on stdout; otherwise the extension says the format."""
    if text == "-":
        return Report("markdown", None)
    suffix = Path(text).suffix.lower()
    if suffix not in REPORT_FORMATS:
        known = ", ".join(REPORT_FORMATS)
        raise Refused(f"--report {text}: the extension says the format ({known}), or '-' for Markdown on stdout")
    return Report(REPORT_FORMATS[suffix], _output_path(text, "--report"))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _job(options: Mapping[str, Any]) -> str:
    if options["view_cost"]:
        return "view-cost"
    if options["check"]:
        return "check"
    return "explain" if options["explain"] else "sweep"


def _finite(value: float, option: str, *, low: float, high: float, low_ok: bool) -> None:
    if not math.isfinite(value):
        raise Refused(f"{option} takes a number of seconds, not {value}")
    if value < low or (value == low and not low_ok) or value > high:
        above = f"at least {low:g}" if low_ok else f"above {low:g}"
        raise Refused(f"{option} must be {above} and at most {high:g}, not {value:g}")


def _check_numbers(options: Mapping[str, Any]) -> None:
    _finite(options["duration"], "--duration", low=0.0, high=MAX_WINDOW_S, low_ok=False)
    _finite(options["warmup"], "--warmup", low=0.0, high=MAX_WINDOW_S, low_ok=True)
    if not 1 <= options["repeat"] <= MAX_REPEAT:
        raise Refused(f"--repeat must be between 1 and {MAX_REPEAT}, not {options['repeat']}")
    if options["threads"] < 1:
        raise Refused(f"--threads must be at least 1, not {options['threads']}")
    if options["concurrency"] is not None and options["concurrency"] < 1:
        raise Refused(f"--concurrency must be at least 1, not {options['concurrency']}")
    rate = options["rate"]
    if rate is not None and (not math.isfinite(rate) or not 0 < rate <= MAX_RATE):
        raise Refused(f"--rate takes requests per second above 0 and at most {MAX_RATE:,.0f}, not {rate:g}")


def positive_ints(text: str, option: str) -> list[int]:
    """'1,4' -> [1, 4]; Refused for anything else (an empty text included: it is not the default)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise Refused(f"{option} takes whole numbers separated by commas, not {text!r}") from None
    if not values or any(value < 1 for value in values):
        raise Refused(f"{option} must be whole numbers of at least 1, not {text!r}")
    return values


def _bad_character(text: str) -> str | None:
    """The first character that cannot go into a request line or header as it is, shown as repr."""
    for char in text:
        if not char.isascii() or not char.isprintable():
            return repr(char)
    return None


def _url(url: str) -> str:
    if not url.startswith("/"):
        raise Refused(
            f"--url takes a path of this project such as /probes/trivial/, not {url!r}:"
            " servebench only ever loads servers it started on this machine"
        )
    if (bad := _bad_character(url.replace(" ", "%20"))) is not None:
        raise Refused(f"--url may not contain {bad} (percent-encode it): {url!r}")
    if " " in url:
        raise Refused(f"--url may not contain a space (percent-encode it: %20): {url!r}")
    if len(url) > MAX_URL_CHARS:
        raise Refused(f"--url is {len(url)} characters long; servers refuse request lines above ~{MAX_URL_CHARS}")
    return url


def _header(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        raise Refused(f"--header takes 'Name: value', not {raw!r}")
    if not _TOKEN.fullmatch(name):
        raise Refused(f"--header: {name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)")
    if (bad := _bad_character(value.replace("\t", " "))) is not None:
        raise Refused(f"--header {name}: the value may not contain {bad}")
    if (owner := OWN_HEADERS.get(name.lower())) is not None:
        raise Refused(f"--header {name}: servebench sets it itself ({owner})")
    return name, value


def _targets(options: Mapping[str, Any], job: str) -> tuple[Target, ...]:
    """What to measure: --url, or --probe (repeatable), or the default probes; --check loads nothing."""
    if job == "check":
        return ()
    try:
        probes = [get_probe(name) for name in options["probe"] or []]
    except LookupError as exc:
        raise Refused(exc.args[0]) from None
    if options["url"] is not None and probes:
        raise Refused("give --url or --probe, not both")
    if options["url"] is not None:
        targets = [Target(options["url"], _url(options["url"]))]
    else:
        default = list(PROBES) if job == "view-cost" else [get_probe("trivial")]
        targets = [Target(probe.name, _probe_path(probe), probe) for probe in probes or default]
    if job == "explain" and len(targets) > 1:
        raise Refused("--explain diagnoses one URL: give one --probe or --url")
    return tuple(targets)


def _probe_path(probe: Probe) -> str:
    try:
        return probe.path()
    except LookupError as exc:
        raise Refused(f"{exc.args[0]}, or give --url /a/path/of/yours/") from None


def _kinds(options: Mapping[str, Any], job: str) -> list[str]:
    if options["server"]:
        try:
            kinds = [get_kind(name) for name in options["server"]]
        except LookupError as exc:
            raise Refused(exc.args[0]) from None
        for kind in kinds:
            if reason := kind.missing():
                raise Refused(f"{kind.name} cannot run here: {reason}")
        return [kind.name for kind in kinds]
    runnable = [kind.name for kind in KINDS.values() if kind.missing() is None]
    if job == "explain":
        return [name for name in runnable if name in EXPLAIN_KINDS] or runnable[:1]
    return runnable


def _configs(options: Mapping[str, Any], job: str) -> tuple[ServerConfig, ...]:
    if job == "view-cost":
        return ()
    workers = options["workers"]
    counts = positive_ints(DEFAULT_WORKERS[job] if workers is None else workers, "--workers")
    default_fronts = ["nginx", "direct"] if job == "check" else ["nginx"]
    if not nginx_binary():
        default_fronts = ["direct"]
    fronts = options["front"] or default_fronts
    if "nginx" in fronts and not nginx_binary():
        raise Refused("--front nginx: nginx is not installed (Debian: apt-get install nginx)")
    kinds = _kinds(options, job)
    configs = build_matrix(
        kinds=kinds, workers=counts, fronts=fronts, sockets=options["socket"] or ["tcp"], threads=options["threads"]
    )
    if not configs:
        raise Refused("no configuration can run: FastCGI servers (flup) need --front nginx")
    if job == "check":
        configs += [ServerConfig(kind, 1, front=configs[0].front, app="null") for kind in kinds]
    elif options["null_app"]:
        configs += [replace(config, app="null") for config in configs]
    return tuple(configs)


def _load_plan(options: Mapping[str, Any], path: str, host: str, headers: tuple[tuple[str, str], ...]) -> LoadPlan:
    generator = options["loadgen"] or ("builtin" if options["rate"] is not None else default_generator())
    if options["rate"] is not None and generator != "builtin":
        raise Refused(f"--rate needs --loadgen builtin: {generator} cannot hold a constant rate")
    if options["login_as"] is not None and generator == "ab":
        raise Refused("--login-as: ab takes its cookie on its command line, where every local user can read it")
    load = LoadPlan(
        path=path,
        host_header=host,
        generator=generator,
        concurrency=options["concurrency"],
        duration_s=options["duration"],
        warmup_s=options["warmup"],
        repeat=options["repeat"],
        keepalive=not options["no_keepalive"],
        rate=options["rate"],
        headers=headers,
        pin=options["pin"],
    )
    try:
        # What the generator itself refuses (a missing binary, credentials on ab's command line).
        spec = LoadSpec(path=path, port=1, host_header=host, headers=headers, duration_s=load.duration_s)
        check_supported(spec, generator)
    except (ValueError, LoadgenError) as exc:
        raise Refused(f"--loadgen {generator}: {_first_line(exc)}") from None
    return load


def _check_machine(configs: Sequence[ServerConfig], load: LoadPlan | None) -> None:
    """Bounds from this machine: memory for the workers, threads the kernel allows, open files per connection."""
    if not configs:
        return
    workers = max(config.workers for config in configs)
    available = psutil.virtual_memory().available
    if workers * WORKER_BYTES > available:
        raise Refused(
            f"--workers {workers}: at ~{WORKER_BYTES / 2**20:.0f} MB each they need"
            f" {workers * WORKER_BYTES / 2**30:.1f} GB, and {available / 2**30:.1f} GB of memory is available"
        )
    tasks = max(config.workers * config.threads for config in configs)
    if tasks > (limit := _task_limit()):
        raise Refused(f"--workers x --threads is {tasks}: this machine allows {limit} processes and threads")
    if load is None:
        return
    connections = max(load.concurrency_for(config) for config in configs)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and connections + FD_RESERVE > soft:
        option = "--concurrency" if load.concurrency else "the default concurrency (2 x workers x threads)"
        raise Refused(
            f"{option} {connections}: the load generator needs {connections + FD_RESERVE} open files,"
            f" and the limit is {soft} (ulimit -n; the hard limit is {hard})"
        )


def _task_limit() -> int:
    """Processes and threads this user may have: RLIMIT_NPROC, else the kernel's threads-max."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    try:
        kernel = int(Path("/proc/sys/kernel/threads-max").read_text())
    except (OSError, ValueError):
        kernel = 32768
    return kernel if soft == resource.RLIM_INFINITY else min(soft, kernel)


def _check_memcached(options: Mapping[str, Any]) -> None:
    """--memcached HOST:PORT (where it is, decided with the other backends: an unroutable host would hang)."""
    if options["memcached"] is None:
        return
    if options["memcached_tcp"]:
        raise Refused("give --memcached HOST:PORT or --memcached-tcp, not both")
    try:
        _, port = parse_address(options["memcached"])
    except ValueError as exc:
        raise Refused(f"--memcached: {exc}") from None
    if not 0 < port < 65536:
        raise Refused(f"--memcached: port {port} is out of range")


def _check_database(options: Mapping[str, Any], load: LoadPlan | None) -> None:
    """--database and --login-as: decided from the settings alone, before anything connects."""
    if options["database"] == "postgres" and not get_config()["OWN_DATABASE"]:
        raise Refused("--database postgres is for the demo site: your project's own database is what it uses")
    login_as = options["login_as"]
    if login_as is None or load is None:
        return
    if not login_as.strip() or not login_as.isprintable():
        raise Refused(f"--login-as takes a username, not {login_as!r}")
    if options["database"] == "postgres":
        raise Refused("--login-as needs the project's own database: --database postgres starts an empty one")
    if project.owns_sqlite():
        raise Refused("--login-as needs the project's own database: the demo's are fresh copies without users")


def _results_path(job: str) -> Path:
    """Where this run's results go in RESULTS_DIR, created now: a directory that cannot be is refused."""
    directory = results_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Refused(f"RESULTS_DIR {directory}: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise Refused(f"RESULTS_DIR {directory}: this user cannot write in it")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return directory / f"{job}-{stamp}.json"


def _output_path(text: str, option: str) -> Path:
    """--json or --report PATH: a new or regular file in an existing directory this user may write in."""
    if not text or "\x00" in text:
        raise Refused(f"{option} takes a file name, not {text!r}")
    path = Path(text)
    if text.endswith(os.sep) or path.name in ("", ".", ".."):
        raise Refused(f"{option} {text}: that names a directory; give a file name such as {text.rstrip('/')}/x.json")
    try:
        refuse_non_regular(path)
    except UnsafeTarget as exc:
        raise Refused(f"{option} {text}: {exc.strerror}") from None
    except OSError as exc:  # ENOTDIR, ENAMETOOLONG, EACCES on the way
        raise Refused(f"{option} {text}: {exc.strerror}") from None
    parent = path.parent
    try:
        info = os.stat(parent)
    except OSError as exc:
        raise Refused(f"{option} {text}: its directory {parent} cannot be used ({exc.strerror})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise Refused(f"{option} {text}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise Refused(f"{option} {text}: this user cannot write in {parent}")
    return path
