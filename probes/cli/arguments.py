"""The command's options: the one table of what servebench accepts (checked in plan.build_plan)."""

from __future__ import annotations

from argparse import ArgumentParser

from ..bench.loadgen.model import GENERATORS
from ..bench.loadgen.plan import DEFAULT_DURATION_S
from ..bench.servers.kinds import KINDS
from ..catalog import PROBES
from .against import add_against_arguments
from .clients import add_client_arguments
from .locust import add_locust_arguments

# Options whose values may carry a secret: the command line servebench records shows their name only.
SECRET_VALUES = ("--header",)
# Options whose whole value may be a secret (a body with a token or a password): recorded as "…".
SECRET_WHOLE_VALUES = ("--data",)


def add_arguments(parser: ArgumentParser) -> None:
    """Every option of `manage.py servebench`, in the order --help shows them."""
    _targets(parser)
    _servers(parser)
    _load(parser)
    add_client_arguments(parser)
    add_against_arguments(parser)
    add_locust_arguments(parser)
    _project(parser)
    _output(parser)
    _run(parser)


def _targets(parser: ArgumentParser) -> None:
    """The job (sweep, --explain, --check, --view-cost) and what it measures: probes or a URL."""
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


def _servers(parser: ArgumentParser) -> None:
    """The server configurations: kinds, workers, threads, fronts, sockets."""
    parser.add_argument("--server", action="append", metavar="KIND", help=f"repeatable: {', '.join(KINDS)}")
    parser.add_argument("--workers", metavar="N,N", help="worker counts (default: 1,4; --check: 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn-gthread worker")
    parser.add_argument("--front", action="append", choices=("nginx", "direct"), help="repeatable")
    parser.add_argument("--socket", action="append", choices=("tcp", "unix"), help="upstream behind nginx")


def _load(parser: ArgumentParser) -> None:
    """The load: generator, connections, windows, rate, headers, pinning, profiling."""
    parser.add_argument("--loadgen", choices=GENERATORS, help="load generator (default: wrk if installed)")
    parser.add_argument(
        "--concurrency",
        metavar="N,N",
        help="connections; a list (1,2,4,8,16) runs each level as a configuration and finds the knee"
        " (default: 2 x workers x threads, at least 8)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        help="the least seconds per measured window; longer until it completes max(200, 25 x connections)"
        " requests, at most 10 x this",
    )
    parser.add_argument(
        "--warmup", type=float, default=0.5, help="the least seconds of warm-up per configuration (sized as a window)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="the least measured windows per configuration; more, up to --max-repeat, until the median r/s is"
        " known to ±3 %%",
    )
    parser.add_argument(
        "--max-repeat",
        type=int,
        metavar="N",
        help="the most windows per configuration, those set aside as shared included (default: 5; --repeat N"
        " --max-repeat N measures exactly N)",
    )
    parser.add_argument("--no-keepalive", action="store_true", help="a new connection per request (as ab)")
    parser.add_argument("--rate", type=float, help="constant rate in r/s (latency corrected for omission)")
    parser.add_argument("--header", action="append", metavar="'NAME: VALUE'", help="extra request header")
    _request(parser)
    parser.add_argument(
        "--pin", action="store_true", help="load generator on the last core, servers and nginx on the others"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one more window per configuration with py-spy attached: the top functions, a flame graph",
    )
    parser.add_argument("--null-app", action="store_true", help="also run each server with the null app")
    parser.add_argument(
        "--instrument-pairs",
        type=int,
        default=0,
        metavar="N",
        help="before the sweep, N interleaved pairs of a timed and a plain server on the first configuration of"
        " each kind: the timing wrapper's cost where it runs (at least 6; default 0: in-process only)",
    )


def _request(parser: ArgumentParser) -> None:
    """What each request is beyond a GET: method, body, its type; or a weighted mix of requests."""
    parser.add_argument("--method", metavar="METHOD", help="the request's method (default GET; POST with a body)")
    parser.add_argument("--data", metavar="STRING", help="the request's body (POST unless --method says otherwise)")
    parser.add_argument("--body", metavar="@FILE", help="the request's body, read from FILE (at most 1 MB)")
    parser.add_argument(
        "--content-type", metavar="TYPE", help="the body's media type (default application/x-www-form-urlencoded)"
    )
    parser.add_argument(
        "--urls",
        metavar="FILE",
        help="a weighted mix instead of --url: one request a line, 'weight METHOD path [body]' (body: text or @FILE)",
    )


def _project(parser: ArgumentParser) -> None:
    """What the project runs against: its database, a user, remote backends, preflight."""
    parser.add_argument(
        "--database",
        choices=("project", "postgres"),
        default="project",
        help="the project's database (default) or, for the demo site, a throwaway PostgreSQL",
    )
    parser.add_argument("--login-as", metavar="USERNAME", help="send a session cookie of this existing user")
    parser.add_argument(
        "--db-copy",
        action="store_true",
        help="run each configuration on a fresh copy of the project's database (SQLite or PostgreSQL)",
    )
    parser.add_argument(
        "--allow-remote-backends",
        action="store_true",
        help="run although a database or cache of the project is on another machine (it gets loaded too)",
    )
    parser.add_argument("--strict", action="store_true", help="refuse to run when a preflight check warns")


def _output(parser: ArgumentParser) -> None:
    """Where the results go: JSON, reports, the terminal's width; saved results rendered or compared."""
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
        help="with --compare: exit 1 when B is significantly slower than A by more than PCT %%; with --against*:"
        " when the whole 95 %% interval of B's slowdown is beyond PCT %% (the CI gate)",
    )


def _run(parser: ArgumentParser) -> None:
    """The run itself: memcached, the run directory, the timing wrapper."""
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


def recorded_command(argv: list[str]) -> tuple[str, ...]:
    """The arguments as the results record them: a header's value (a token, a cookie) never written."""
    words: list[str] = []
    for word in argv:
        previous = words[-1] if words else ""
        # argparse takes any unambiguous prefix (--hea): a prefix of a secret option is that option.
        if _names_secret(previous, SECRET_WHOLE_VALUES):
            word = "…"
        elif "=" in word and _names_secret(word.partition("=")[0], SECRET_WHOLE_VALUES):
            word = word.partition("=")[0] + "=…"
        elif _names_secret(previous) or ("=" in word and _names_secret(word.partition("=")[0])):
            word = word.partition(":")[0] + ": …"
        words.append(word)
    return tuple(words)


def _names_secret(word: str, options: tuple[str, ...] = SECRET_VALUES) -> bool:
    return word.startswith("--") and len(word) > 3 and any(option.startswith(word) for option in options)
