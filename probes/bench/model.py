"""The one result model: frozen dataclasses with versioned JSON (pyperf's Run -> Suite idea)."""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

FORMAT = "servebench/1"


class FormatError(ValueError):
    """A JSON file that is not a servebench result of a version we read."""


def usable_cores() -> int:
    """Cores this process may run on (affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the named distributions (absent ones left out)."""
    found = {}
    for name in names:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return found


@dataclass(frozen=True)
class Metadata:
    """Where and how the figures were measured (pyperf's metadata vocabulary)."""

    created_utc: str
    hostname: str
    platform: str
    python: str
    cpu_count: int
    usable_cores: int
    load_avg_1m: float
    settings_module: str
    versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def collect(cls, *, settings_module: str, extra_versions: dict[str, str] | None = None) -> Metadata:
        """Read the metadata off this machine now."""
        versions = package_versions(
            ("servebench", "Django", "Jinja2", "gunicorn", "pyuwsgi", "flup", "psutil", "pymemcache")
        )
        return cls(
            created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
            hostname=socket.gethostname(),
            platform=platform.platform(),
            python=sys.version.split()[0],
            cpu_count=os.cpu_count() or 1,
            usable_cores=usable_cores(),
            load_avg_1m=os.getloadavg()[0],
            settings_module=settings_module,
            versions={**versions, **(extra_versions or {})},
        )


@dataclass(frozen=True)
class ViewCost:
    """One probe's cost measured in-process: no socket, no server; the floor."""

    name: str
    path: str
    status: int
    iterations: int
    wall_us_median: float
    wall_us_p90: float
    wall_us_min: float
    cpu_us_median: float
    response_bytes: int
    spread_pct: float  # (p90 - median) / median: how noisy the figure is

    @property
    def per_worker_rps(self) -> float:
        """What one single-threaded worker can do at most: 1 / wall time."""
        return 1e6 / self.wall_us_median if self.wall_us_median > 0 else float("inf")

    def machine_rps(self, cores: int) -> float:
        """What the machine's cores can do at most if the view's CPU were all: cores / CPU time."""
        return cores * 1e6 / self.cpu_us_median if self.cpu_us_median > 0 else float("inf")


@dataclass(frozen=True)
class Skipped:
    """Something asked for that could not be measured here, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class Check:
    """One configuration brought up, requested through the full path, and torn down."""

    label: str
    kind: str
    workers: int
    threads: int
    front: str
    socket: str
    app: str
    ok: bool
    reason: str  # why it failed, or "" when ok
    ready_s: float
    processes: dict[str, int] = field(default_factory=dict)
    expected_server_processes: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    """Everything one servebench invocation measured."""

    metadata: Metadata
    view_costs: tuple[ViewCost, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    checks: tuple[Check, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suite:
        if data.get("format") != FORMAT:
            raise FormatError(f"not a {FORMAT} result (format: {data.get('format')!r})")
        return cls(
            metadata=_build(Metadata, data["metadata"]),
            view_costs=tuple(_build(ViewCost, item) for item in data.get("view_costs", ())),
            skipped=tuple(_build(Skipped, item) for item in data.get("skipped", ())),
            checks=tuple(
                _build(Check, {**item, "warnings": tuple(item.get("warnings", ()))})
                for item in data.get("checks", ())
            ),
        )

    def dump(self, path: Path) -> None:
        """Write as JSON, atomically: a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Suite:
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path}: not JSON ({exc})") from None


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})
