"""What the cli's tests share: the proof that a refusal started nothing."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from probes.conf import results_dir


@pytest.fixture
def nothing_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Checks after a refusal: no child process, no Popen at all, no run directory, no results file."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where a run directory would go
    started: list[object] = []
    original = subprocess.Popen.__init__

    def recording(self: subprocess.Popen[bytes], *args: object, **kwargs: object) -> None:
        started.append(args[0] if args else kwargs.get("args"))
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(subprocess.Popen, "__init__", recording)
    me = psutil.Process()
    children_before = {child.pid for child in me.children(recursive=True)}
    results = results_dir()  # the test's settings: a test may change them before it checks
    results_before = set(results.glob("*")) if results.is_dir() else set()

    def check() -> None:
        assert started == [], f"a process was started: {started}"
        assert {child.pid for child in me.children(recursive=True)} == children_before
        assert list(tmp_path.glob("servebench-*")) == [], "a run directory was created"
        assert (set(results.glob("*")) if results.is_dir() else set()) == results_before

    yield check
