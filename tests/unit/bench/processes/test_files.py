"""Results are written atomically and never through a link another user planted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from probes.bench.processes.files import UnsafeTarget, write_atomic
from tests.conftest import as_other_user


def test_writes_and_replaces_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.json"
    write_atomic(target, "one\n")
    write_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"]


def test_a_planted_temp_name_is_not_followed(shared_dir: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o600)
    # The old fixed temp name, planted by another user as a link to the victim.
    planted = shared_dir / ".x.json.tmp"
    as_other_user(["ln", "-s", str(victim), str(planted)])
    assert planted.is_symlink() and planted.lstat().st_uid != os.getuid()
    write_atomic(shared_dir / "x.json", "result\n")
    assert victim.read_text() == "precious\n"
    assert (shared_dir / "x.json").read_text() == "result\n"
    assert planted.is_symlink()


def test_a_symlink_target_is_refused_in_one_line(shared_dir: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    as_other_user(["ln", "-s", str(victim), str(shared_dir / "x.json")])
    with pytest.raises(UnsafeTarget) as excinfo:
        write_atomic(shared_dir / "x.json", "result\n")
    assert "symbolic link" in excinfo.value.strerror and "\n" not in str(excinfo.value)
    assert victim.read_text() == "precious\n"
    assert (shared_dir / "x.json").is_symlink()
    assert sorted(p.name for p in shared_dir.iterdir()) == ["x.json"]  # no temp file left


def test_a_fifo_target_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeTarget, match="FIFO"):
        write_atomic(fifo, "result\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_a_directory_target_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").mkdir()
    with pytest.raises(UnsafeTarget, match="directory"):
        write_atomic(tmp_path / "x.json", "result\n")


def test_the_temp_file_is_removed_when_writing_fails(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        write_atomic(tmp_path / "x.json", "half \ud800")
    assert list(tmp_path.iterdir()) == []
