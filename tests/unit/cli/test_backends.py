"""Remote backends are refused however the settings name them: the answer comes from what the driver uses."""

from __future__ import annotations

import time
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from probes.cli.backends import cache_problem, database_problem, location_problem, remote_backends
from probes.job.dburl import database_from_url

PG = "django.db.backends.postgresql"
MYSQL = "django.db.backends.mysql"
ORACLE = "django.db.backends.oracle"
MEMCACHED = "django.core.cache.backends.memcached.PyMemcacheCache"
REDIS = "django.core.cache.backends.redis.RedisCache"

# (what, DATABASES entry, environment, local?)
DATABASES: list[tuple[str, dict[str, Any], dict[str, str], bool]] = [
    ("sqlite", {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/db.sqlite3"}, {}, True),
    ("pg, no host: local socket", {"ENGINE": PG, "NAME": "shop"}, {}, True),
    ("pg loopback", {"ENGINE": PG, "NAME": "shop", "HOST": "127.0.0.1"}, {}, True),
    ("pg socket dir", {"ENGINE": PG, "NAME": "shop", "HOST": "/run/postgresql"}, {}, True),
    ("pg remote HOST", {"ENGINE": PG, "NAME": "shop", "HOST": "10.0.0.5"}, {}, False),
    ("pg a name", {"ENGINE": PG, "NAME": "shop", "HOST": "db.example.com"}, {}, False),
    ("pg OPTIONS host", {"ENGINE": PG, "NAME": "shop", "HOST": "", "OPTIONS": {"host": "10.0.0.5"}}, {}, False),
    ("pg OPTIONS hostaddr", {"ENGINE": PG, "NAME": "shop", "OPTIONS": {"hostaddr": "10.0.0.5"}}, {}, False),
    (
        "pg local HOST, remote hostaddr",
        {"ENGINE": PG, "NAME": "shop", "HOST": "localhost", "OPTIONS": {"hostaddr": "10.0.0.5"}},
        {},
        False,
    ),
    ("pg OPTIONS service", {"ENGINE": PG, "NAME": "shop", "OPTIONS": {"service": "prod"}}, {}, False),
    ("pg host list", {"ENGINE": PG, "NAME": "shop", "HOST": "127.0.0.1,10.0.0.6"}, {}, False),
    ("pg NAME a conninfo", {"ENGINE": PG, "NAME": "host=10.0.0.5 dbname=shop"}, {}, False),
    ("PGHOST", {"ENGINE": PG, "NAME": "shop"}, {"PGHOST": "10.0.0.5"}, False),
    ("PGHOSTADDR", {"ENGINE": PG, "NAME": "shop"}, {"PGHOSTADDR": "10.0.0.5"}, False),
    ("PGSERVICE", {"ENGINE": PG, "NAME": "shop"}, {"PGSERVICE": "prod"}, False),
    ("PGHOST under a local HOST", {"ENGINE": PG, "NAME": "shop", "HOST": "127.0.0.1"}, {"PGHOST": "10.0.0.5"}, True),
    ("postgis remote", {"ENGINE": "django.contrib.gis.db.backends.postgis", "HOST": "10.0.0.5"}, {}, False),
    ("mysql socket", {"ENGINE": MYSQL, "NAME": "shop"}, {}, True),
    ("mysql OPTIONS host", {"ENGINE": MYSQL, "NAME": "shop", "OPTIONS": {"host": "10.0.0.5"}}, {}, False),
    ("mysql read_default_group", {"ENGINE": MYSQL, "OPTIONS": {"read_default_group": "prod"}}, {}, False),
    ("MYSQL_HOST", {"ENGINE": MYSQL, "NAME": "shop"}, {"MYSQL_HOST": "10.0.0.5"}, False),
    ("oracle easy connect", {"ENGINE": ORACLE, "NAME": "10.0.0.5:1521/orcl"}, {}, False),
    ("oracle easy connect //", {"ENGINE": ORACLE, "NAME": "//db.example.com/orcl"}, {}, False),
    ("oracle local easy connect", {"ENGINE": ORACLE, "NAME": "localhost/XEPDB1"}, {}, True),
    (
        "oracle descriptor",
        {"ENGINE": ORACLE, "NAME": "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=10.0.0.5)(PORT=1521)))"},
        {},
        False,
    ),
    ("oracle TNS alias", {"ENGINE": ORACLE, "NAME": "PROD"}, {}, False),
    ("oracle HOST+PORT", {"ENGINE": ORACLE, "NAME": "orcl", "HOST": "127.0.0.1", "PORT": "1521"}, {}, True),
    ("unknown engine, no host", {"ENGINE": "mssql", "NAME": "shop"}, {}, False),
]


@pytest.mark.parametrize(("what", "database", "environ", "local"), DATABASES, ids=[row[0] for row in DATABASES])
def test_databases(what: str, database: dict[str, Any], environ: dict[str, str], local: bool) -> None:
    problem = database_problem(database, environ)
    assert (problem is None) is local, problem


def test_a_database_url_ending_in_a_host_option_is_remote() -> None:
    database = database_from_url("postgres://shop:secret@/shop?host=10.0.0.5")
    assert database_problem(database, {}) == "at 10.0.0.5"


def test_a_mysql_option_file_is_read(tmp_path: Path) -> None:
    remote, local, including = tmp_path / "remote.cnf", tmp_path / "local.cnf", tmp_path / "including.cnf"
    remote.write_text("[client]\nhost = 10.0.0.5\nuser = shop\n")
    local.write_text("[client]\nsocket = /run/mysqld/mysqld.sock\n")
    including.write_text("!includedir /etc/mysql/conf.d/\n[client]\nuser = shop\n")
    options = {"ENGINE": MYSQL, "NAME": "shop"}
    assert database_problem({**options, "OPTIONS": {"read_default_file": str(remote)}}, {}) == "at 10.0.0.5"
    assert database_problem({**options, "OPTIONS": {"read_default_file": str(local)}}, {}) is None
    assert "includes" in str(database_problem({**options, "OPTIONS": {"read_default_file": str(including)}}, {}))
    missing = database_problem({**options, "OPTIONS": {"read_default_file": str(tmp_path / "nope.cnf")}}, {})
    assert "cannot be read" in str(missing)


CACHES: list[tuple[str, dict[str, Any], bool]] = [
    ("locmem", {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, True),
    ("db cache (a table name)", {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"}, True),
    ("memcached loopback", {"BACKEND": MEMCACHED, "LOCATION": "127.0.0.1:11211"}, True),
    ("memcached unix", {"BACKEND": MEMCACHED, "LOCATION": "unix:/tmp/servebench-x/memcached.sock"}, True),
    ("memcached remote", {"BACKEND": MEMCACHED, "LOCATION": "10.0.0.5:11211"}, False),
    ("memcached ; list", {"BACKEND": MEMCACHED, "LOCATION": "127.0.0.1:11211;10.0.0.5:11211"}, False),
    ("memcached , list", {"BACKEND": MEMCACHED, "LOCATION": "127.0.0.1:11211,10.0.0.5:11211"}, False),
    ("memcached list", {"BACKEND": MEMCACHED, "LOCATION": ["127.0.0.1:11211", "10.0.0.5:11211"]}, False),
    ("memcached [::1]", {"BACKEND": MEMCACHED, "LOCATION": "[::1]:11211"}, True),
    ("redis url", {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:6379/1"}, True),
    ("redis remote url", {"BACKEND": REDIS, "LOCATION": "rediss://user:pw@cache.example.com:6380/0"}, False),
    ("redis unix url", {"BACKEND": REDIS, "LOCATION": "unix:///run/redis.sock"}, True),
    ("django-redis list", {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": ["redis://10.0.0.5"]}, False),
]


@pytest.mark.parametrize(("what", "cache", "local"), CACHES, ids=[row[0] for row in CACHES])
def test_caches(what: str, cache: dict[str, Any], local: bool) -> None:
    problem = cache_problem(cache)
    assert (problem is None) is local, problem


def test_an_address_of_this_machine_is_local() -> None:
    import psutil

    def own() -> set[str]:
        return {a.address for each in psutil.net_if_addrs().values() for a in each if a.family.name == "AF_INET"}

    # Addresses that stay while it runs: a test of the client hosts adds and removes veth addresses meanwhile
    # (and this process may have read them, cached, before one was added).
    from probes.cli import backends

    backends._own_addresses.cache_clear()
    before = own()
    answers = {address: location_problem(f"{address}:11211") for address in before}
    assert all(answers[address] is None for address in before & own()), answers


def test_memcached_option_is_refused_without_connecting() -> None:
    # 10.255.255.1 is unroutable here: a connection attempt would hang; the check never makes one.
    started = time.monotonic()
    assert location_problem("10.255.255.1:11211") == "at 10.255.255.1"
    assert time.monotonic() - started < 0.5


def test_remote_backends_names_each_one(settings: Any) -> None:
    databases = deepcopy(django_settings.DATABASES)
    databases["reports"] = {"ENGINE": PG, "NAME": "reports", "OPTIONS": {"service": "prod"}}
    with pytest.warns(UserWarning, match="Overriding setting DATABASES"):
        settings.DATABASES = databases
    settings.CACHES = {**django_settings.CACHES, "shared": {"BACKEND": MEMCACHED, "LOCATION": "a:1;10.0.0.5:11211"}}
    assert remote_backends(memcached="10.0.0.7:11211") == [
        "database 'reports' whose host comes from OPTIONS service='prod'",
        "cache 'shared' at a, at 10.0.0.5",
        "--memcached 10.0.0.7",
    ]


def test_the_test_settings_are_local() -> None:
    assert remote_backends() == []
    assert remote_backends(memcached="127.0.0.1:11211") == []
