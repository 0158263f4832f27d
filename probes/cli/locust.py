"""--locustfile and --locust-processes: locust as the load, checked before anything starts.

The user's locustfile is read here, once, from the path given (never through a symbolic link): locust is
later given that text (a 0600 copy in the run's 0700 directory), never a file that could change meanwhile.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..bench.loadgen.locust.setup import LocustSetup, read_locustfile
from ..bench.loadgen.plan import LoadPlan
from .inputs import Refused

MAX_WORKERS = 64


def add_locust_arguments(parser: ArgumentParser) -> None:
    """The options of --loadgen locust."""
    parser.add_argument(
        "--locustfile",
        metavar="FILE",
        help="with --loadgen locust: your own user classes as the load (reported per request name); --url or"
        " --probe still names the page t0 measures",
    )
    parser.add_argument(
        "--locust-workers",
        type=int,
        metavar="N",
        help="with --loadgen locust: N workers you start yourself on this host (servebench prints the command"
        " and waits for them before the warm-up)",
    )
    parser.add_argument(
        "--locust-processes",
        type=int,
        metavar="K",
        help="with --loadgen locust: the workers servebench starts on this host, or on each client host (1)",
    )


def with_locust(options: Mapping[str, Any], load: LoadPlan | None) -> LoadPlan | None:
    """The load plan with its locust setup; Refused for what locust cannot run."""
    given = {name: options.get(name) for name in ("locustfile", "locust_processes", "locust_workers")}
    if load is None or load.generator != "locust":
        if named := [name for name, value in given.items() if value is not None]:
            raise Refused(f"--{named[0].replace('_', '-')} goes with --loadgen locust")
        return load
    processes = given["locust_processes"]
    if processes is not None and not 1 <= processes <= MAX_WORKERS:
        raise Refused(f"--locust-processes {processes}: from 1 to {MAX_WORKERS}")
    user_workers = given["locust_workers"]
    if user_workers is not None:
        _check_user_workers(user_workers, processes, load)
    path, text = given["locustfile"], None
    if path is not None:
        if load.rate is not None:
            raise Refused("--rate with --locustfile: your users set their own pace; --rate drives servebench's own")
        try:
            text = read_locustfile(path)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        path = os.path.abspath(path)
    setup = LocustSetup(
        workers=0 if user_workers else processes or 1,
        locustfile=path,
        locustfile_text=text,
        user_workers=user_workers or 0,
    )
    return replace(load, locust=setup)


def _check_user_workers(count: int, processes: int | None, load: LoadPlan) -> None:
    """--locust-workers N: workers the user starts on this host, to a master on loopback; Refused otherwise."""
    if not 1 <= count <= MAX_WORKERS:
        raise Refused(f"--locust-workers {count}: from 1 to {MAX_WORKERS}")
    if processes is not None:
        raise Refused("--locust-workers with --locust-processes: either the workers you start or servebench's")
    if load.remote is not None:
        raise Refused(
            "--locust-workers with --client-host/--client-netns: the workers you start connect to a master on"
            " loopback; servebench starts the client hosts' workers itself (--locust-processes)"
        )
