"""The probe views servebench ships, by name: what each costs and what it needs."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Probe:
    name: str
    summary: str
    query: str = ""
    needs_db: bool = False
    needs_memcached: bool = False

    def path(self) -> str:
        """The probe's URL path with its default query, as the project routes it."""
        try:
            base = reverse(f"probes:{self.name}")
        except NoReverseMatch as exc:
            raise LookupError(
                f"probe {self.name!r} is not routed: include('probes.urls') in the project's urls"
            ) from exc
        return f"{base}?{self.query}" if self.query else base


PROBES: tuple[Probe, ...] = (
    Probe("trivial", "a few bytes: no session, no database, no template"),
    Probe("trivial-async", "trivial as an async view (under WSGI or with a sync server: run through asgiref)"),
    Probe("session-db", "a new session per request in the database", needs_db=True),
    Probe("session-cache", "a new session per request in memcached", needs_memcached=True),
    Probe(
        "session-cached-db",
        "a new session per request, written to the database and memcached",
        needs_db=True,
        needs_memcached=True,
    ),
    Probe("session-signed-cookies", "a new session per request in a signed cookie"),
    Probe("template-django", "a <ul> of 300 items through Django templates"),
    Probe("template-jinja2", "the same <ul> through Jinja2"),
    Probe("sleep", "waits 20 ms without CPU (calibration)", query="ms=20"),
    Probe("sleep-async", "awaits asyncio.sleep 20 ms: an event loop serves others meanwhile", query="ms=20"),
    Probe("cpu", "spins 10 ms of thread CPU (calibration)", query="ms=10"),
    Probe("lock", "holds a lock shared by every worker for 10 ms (calibration)", query="ms=10"),
    Probe("status", "answers the status ?code= asks for, e.g. 500 or 302 (error handling)", query="code=200"),
)

BY_NAME: dict[str, Probe] = {probe.name: probe for probe in PROBES}


def get_probe(name: str) -> Probe:
    """The probe called `name`; LookupError naming the known ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise LookupError(f"unknown probe {name!r} (known: {', '.join(BY_NAME)})") from None
