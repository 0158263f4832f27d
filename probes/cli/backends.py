"""Which of the project's databases and caches are not on this machine, decided as the drivers decide.

servebench loads what the project's views use; a database or cache on another
machine would be load-tested with it. The answer must come from everything the
driver will actually use: Django passes OPTIONS to the driver as keyword
arguments, libpq falls back to PG* variables and pg_service.conf, mysqlclient
reads option files, an Oracle NAME may be a whole DSN, and a cache LOCATION may
list several servers. When the host cannot be known (a service file, a TNS
alias, a name that may resolve anywhere), the answer is "not known to be local":
refused like a remote one, --allow-remote-backends overrides both.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Caches that live in the process or in a file, or in a database checked as such.
LOCAL_CACHE_BACKENDS = ("locmem", "dummy", "filebased", "db.DatabaseCache")
_ORACLE_HOSTS = re.compile(r"\(\s*HOST\s*=\s*([^)\s]+)\s*\)", re.IGNORECASE)


@cache
def _own_addresses() -> frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses of this machine's interfaces: a server bound to one of them is local."""
    import psutil

    found = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            try:
                found.add(ipaddress.ip_address(address.address.split("%", 1)[0]))
            except ValueError:
                continue  # a MAC address
    return frozenset(found)


def host_problem(host: str) -> str | None:
    """None when `host` is this machine (loopback, one of its addresses, a socket path), else why not."""
    host = host.strip()
    if host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    if host.startswith("/") or host.startswith("@"):  # a unix socket (directory) or an abstract one
        return None
    if host.lower() == "localhost":
        return None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        # A name other than localhost may resolve anywhere (DNS is not asked: it may hang).
        return f"at {host}" if host else "at an empty host"
    if address.is_loopback or address.is_unspecified or address in _own_addresses():
        return None
    return f"at {host}"


def _hosts_problem(hosts: str) -> str | None:
    """libpq takes comma-separated host lists: every one must be local."""
    problems = [problem for part in hosts.split(",") if (problem := host_problem(part)) is not None]
    return ", ".join(problems) or None


