"""A full --json target does not stop the run: the main results file is still written, the extra path
is one warning; the main file that cannot be written still stops it, in one line."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from probes.bench.model.results import Suite
from probes.job.run import save
from probes.job.services import JobError
from tests.factories import METADATA, run


@pytest.fixture
def full(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A --json target on a full file system: every write of it fails with ENOSPC."""
    target = tmp_path / "full" / "x.json"
    real_dump = Suite.dump

    def dump(self: Suite, path: Path) -> None:
        if path == target:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_dump(self, path)

    monkeypatch.setattr(Suite, "dump", dump)
    return target


def test_a_full_json_target_is_one_warning_and_the_results_are_saved(full: Path, tmp_path: Path) -> None:
    main = tmp_path / "sweep-1.json"
    warned: list[str] = []
    seen: set[Path] = set()
    for done in range(1, 4):  # saved after each configuration, as the sweep does
        suite = Suite(metadata=METADATA, runs=tuple(run(2, [100.0]) for _ in range(done)))
        save(suite, (main, full), warn=warned.append, warned=seen)
        assert Suite.load(main) == suite
    assert warned == [f"cannot write {full} (No space left on device): the run goes on, its results are in {main}"]


def test_the_main_results_file_that_cannot_be_written_stops_the_run(full: Path) -> None:
    with pytest.raises(JobError, match=f"^cannot write {full}: No space left on device$"):
        save(Suite(metadata=METADATA), (full,), warn=lambda message: None, warned=set())
