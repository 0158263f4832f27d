"""Each input checked on its own, before anything starts: numbers, the URL, headers, output paths,
the settings' backends, and the bounds of this machine (memory, threads, open files).

Nothing here starts a process, opens a socket or connects to a database. A refusal is one
line that names the option and why; a bound taken from this machine says which limit.
"""

from __future__ import annotations

import math
import os
import re
import resource
import stat
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from ..bench.judge.pairs import MIN_PAIRS
from ..bench.loadgen.plan import LoadPlan
from ..bench.processes.files import UnsafeTarget, refuse_non_regular
from ..bench.servers.argv import NGINX_WORKER_CONNECTIONS, nginx_open_files_limit
from ..bench.servers.kinds import ServerConfig, parse_address
from ..conf import get_config, results_dir
from ..job import project

# Bounds that no machine changes: past them a value is a typo, not a benchmark.
MAX_WINDOW_S = 3600.0  # --duration and --warmup: an hour per window
MAX_REPEAT = 100
MAX_RATE = 1_000_000.0  # r/s: far above what one loopback client sends
MAX_INSTRUMENT_PAIRS = 50  # --instrument-pairs: 100 windows per kind is already minutes
MAX_URL_CHARS = 8000  # nginx's default large header buffer is 8 KB for the whole request line
# A worker of a small Django project holds at least this much of its own (USS; the demo's
# gunicorn sync worker: ~20 MB): the lower bound is what refuses, so a refusal is certain.
WORKER_BYTES = 15 * 2**20
# Descriptors the load generator needs besides one per connection (Python, epoll, pipes, logs).
FD_RESERVE = 64
# nginx holds two per proxied connection (the client's, the upstream's) besides at least these of
# its own: the listening socket, its logs, epoll, the channel to its master.
NGINX_FD_RESERVE = 16
# Headers servebench writes itself: a second one would make the request invalid or contradict an option.
OWN_HEADERS = {"host": "the Host the project accepts", "connection": "--no-keepalive"}
OWN_HEADERS |= {"content-length": "a GET without a body", "transfer-encoding": "a GET without a body"}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: what a header name may be


class Refused(ValueError):
    """Bad input: its message is the one line the user sees."""


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _finite(value: float, option: str, *, low: float, high: float, low_ok: bool) -> None:
    if not math.isfinite(value):
        raise Refused(f"{option} takes a number of seconds, not {value}")
    if value < low or (value == low and not low_ok) or value > high:
        above = f"at least {low:g}" if low_ok else f"above {low:g}"
        raise Refused(f"{option} must be {above} and at most {high:g}, not {value:g}")


def check_numbers(options: Mapping[str, Any]) -> None:
    _finite(options["duration"], "--duration", low=0.0, high=MAX_WINDOW_S, low_ok=False)
    _finite(options["warmup"], "--warmup", low=0.0, high=MAX_WINDOW_S, low_ok=True)
    if not 1 <= options["repeat"] <= MAX_REPEAT:
        raise Refused(f"--repeat must be between 1 and {MAX_REPEAT}, not {options['repeat']}")
    most = options.get("max_repeat")
    if most is not None and not options["repeat"] <= most <= MAX_REPEAT:
        raise Refused(f"--max-repeat must be between --repeat ({options['repeat']}) and {MAX_REPEAT}, not {most}")
    if options["threads"] < 1:
        raise Refused(f"--threads must be at least 1, not {options['threads']}")
    pairs = options.get("instrument_pairs") or 0
    if pairs and not MIN_PAIRS <= pairs <= MAX_INSTRUMENT_PAIRS:
        raise Refused(
            f"--instrument-pairs must be between {MIN_PAIRS} (a 95 % interval needs them) and {MAX_INSTRUMENT_PAIRS},"
            f" not {pairs}"
        )
    if pairs and options.get("no_timing"):
        raise Refused("--instrument-pairs measures the timing wrapper: not with --no-timing")
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


