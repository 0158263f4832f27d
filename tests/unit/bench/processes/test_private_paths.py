"""The secret key and the predictable paths in /tmp: private from the start, checked before reuse."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from probes.bench.processes.files import UnsafeTarget, create_private, private_dir, read_private
from settings.base import _shared_secret_key
from tests.conftest import as_other_user


def test_the_secret_key_is_created_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        key = _shared_secret_key(tmp_path / "var" / "secret_key")
    finally:
        os.umask(old)
    path = tmp_path / "var" / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
    assert len(key) >= 50 and _shared_secret_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temp file left


def test_create_private_never_replaces(tmp_path: Path) -> None:
    assert create_private(tmp_path / "key", "first")
    assert not create_private(tmp_path / "key", "second")
    assert read_private(tmp_path / "key") == "first"


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("k" * 50)
    path.chmod(0o644)
    with pytest.raises(UnsafeTarget, match="mode 0600"):
        _shared_secret_key(path)


def test_a_key_planted_by_another_user_is_refused(shared_dir: Path) -> None:
    path = shared_dir / "secret_key"
    as_other_user(["sh", "-c", f"umask 077; echo {'k' * 50} > {path}"])
    assert path.stat().st_uid != os.getuid()
    with pytest.raises(UnsafeTarget, match=r"regular file of yours"):
        _shared_secret_key(path)


def test_a_symlinked_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_text("k" * 50)
    (tmp_path / "secret_key").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeTarget, match="symbolic link"):
        _shared_secret_key(tmp_path / "secret_key")


def test_settings_turn_a_bad_key_file_into_one_line(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "secret_key").write_text("k" * 50)
    (var / "secret_key").chmod(0o644)
    env = {**os.environ, "SERVEBENCH_VAR_DIR": str(var), "DJANGO_SECRET_KEY": ""}
    done = subprocess.run(
        [sys.executable, "-c", "import settings.base"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: secret key" in done.stderr and "mode 0600" in done.stderr


def test_a_predictable_dir_planted_by_another_user_is_refused(shared_dir: Path) -> None:
    planted = shared_dir / f"servebench-lock-{os.getuid()}"
    as_other_user(["mkdir", "-m", "0777", str(planted)])
    with pytest.raises(UnsafeTarget, match=f"uid {planted.stat().st_uid}, not to you"):
        private_dir(planted)


def test_a_predictable_dir_that_is_a_link_is_refused(shared_dir: Path, tmp_path: Path) -> None:
    link = shared_dir / "servebench-test-results"
    link.symlink_to(tmp_path)
    with pytest.raises(UnsafeTarget, match="symbolic link"):
        private_dir(link)


def test_our_own_dir_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "mine"
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    assert private_dir(path) == path
    assert path.stat().st_mode & 0o777 == 0o700
    assert private_dir(tmp_path / "new").stat().st_mode & 0o777 == 0o700


def test_lock_dir_refuses_a_planted_directory(monkeypatch: pytest.MonkeyPatch, shared_dir: Path) -> None:
    from probes.conf import lock_dir

    monkeypatch.delenv("SERVEBENCH_RUN_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(shared_dir))
    as_other_user(["mkdir", "-m", "0777", str(shared_dir / f"servebench-lock-{os.getuid()}")])
    with pytest.raises(UnsafeTarget, match="another user may have planted it"):
        lock_dir()