def _postgres(database: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    options = dict(database.get("OPTIONS") or {})
    for key in ("service", "conninfo", "dsn"):
        if options.get(key):
            return f"whose host comes from OPTIONS {key}={options[key]!r}"
    name = str(options.get("dbname") or database.get("NAME") or "")
    if "=" in name or "://" in name:
        return "whose NAME is a connection string (libpq expands it)"
    # Django sets host/port from HOST/PORT over the OPTIONS; libpq falls back to PG* variables.
    host = str(database.get("HOST") or options.get("host") or "")
    hostaddr = str(options.get("hostaddr") or "")
    if not host and not hostaddr:
        if environ.get("PGSERVICE"):
            return f"whose host comes from pg_service.conf (PGSERVICE={environ['PGSERVICE']!r})"
        host, hostaddr = environ.get("PGHOST", ""), environ.get("PGHOSTADDR", "")
    # hostaddr, when given, is where libpq connects; host is then only a name.
    if hostaddr:
        return _hosts_problem(hostaddr)
    return _hosts_problem(host) if host else None  # no host at all: the local socket


def _mysql_option_file(path: str, group: str) -> str | None:
    """The problem with the host an option file gives, None when it names a local one (or none)."""
    try:
        text = Path(path).expanduser().read_text()
    except OSError as exc:
        return f"whose host is in {path!r} (read_default_file), which cannot be read ({exc.strerror})"
    if re.search(r"^\s*!include", text, re.MULTILINE):
        return f"whose host may be in a file that {path!r} (read_default_file) includes"
    parser = configparser.ConfigParser(allow_no_value=True, strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return f"whose host is in {path!r} (read_default_file), which cannot be parsed"
    for section in ("client", group):
        if parser.has_section(section) and (host := parser.get(section, "host", fallback=None)):
            return host_problem(host.strip("\"'"))
    return None


def _mysql(database: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    options = dict(database.get("OPTIONS") or {})
    host = str(database.get("HOST") or options.get("host") or "")
    if host:
        return host_problem(host)
    if options.get("read_default_file"):
        return _mysql_option_file(str(options["read_default_file"]), str(options.get("read_default_group") or "client"))
    if options.get("read_default_group"):
        return "whose host comes from the MySQL option files (OPTIONS read_default_group)"
    if environ.get("MYSQL_HOST"):
        return host_problem(environ["MYSQL_HOST"])
    return None  # the local socket


def _oracle(database: Mapping[str, Any]) -> str | None:
    host = str(database.get("HOST") or "")
    if database.get("PORT"):  # Django builds the DSN from HOST (default localhost) and PORT
        return host_problem(host or "localhost")
    name = str(database.get("NAME") or "")
    if "(" in name:  # a connect descriptor: every HOST= in it
        hosts = _ORACLE_HOSTS.findall(name)
        return _hosts_problem(",".join(hosts)) if hosts else "whose NAME is a connect descriptor without a HOST"
    if "/" in name or ":" in name:  # easy connect: [//]host[:port][/service]
        return host_problem(re.split(r"[:/]", name.removeprefix("//"), maxsplit=1)[0])
    return f"whose NAME {name!r} is a TNS alias (tnsnames.ora decides the host)"


def database_problem(database: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str | None:
    """None when the DATABASES entry's server is on this machine, else where it is or why that is not known."""
    environ = os.environ if environ is None else environ
    engine = str(database.get("ENGINE") or "")
    if "sqlite" in engine or "spatialite" in engine or engine.endswith(".dummy") or not engine:
        return None
    if "postgres" in engine or "postgis" in engine or "cockroach" in engine:
        return _postgres(database, environ)
    if "mysql" in engine:
        return _mysql(database, environ)
    if "oracle" in engine:
        return _oracle(database)
    host = str(database.get("HOST") or (database.get("OPTIONS") or {}).get("host") or "")
    return host_problem(host) if host else f"whose engine {engine} servebench cannot locate"


def cache_locations(location: object) -> list[str]:
    """The servers of a cache LOCATION: a list, or one string separated by ';' or ',' (as Django splits it)."""
    items = location if isinstance(location, list | tuple) else [location]
    return [part.strip() for item in items for part in re.split("[;,]", str(item or "")) if part.strip()]


def location_problem(location: str) -> str | None:
    """None when one cache server address (host:port, unix:/path, /path, redis://...) is on this machine."""
    if location.startswith(("unix:", "/")):
        return None
    parts = urlsplit(location if "://" in location else f"//{location}")
    if parts.scheme in ("unix", "file"):
        return None
    try:
        host = parts.hostname or ""
    except ValueError:
        return f"at {location} (not an address servebench can read)"
    return host_problem(host) if host else f"at {location} (no host)"


def cache_problem(cache_settings: Mapping[str, Any]) -> str | None:
    """None when every server of the CACHES entry is on this machine."""
    backend = str(cache_settings.get("BACKEND") or "")
    if any(backend.endswith(local) or f".{local}." in backend for local in LOCAL_CACHE_BACKENDS):
        return None
    problems = [
        problem for item in cache_locations(cache_settings.get("LOCATION")) if (problem := location_problem(item))
    ]
    return ", ".join(problems) or None


def remote_backends(*, memcached: str | None = None) -> list[str]:
    """The project's databases and network caches (and --memcached HOST:PORT) not known to be on this machine."""
    from django.conf import settings

    found = []
    for alias, database in settings.DATABASES.items():
        if problem := database_problem(database):
            found.append(f"database {alias!r} {problem}")
    for alias, cache_settings in settings.CACHES.items():
        if problem := cache_problem(cache_settings):
            found.append(f"cache {alias!r} {problem}")
    if memcached and (problem := location_problem(memcached)):
        found.append(f"--memcached {problem.removeprefix('at ')}")
    return found
