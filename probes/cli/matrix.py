"""What a sweep measures, from the command's options: the URLs, the server configurations, the load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..bench.loadgen.model import LoadgenError, LoadSpec, check_supported
from ..bench.loadgen.plan import DEFAULT_MAX_REPEAT, LoadPlan, default_generator
from ..bench.servers.argv import nginx_binary
from ..bench.servers.kinds import KINDS, ServerConfig, build_matrix, get_kind
from ..catalog import PROBES, Probe, get_probe
from .inputs import Refused, checked_url, first_line, positive_ints

DEFAULT_WORKERS = {"check": "2", "sweep": "1,4", "explain": "1,2,4"}


@dataclass(frozen=True)
class Target:
    """One URL of a sweep: a probe, or a path of the project (--url)."""

    name: str
    path: str
    probe: Probe | None = None


def targets(options: Mapping[str, Any], job: str) -> tuple[Target, ...]:
    """What to measure: --url, or --probe (repeatable), or the default probes; --check requests
    --url (or one --probe) through each configuration, by default the trivial probe."""
    if job == "check" and options["url"] is None and not options["probe"]:
        return ()
    try:
        probes = [get_probe(name) for name in options["probe"] or []]
    except LookupError as exc:
        raise Refused(exc.args[0]) from None
    if options["url"] is not None and probes:
        raise Refused("give --url or --probe, not both")
    if options["url"] is not None:
        targets = [Target(options["url"], checked_url(options["url"]))]
    else:
        default = list(PROBES) if job == "view-cost" else [get_probe("trivial")]
        targets = [Target(probe.name, _probe_path(probe), probe) for probe in probes or default]
    if job in ("explain", "check") and len(targets) > 1:
        raise Refused(f"--{job} {'diagnoses' if job == 'explain' else 'checks'} one URL: give one --probe or --url")
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
        # --explain: a focused sweep of one or two server kinds.
        return [name for name in runnable if KINDS[name].explained] or runnable[:1]
    return runnable


def configs(options: Mapping[str, Any], job: str) -> tuple[ServerConfig, ...]:
    """The server configurations to measure (none for --view-cost): kinds x workers x fronts x sockets."""
    if job == "view-cost":
        return ()
    workers = options["workers"]
    counts = positive_ints(DEFAULT_WORKERS[job] if workers is None else workers, "--workers")
    if twice := next((count for index, count in enumerate(counts) if count in counts[:index]), None):
        raise Refused(f"--workers {workers!r} names {twice} twice: each count is one configuration, measured once")
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
    labels = [config.label for config in configs]
    if twice_label := next((label for index, label in enumerate(labels) if label in labels[:index]), None):
        raise Refused(f"{twice_label} is asked for twice: give each --server, --front and --socket once")
    if job == "check":
        configs += [ServerConfig(kind, 1, front=configs[0].front, app="null") for kind in kinds]
    elif options["null_app"]:
        configs += [replace(config, app="null") for config in configs]
    return tuple(configs)


def levels(options: Mapping[str, Any]) -> tuple[int, ...]:
    """--concurrency N or N,N,...: the connection counts (empty: the default per configuration)."""
    text = options["concurrency"]
    if text is None:
        return ()
    levels = tuple(dict.fromkeys(positive_ints(str(text), "--concurrency")))
    if len(levels) > 1 and options["rate"] is not None:
        raise Refused("--concurrency with several levels is a closed loop; --rate sets the load instead")
    return levels


def load_plan(
    options: Mapping[str, Any], path: str, host: str, headers: tuple[tuple[str, str], ...], levels: tuple[int, ...]
) -> LoadPlan:
    """The load every configuration is put under; Refused for what the generator cannot do."""
    generator = options["loadgen"] or ("builtin" if options["rate"] is not None else default_generator())
    if options["rate"] is not None and generator not in ("builtin", "locust"):
        raise Refused(f"--rate needs --loadgen builtin or locust: {generator} cannot hold a constant rate")
    if options["login_as"] is not None and generator == "ab":
        raise Refused("--login-as: ab takes its cookie on its command line, where every local user can read it")
    load = LoadPlan(
        path=path,
        host_header=host,
        generator=generator,
        concurrency=levels[0] if len(levels) == 1 else None,
        duration_s=options["duration"],
        warmup_s=options["warmup"],
        repeat=options["repeat"],
        max_repeat=options.get("max_repeat") or max(options["repeat"], DEFAULT_MAX_REPEAT),
        keepalive=not options["no_keepalive"],
        rate=options["rate"],
        headers=headers,
        pin=options["pin"],
        profile=bool(options.get("profile")),
        instrument_pairs=options.get("instrument_pairs") or 0,
    )
    try:
        # What the generator itself refuses (a missing binary, credentials on ab's command line).
        spec = LoadSpec(path=path, port=1, host_header=host, headers=headers, duration_s=load.duration_s)
        check_supported(spec, generator)
    except (ValueError, LoadgenError) as exc:
        raise Refused(f"--loadgen {generator}: {first_line(exc)}") from None
    return load
