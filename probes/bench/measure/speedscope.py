"""What a py-spy profile says: the application's costliest functions, and where the samples went.

Read from py-spy's speedscope JSON (`--full-filenames --function --idle`): every
sample is a stack, root first, under "process PID:cmdline" frames. A frame's kind
comes from its file: servebench's own code, the database driver, the server,
Django, the project, or other (the standard library, third-party packages). A
sample belongs to the kind of its innermost classified frame: a view computing in
`json` is the view's, Django's SQLite backend waiting on a lock is the database's.
A sample in the server's code whose innermost function waits (select, accept,
sleep...) is idle: the worker waits for a request. Shares count the serving
processes only (those with a sample in a request), so the arbiter's sleep is no idle.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..servers.kinds import KINDS
from .hotpath import Frame, HotFunction, hot_function

# Substrings of a file path, checked in this order (servebench's engine before the project it sits in).
DATABASE_PATHS = (
    "/django/db/backends/",
    "/sqlite3/",
    "/psycopg/",
    "/psycopg2/",
    "/MySQLdb/",
    "/pymysql/",
    "/oracledb/",
)
# The machinery every server runs on (the standard library's event loop, sockets and thread pools, as
# in gunicorn gthread and waitress): the server's, outside any request. Each kind adds its own files.
SERVER_MACHINERY_PATHS = (
    "/asyncio/",
    "/socketserver.py",
    "/selectors.py",
    "/concurrent/futures/",
    "/threading.py",
)
SERVER_PATHS = tuple(
    dict.fromkeys([*(path for kind in KINDS.values() for path in kind.profile_paths), *SERVER_MACHINERY_PATHS])
)
SERVEBENCH_FILES = ("bench", "worker")  # inside the probes package: the engine and what runs inside the servers
_LIBRARY_PARTS = ("site-packages", "dist-packages")
# A server frame whose innermost function is one of these waits for work: idle.
WAITS = frozenset(
    {"select", "poll", "wait", "accept", "sleep", "recv", "recv_into", "readinto", "acquire", "get", "_worker"}
    | {"wait_for_signals"}
)
SHARES = ("view", "database", "server", "servebench", "idle", "other")
_PROCESS = re.compile(r"^process (\d+):")
_THREAD = re.compile(r'Thread \S+ "(.*)"$')  # py-spy names each speedscope profile 'Process P Thread T "name"'
# The threads a sample ran on, by name: an ASGI worker's event loop is its main thread, and asgiref
# runs sync code on ThreadPoolExecutor threads (a new one per request: its ThreadSensitiveContext).
THREAD_GROUPS = ("main thread", "executor threads", "other threads")


@dataclass(frozen=True)
class FunctionCost:
    """One function's share of the samples: itself (self) and with what it calls (total), in %."""

    function: str
    file: str
    line: int
    self_pct: float
    total_pct: float
    kind: str  # project, django, database, server, servebench, other


@dataclass(frozen=True)
class FlameNode:
    """One box of the flame graph: a function at a depth, over a share of the samples (icicle, root on top)."""

    depth: int
    start: float  # fraction of the samples to its left
    width: float  # fraction of the samples in it and what it calls
    function: str
    kind: str


# The flame graph the reports draw: boxes of at least this share of the samples, down to this depth.
FLAME_MIN_WIDTH = 0.005
FLAME_MAX_DEPTH = 40