def checked_url(url: str) -> str:
    # '//host/x' is a path to a server but a host to a URL parser (urlsplit, t0's replay): refused as a host.
    if not url.startswith("/") or url.startswith("//"):
        raise Refused(
            f"--url takes a path of this project such as /probes/trivial/, not {url!r}:"
            " servebench only ever loads servers it started on this machine"
            + (" ('//' starts a host name)" if url.startswith("//") else "")
        )
    if (bad := _bad_character(url.replace(" ", "%20"))) is not None:
        raise Refused(f"--url may not contain {bad} (percent-encode it): {url!r}")
    if " " in url:
        raise Refused(f"--url may not contain a space (percent-encode it: %20): {url!r}")
    if len(url) > MAX_URL_CHARS:
        raise Refused(f"--url is {len(url)} characters long; servers refuse request lines above ~{MAX_URL_CHARS}")
    return url


def checked_header(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        raise Refused(f"--header takes 'Name: value', not {raw!r}")
    if not _TOKEN.fullmatch(name):
        raise Refused(f"--header: {name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)")
    if (bad := _bad_character(value.replace("\t", " "))) is not None:
        raise Refused(f"--header {name}: the value may not contain {bad}")
    if len(value) > MAX_URL_CHARS:
        # Django and the servers refuse it with a 400 that would be blamed on something else.
        raise Refused(
            f"--header {name}: the value is {len(value)} characters long; servers refuse header lines above"
            f" ~{MAX_URL_CHARS}"
        )
    if (owner := OWN_HEADERS.get(name.lower())) is not None:
        raise Refused(f"--header {name}: servebench sets it itself ({owner})")
    return name, value


def check_machine(configs: Sequence[ServerConfig], load: LoadPlan | None, levels: Sequence[int] = ()) -> None:
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
    connections = max([connections, *levels])
    if any(config.front == "nginx" for config in configs) and 2 * connections > NGINX_WORKER_CONNECTIONS:
        raise Refused(
            f"--concurrency {connections}: behind nginx each connection holds two of its worker's"
            f" {NGINX_WORKER_CONNECTIONS} connections; at most {NGINX_WORKER_CONNECTIONS // 2}, or --front direct"
        )
    option = "--concurrency" if load.concurrency or levels else "the default concurrency (2 x workers x threads)"
    _check_open_files(option, connections, nginx=any(config.front == "nginx" for config in configs))


def _check_open_files(option: str, connections: int, *, nginx: bool) -> None:
    """Every process servebench starts inherits its RLIMIT_NOFILE: the load generator, the servers' workers
    (one may hold every connection: threads, asyncio) and nginx (unless its configuration sets
    worker_rlimit_nofile) must each fit under it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return
    limit = f"the limit is {soft} (ulimit -n, which every process servebench starts inherits; the hard limit is {hard})"
    if connections + FD_RESERVE > soft:
        raise Refused(
            f"{option} {connections}: the load generator needs {connections + FD_RESERVE} open files"
            f" (a server's worker up to as many), and {limit}"
        )
    if nginx and (needed := 2 * connections + NGINX_FD_RESERVE) > (nginx_limit := nginx_open_files_limit(soft)):
        where = limit if nginx_limit == soft else f"its worker_rlimit_nofile is {nginx_limit}"
        raise Refused(
            f"{option} {connections}: behind nginx each connection holds 2 of nginx's open files,"
            f" at least {needed} with its own, and {where}; or --front direct"
        )


def _task_limit() -> int:
    """Processes and threads this user may have: RLIMIT_NPROC, else the kernel's threads-max."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    try:
        kernel = int(Path("/proc/sys/kernel/threads-max").read_text())
    except (OSError, ValueError):
        kernel = 32768
    return kernel if soft == resource.RLIM_INFINITY else min(soft, kernel)


def check_memcached(options: Mapping[str, Any]) -> None:
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


def check_database(options: Mapping[str, Any], load: LoadPlan | None) -> None:
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


def results_path(job: str) -> Path:
    """Where this run's results go in RESULTS_DIR, created now: a directory that cannot be is refused.

    The name is unique to this run: the time to the millisecond and the pid (two runs started in
    the same second in one directory each keep their own file; the job's first save never
    replaces a file it did not write, job/run.py).
    """
    directory = results_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Refused(f"RESULTS_DIR {directory}: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise Refused(f"RESULTS_DIR {directory}: this user cannot write in it")
    now = datetime.now()
    stamp = f"{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}-{os.getpid()}"
    return directory / f"{job}-{stamp}.json"


def output_path(text: str, option: str) -> Path:
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
