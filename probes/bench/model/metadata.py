"""Where and how the figures were measured: pyperf's metadata vocabulary."""

from __future__ import annotations

import os
import platform
import socket
import sys
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from typing import Any

from ... import __version__
from ..servers.kinds import KINDS
from .writes import Writes

# servebench's own distribution (pyproject.toml), recorded as "servebench".
DISTRIBUTION = "django-servebench"
# What the figures depend on beside the servers (each kind names its own packages).
LIBRARIES = ("Django", "Jinja2", "psutil", "pymemcache")


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


def servebench_version() -> str:
    """servebench's version: its installed distribution's, or the package's own in a checkout."""
    try:
        return importlib_metadata.version(DISTRIBUTION)
    except importlib_metadata.PackageNotFoundError:
        return __version__


def server_distributions() -> tuple[str, ...]:
    """Every server kind's packages, each once, in the order of KINDS."""
    return tuple(dict.fromkeys(name for kind in KINDS.values() for name in kind.distributions))


@dataclass(frozen=True)
class ProjectSettings:
    """The project's settings that change every figure, as its servers ran with them.

    Read by the job, where Django is loaded (the engine imports no Django); a result saved before they
    were recorded has none, and its reports print nothing about them.
    """

    debug: bool
    conn_max_age: dict[str, int | None]  # per database alias; None: connections persist
    session_engine: str  # SESSION_ENGINE, dotted
    cache_backend: str  # CACHES["default"]'s BACKEND, dotted ("" without a default cache)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProjectSettings:
        return cls(
            debug=bool(data["debug"]),
            conn_max_age=dict(data["conn_max_age"]),
            session_engine=str(data["session_engine"]),
            cache_backend=str(data["cache_backend"]),
        )


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
    command: tuple[str, ...] = ()  # the arguments servebench was given (no secrets: those never enter argv)
    settings: ProjectSettings | None = None  # None in results saved before they were recorded
    writes: tuple[Writes, ...] = ()  # what each target wrote in one request, seen before the first configuration

    @classmethod
    def collect(
        cls,
        *,
        settings_module: str,
        extra_versions: dict[str, str] | None = None,
        command: tuple[str, ...] = (),
        settings: ProjectSettings | None = None,
    ) -> Metadata:
        """Read the metadata off this machine now."""
        versions = {"servebench": servebench_version(), **package_versions((*LIBRARIES, *server_distributions()))}
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
            command=command,
            settings=settings,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metadata:
        names = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in names}
        values["command"] = tuple(data.get("command", ()))
        values["settings"] = ProjectSettings.from_dict(data["settings"]) if data.get("settings") else None
        values["writes"] = tuple(Writes.from_dict(item) for item in data.get("writes", ()))
        return cls(**values)
