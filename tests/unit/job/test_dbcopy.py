"""--db-copy's SQLite copies: what the project's file holds (its WAL too), private, the source unchanged."""

from __future__ import annotations

import contextlib
import sqlite3
import stat
from pathlib import Path

from probes.job.dbcopy import _SqliteCopies


def test_a_copy_holds_what_is_still_in_the_wal_and_is_private(tmp_path: Path) -> None:
    source = tmp_path / "project.sqlite3"
    with contextlib.closing(sqlite3.connect(source)) as writer:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")  # the rows stay in project.sqlite3-wal
        writer.execute("CREATE TABLE ping (n INTEGER)")
        writer.executemany("INSERT INTO ping VALUES (?)", [(1,), (2,), (3,)])
        writer.commit()
        assert (tmp_path / "project.sqlite3-wal").stat().st_size > 0
        run_dir = tmp_path / "run"
        run_dir.mkdir(mode=0o700)
        copies = _SqliteCopies(run_dir, source)
        snapshot = copies.copy("source", None)  # taken while the project's connection is open
        config = copies.copy("config_1", snapshot)
    for name in (snapshot, config):
        assert stat.S_IMODE(Path(name).stat().st_mode) == 0o600
        with contextlib.closing(sqlite3.connect(name)) as copy:
            assert copy.execute("SELECT count(*) FROM ping").fetchone() == (3,)
    with contextlib.closing(sqlite3.connect(config)) as copy:
        copy.execute("DELETE FROM ping")
        copy.commit()
    with contextlib.closing(sqlite3.connect(source)) as project:
        assert project.execute("SELECT count(*) FROM ping").fetchone() == (3,)
    copies.drop(config)
    assert sorted(path.name for path in run_dir.iterdir()) == ["db-copy-source.sqlite3"]
