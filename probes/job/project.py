"""The Django project under test, seen from servebench: its WSGI app, database, caches, hosts."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from asgiref.local import Local
from django.conf import settings
from django.core.cache import caches, close_caches
from django.core.management import call_command
from django.core.servers.basehttp import get_internal_wsgi_application

from ..conf import get_config
from .database_server import DatabaseServer, database_server
from .dburl import database_from_url

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def wsgi_application() -> Any:
    """The project's own WSGI_APPLICATION, as runserver loads it."""
    return get_internal_wsgi_application()


def directory() -> Path:
    """The project's directory: where `manage.py servebench` was started, the working directory
    runserver and a deployment give the project (relative paths in its settings resolve there)."""
    return Path.cwd()


def host_header() -> str:
    """A Host the project accepts that names this machine (ALLOWED_HOSTS decides)."""
    allowed = list(settings.ALLOWED_HOSTS) or (list(LOOPBACK_NAMES) if settings.DEBUG else [])
    for name in LOOPBACK_NAMES:
        if name in allowed or "*" in allowed:
            return name
    for name in allowed:
        if name.startswith(".") and "localhost".endswith(name.lstrip(".")):
            return "localhost"
    # Nothing loopback-like is allowed: send the first name; Django will say 400 if not.
    return allowed[0].lstrip(".") if allowed else "127.0.0.1"


def managed_memcached_alias() -> str | None:
    """The cache alias servebench may point at its own memcached, if the project allows."""
    alias = get_config()["MANAGED_MEMCACHED_ALIAS"]
    return alias if alias in settings.CACHES else None


def use_memcached(alias: str, address: str) -> None:
    """Point cache `alias` of this process at `address` (the servers get it via SERVEBENCH_MEMCACHED)."""
    settings.CACHES[alias]["LOCATION"] = address
    close_caches()
    # Rebuild the handler's view of the settings, as Django's own
    # setting_changed receiver does for CACHES.
    caches._settings = caches.settings = caches.configure_settings(None)  # type: ignore[attr-defined]
    caches._connections = Local()  # type: ignore[attr-defined]


def prepare_owned_database() -> bool:
    """Migrate the database when the project lets servebench own it; False when it does not."""
    if not get_config()["OWN_DATABASE"]:
        return False
    call_command("migrate", verbosity=0, interactive=False)
    return True


def settings_module() -> str:
    """The settings module in use (override_settings hides it: fall back to the environment)."""
    return getattr(settings, "SETTINGS_MODULE", None) or os.environ.get("DJANGO_SETTINGS_MODULE", "")


def import_roots() -> list[str]:
    """Directories from which the settings and WSGI modules import: the servers' PYTHONPATH."""
    roots: list[str] = []
    for dotted in (settings_module(), getattr(settings, "WSGI_APPLICATION", None) or ""):
        top = dotted.split(".", 1)[0]
        if not top:
            continue
        spec = importlib.util.find_spec(top)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            location = Path(next(iter(spec.submodule_search_locations))).parent
        elif spec.origin:
            location = Path(spec.origin).parent
        else:
            continue
        if str(location) not in roots:
            roots.append(str(location))
    return roots


def server_environment(*, run_dir: Path, database_path: Path | None, memcached_address: str | None) -> dict[str, str]:
    """The environment every server process gets: same settings, this run's files and services."""
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONWARNINGS", "PYTHONDEVMODE"}}
    env["DJANGO_SETTINGS_MODULE"] = settings_module()
    env["PYTHONPATH"] = os.pathsep.join([*import_roots(), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["SERVEBENCH_RUN_DIR"] = str(run_dir)
    if database_path is not None:
        env["SERVEBENCH_DB"] = str(database_path)
    if memcached_address is not None:
        env["SERVEBENCH_MEMCACHED"] = memcached_address
    return env


def owns_sqlite() -> bool:
    """True when servebench may give each configuration a fresh SQLite file (SERVEBENCH_DB)."""
    return bool(get_config()["OWN_DATABASE"]) and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def migrated_sqlite_template(run_dir: Path) -> Path:
    """Migrate a new SQLite file once per run; each configuration gets a copy of it."""
    path = run_dir / "template.sqlite3"
    env = server_environment(run_dir=run_dir, database_path=path, memcached_address=None)
    script = (
        "import django; django.setup(); "
        "from django.core.management import call_command; call_command('migrate', verbosity=0)"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"migrating a fresh SQLite database failed: {last}")
    return path


def fresh_sqlite(template: Path, run_dir: Path, name: str) -> Path:
    """A copy of the migrated template: no rows of an earlier configuration, no migration race."""
    path = run_dir / f"{name}.sqlite3"
    shutil.copyfile(template, path)
    return path


def use_database(url: str) -> None:
    """Point this process's default database at `url` (the servers get DATABASE_URL)."""
    from django.db import connections

    connections.close_all()
    settings.DATABASES["default"] = database_from_url(url)
    connections._settings = connections.configure_settings(None)  # type: ignore[attr-defined]
    connections._connections = Local(connections.thread_critical)  # type: ignore[attr-defined]


def local_database() -> DatabaseServer | None:
    """The default database's server on this machine (its pid, or how it connects when not found), so its CPU
    is a role of its own; None: SQLite, or a server elsewhere."""
    return database_server(settings.DATABASES["default"])