@dataclass(frozen=True)
class Profile:
    """The profile of one measured window."""

    samples: int  # of the serving processes, every thread, idle included
    processes: int  # serving processes sampled
    shares: dict[str, float]  # fractions of `samples` by SHARES
    top: tuple[FunctionCost, ...]  # the project's functions by total samples (by self before hot was recorded)
    elsewhere: tuple[FunctionCost, ...]  # the busiest functions outside the project, idle left out
    flamegraph: str  # the speedscope file (speedscope.app opens it)
    flame: tuple[FlameNode, ...] = ()  # its boxes, for the HTML report
    hot: HotFunction | None = None  # the project's function the requests spend most in, and on what
    flame_cut_at: int = 0  # stacks deeper than this cap (FLAME_MAX_DEPTH) are drawn from their first project frame
    # The busy samples (idle left out) by THREAD_GROUPS, when some ran outside the main thread.
    threads: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.threads:  # a profile of one thread keeps the keys it always had
            del data["threads"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(
            samples=data["samples"],
            processes=data["processes"],
            shares=dict(data["shares"]),
            top=tuple(FunctionCost(**item) for item in data["top"]),
            elsewhere=tuple(FunctionCost(**item) for item in data["elsewhere"]),
            flamegraph=data["flamegraph"],
            flame=tuple(FlameNode(**item) for item in data.get("flame", ())),
            hot=HotFunction.from_dict(data["hot"]) if data.get("hot") else None,
            flame_cut_at=int(data.get("flame_cut_at", 0)),
            threads=dict(data.get("threads", {})),
        )


@dataclass(frozen=True)
class Classifier:
    """Tells a frame's kind by its file."""

    project_dirs: tuple[str, ...]  # the application's code (the user's project; the probes package too)
    probes_dir: str  # servebench's package: its engine files are servebench's, never the project's

    @classmethod
    def of(cls, project_dirs: Sequence[Path], probes_dir: Path) -> Classifier:
        return cls(tuple(_dir(path) for path in project_dirs), _dir(probes_dir))

    def kind(self, file: str) -> str:
        if file.startswith(self.probes_dir) and file[len(self.probes_dir) :].split("/")[0] in SERVEBENCH_FILES:
            return "servebench"
        if any(part in file for part in DATABASE_PATHS):
            return "database"
        if any(part in file for part in SERVER_PATHS):
            return "server"
        if "/django/" in file:
            return "django"
        if any(file.startswith(d) for d in self.project_dirs) and not any(p in file for p in _LIBRARY_PARTS):
            return "project"
        return "other"


def _dir(path: Path) -> str:
    return os.path.realpath(path).rstrip("/") + "/"


def _category(kinds: Sequence[str], leaf_name: str) -> str:
    """The sample's share: the kind of its innermost classified frame (kinds are root first)."""
    for kind in reversed(kinds):
        if kind in ("project", "django"):
            return "view"
        if kind == "server":
            return "idle" if leaf_name.rsplit(".", 1)[-1] in WAITS else "server"
        if kind in ("database", "servebench"):
            return kind
    return "idle" if not kinds else "other"


def read_speedscope(
    path: Path,
    *,
    project_dirs: Sequence[Path],
    probes_dir: Path,
    serving_pids: Sequence[int] | None = None,
    limit: int = 15,
) -> Profile:
    """Read py-spy's speedscope file into a Profile; serving_pids None: those with a sample in a request."""
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    classify = Classifier.of(project_dirs, probes_dir)
    kinds = [classify.kind(frame.get("file") or "") for frame in frames]
    rows = _sample_rows(data, kinds)
    if serving_pids is None:
        serving = {pid for pid, _, category, _ in rows if category in ("view", "database", "servebench")}
    else:
        serving = set(serving_pids)
    rows = [row for row in rows if row[0] in serving]
    total = len(rows)
    shares = Counter(category for _, _, category, _ in rows)
    # One function per (name, file): with py-spy's --function every frame is one already; without it, lines merge.
    keys = [(frame["name"], frame.get("file") or "") for frame in frames]
    first_line: dict[tuple[str, str], int] = {}
    for key, frame in zip(keys, frames, strict=True):
        line = int(frame.get("line") or 0)
        first_line[key] = min(line, first_line.get(key, line))
    kind_of = dict(zip(keys, kinds, strict=True))
    self_counts: Counter[tuple[str, str]] = Counter()
    total_counts: Counter[tuple[str, str]] = Counter()
    for _, python, category, _ in rows:
        if python and category != "idle":
            self_counts[keys[python[-1]]] += 1
        total_counts.update({keys[i] for i in python})

    def costs(chosen: Sequence[tuple[str, str]], *, by_total: bool = False) -> tuple[FunctionCost, ...]:
        # The project's functions by total: a view's cost is in what it calls, its self time is small.
        order = (total_counts, self_counts) if by_total else (self_counts, total_counts)
        ranked = sorted(chosen, key=lambda key: (-order[0][key], -order[1][key], key))
        return tuple(
            FunctionCost(
                function=key[0],
                file=key[1],
                line=first_line[key],
                self_pct=100 * self_counts[key] / total,
                total_pct=100 * total_counts[key] / total,
                kind=kind_of[key],
            )
            for key in ranked[:limit]
        )

    project = [key for key in total_counts if kind_of[key] == "project"]
    others = [key for key in total_counts if kind_of[key] != "project" and self_counts[key]]
    named = [Frame(key[0], key[1], first_line[key], kind_of[key] == "project") for key in keys]
    stacks, cut = flame_stacks([[keys[i] for i in python] for _, python, _, _ in rows], kind_of)
    return Profile(
        samples=total,
        processes=len(serving),
        shares={name: shares[name] / total if total else 0.0 for name in SHARES},
        top=costs(project, by_total=True),
        elsewhere=costs(others),
        flamegraph=str(path),
        flame=flame_nodes(stacks, kind_of),
        hot=hot_function([[named[i] for i in python] for _, python, _, _ in rows]),
        flame_cut_at=FLAME_MAX_DEPTH if cut else 0,
        threads=_thread_shares(rows),
    )


def _thread_group(profile_name: str) -> str:
    """THREAD_GROUPS' group of a speedscope profile's thread, by the thread's name."""
    match = _THREAD.search(profile_name)
    name = match.group(1) if match else ""
    if name == "MainThread":
        return "main thread"
    if name.startswith(("ThreadPoolExecutor", "asyncio_")):
        return "executor threads"
    return "other threads"


def _thread_shares(rows: Sequence[tuple[int | None, list[int], str, str]]) -> dict[str, float]:
    """The busy samples' shares by thread group; {} when every busy sample ran on the main thread."""
    busy = Counter(group for _, _, category, group in rows if category != "idle")
    total = sum(busy.values())
    if not total or busy["main thread"] == total:
        return {}
    return {group: busy[group] / total for group in THREAD_GROUPS if busy[group]}


def _sample_rows(data: dict[str, Any], kinds: Sequence[str]) -> list[tuple[int | None, list[int], str, str]]:
    """Each sample as (its process's pid, its Python frames' indexes root first, its share, its thread's group)."""
    frames = data["shared"]["frames"]
    pids = [int(m.group(1)) if (m := _PROCESS.match(frame["name"])) else None for frame in frames]
    rows = []
    for profile in data["profiles"]:
        group = _thread_group(profile.get("name", ""))
        for stack in profile["samples"]:
            pid = next((pids[i] for i in reversed(stack) if pids[i] is not None), None)
            python = [i for i in stack if pids[i] is None]
            leaf = frames[python[-1]]["name"] if python else ""
            rows.append((pid, python, _category([kinds[i] for i in python], leaf), group))
    return rows


def flame_stacks(
    stacks: Sequence[Sequence[tuple[str, str]]], kind_of: dict[tuple[str, str], str]
) -> tuple[list[Sequence[tuple[str, str]]], bool]:
    """The stacks to draw, and whether they were cut: when one is deeper than FLAME_MAX_DEPTH (ten
    middlewares), each is drawn from its first project frame, so that the view and what it calls show."""
    if all(len(stack) <= FLAME_MAX_DEPTH for stack in stacks):
        return list(stacks), False
    cut = []
    for stack in stacks:
        first = next((i for i, key in enumerate(stack) if kind_of.get(key) == "project"), 0)
        cut.append(stack[first:])
    return cut, True


def flame_nodes(
    stacks: Sequence[Sequence[tuple[str, str]]], kind_of: dict[tuple[str, str], str]
) -> tuple[FlameNode, ...]:
    """The boxes of an icicle graph of the stacks (root first): each function's share under its caller."""
    total = len(stacks)
    if not total:
        return ()
    tree: dict[tuple[str, str], Any] = {}
    counts: Counter[tuple[tuple[str, str], ...]] = Counter()
    for stack in stacks:
        node = tree
        for depth, key in enumerate(stack[:FLAME_MAX_DEPTH]):
            node = node.setdefault(key, {})
            counts[tuple(stack[: depth + 1])] += 1
    nodes: list[FlameNode] = []

    def walk(children: dict[tuple[str, str], Any], prefix: tuple[tuple[str, str], ...], start: int) -> None:
        for key in sorted(children, key=lambda k: (k[0], k[1])):
            path = (*prefix, key)
            width = counts[path]
            if width / total >= FLAME_MIN_WIDTH:
                nodes.append(FlameNode(len(prefix), start / total, width / total, key[0], kind_of.get(key, "other")))
                walk(children[key], path, start)
            start += width

    walk(tree, (), 0)
    return tuple(nodes)
