"""The project's own database server, found where its driver connects (issue 20: a unix socket read as
"another process", the verdict machine-shared)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.job import database_server as module
from probes.job.database_server import (
    DatabaseServer,
    Endpoint,
    database_server,
    endpoint,
    listener,
    lock_file_pid,
    socket_holder,
    unix_listener_inode,
)

PG = "django.db.backends.postgresql"
MYSQL = "django.db.backends.mysql"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory whose socket paths fit the 107-byte limit (pytest's tmp_path may not)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sb-db-", dir="/tmp") as name:
        yield Path(name)


def listening_unix(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    return server


def test_empty_host_and_port_is_libpqs_default_socket(monkeypatch: pytest.MonkeyPatch, short_dir: Path) -> None:
    monkeypatch.setattr(module, "POSTGRES_SOCKET_DIRS", (str(short_dir / "missing"), str(short_dir)))
    (short_dir / ".s.PGSQL.5432").touch()
    # The first default directory that has the socket, at the driver's default port.
    assert endpoint({"ENGINE": PG, "HOST": "", "PORT": ""}, {}) == Endpoint(socket=f"{short_dir}/.s.PGSQL.5432")


def test_a_host_path_pghost_options_port_and_pgport_are_where_libpq_connects() -> None:
    assert endpoint({"ENGINE": PG, "HOST": "/srv/pg/", "PORT": "5433"}, {}) == Endpoint(socket="/srv/pg/.s.PGSQL.5433")
    assert endpoint({"ENGINE": PG, "OPTIONS": {"port": "6000"}, "HOST": "/srv/pg"}, {}) == Endpoint(
        socket="/srv/pg/.s.PGSQL.6000"
    )
    environ = {"PGHOST": "/run/pg", "PGPORT": "5999"}
    assert endpoint({"ENGINE": PG}, environ) == Endpoint(socket="/run/pg/.s.PGSQL.5999")
    # TCP with the driver's default port when PORT is empty.
    assert endpoint({"ENGINE": PG, "HOST": "127.0.0.1", "PORT": ""}, {}) == Endpoint(port=5432)
    assert endpoint({"ENGINE": PG, "HOST": "localhost", "PORT": "5544"}, {}) == Endpoint(port=5544)


def test_a_service_file_is_named_not_guessed_and_remote_or_sqlite_has_no_local_server() -> None:
    assert endpoint({"ENGINE": PG, "OPTIONS": {"service": "shop"}}, {}) == "OPTIONS service"
    assert endpoint({"ENGINE": PG}, {"PGSERVICE": "shop"}) == "PGSERVICE"
    assert endpoint({"ENGINE": PG, "HOST": "db.example.com"}, {}) is None
    assert endpoint({"ENGINE": "django.db.backends.sqlite3", "NAME": "x.sqlite3"}, {}) is None
    assert database_server({"ENGINE": PG, "OPTIONS": {"service": "shop"}}, {}) == DatabaseServer(
        None, "its host comes from OPTIONS service"
    )


def test_mysql_localhost_is_its_socket_and_an_address_its_default_port() -> None:
    assert endpoint({"ENGINE": MYSQL, "HOST": "localhost", "OPTIONS": {"unix_socket": "/s/my.sock"}}, {}) == Endpoint(
        socket="/s/my.sock"
    )
    assert endpoint({"ENGINE": MYSQL, "HOST": "/var/lib/mysql/mysql.sock"}, {}) == Endpoint(
        socket="/var/lib/mysql/mysql.sock"
    )
    assert endpoint({"ENGINE": MYSQL, "HOST": "127.0.0.1", "PORT": ""}, {}) == Endpoint(port=3306)


def test_the_process_holding_a_listening_unix_socket_is_found(short_dir: Path) -> None:
    path = short_dir / ".s.PGSQL.5432"
    with listening_unix(path):
        inode = unix_listener_inode(str(path))
        assert inode is not None
        assert socket_holder(inode) == os.getpid()
        assert listener(Endpoint(socket=str(path))) == os.getpid()
    assert unix_listener_inode(str(path)) is None  # closed: nothing listens


def test_a_host_directory_finds_the_server_where_the_tcp_only_search_found_nothing(short_dir: Path) -> None:
    with listening_unix(short_dir / ".s.PGSQL.5999"):
        found = database_server({"ENGINE": PG, "HOST": str(short_dir), "PORT": "5999"}, {})
    assert found == DatabaseServer(os.getpid(), f"unix socket {short_dir}/.s.PGSQL.5999")


def test_postgresqls_lock_file_names_the_postmaster(short_dir: Path) -> None:
    socket_path = short_dir / ".s.PGSQL.5432"
    (short_dir / ".s.PGSQL.5432.lock").write_text(f"{os.getpid()}\n{short_dir}/data\n1700000000\n5432\n")
    assert lock_file_pid(str(socket_path)) == os.getpid()
    assert listener(Endpoint(socket=str(socket_path))) == os.getpid()  # no socket needed: the lock file says
    (short_dir / ".s.PGSQL.5432.lock").write_text("not a pid\n")
    assert lock_file_pid(str(socket_path)) is None


def test_fake_proc_the_listening_entry_and_the_lowest_holder(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "unix").write_text(
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        "0000000000000000: 00000003 00000000 00000000 0001 03 111 /run/pg/.s.PGSQL.5432\n"  # a connection
        "0000000000000000: 00000002 00000000 00010000 0001 01 222 /run/pg/.s.PGSQL.5432\n"  # the listener
        "0000000000000000: 00000002 00000000 00010000 0001 01 333 /run/other.sock\n"
    )
    for pid, inode in ((900, 222), (901, 222), (77, 333)):
        (proc / str(pid) / "fd").mkdir(parents=True)
        (proc / str(pid) / "fd" / "3").symlink_to(f"socket:[{inode}]")
    (proc / "self").mkdir()
    assert unix_listener_inode("/run/pg/.s.PGSQL.5432", proc=proc) == 222
    assert socket_holder(222, proc=proc) == 900  # the postmaster; its children inherit the socket
    assert unix_listener_inode("/run/pg/.s.PGSQL.5433", proc=proc) is None


def test_a_tcp_listener_at_the_default_port_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    monkeypatch.setattr(module, "POSTGRES_PORT", port)
    try:
        assert database_server({"ENGINE": PG, "HOST": "127.0.0.1", "PORT": ""}, {}) == DatabaseServer(
            os.getpid(), f"TCP port {port}"
        )
    finally:
        server.close()
