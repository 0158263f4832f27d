"""The cause of a configuration a dying process ended: one line, the process and how it ended (issue 21, item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.bench.judge.quality import Ended, process_ended
from probes.bench.measure import ended


def test_nothing_ended_is_no_cause() -> None:
    assert process_ended([]) is None


def test_nginx_killed_is_named_with_its_signal() -> None:
    cause = process_ended([Ended("nginx", "nginx-4100", 4200, -9, "during the window")])
    assert cause == "nginx exited (signal 9, SIGKILL) during the window"


def test_a_server_that_exits_with_a_status_says_it() -> None:
    cause = process_ended([Ended("server", "gunicorn-4100", 4201, 1, "during the warm-up")])
    assert cause == "gunicorn (its master) exited (status 1) during the warm-up"


def test_the_service_explains_the_rest_first() -> None:
    # memcached died: the server's failures follow from it, so it is named, not the server.
    cause = process_ended(
        [
            Ended("server", "gunicorn-4100", 4201, -15, "during the window"),
            Ended("memcached", "memcached-ab12cd34", 4000, -9, "during the window"),
        ]
    )
    assert cause == "servebench's memcached died (signal 9, SIGKILL) during the window"


def test_a_sigkill_while_the_oom_count_rose_is_the_oom_killers() -> None:
    cause = process_ended([Ended("nginx", "nginx-4100", 4200, -9, "during the window")], oom_kills=1)
    assert cause == "the OOM killer ended nginx during the window (the kernel's oom_kill count rose; see dmesg)"


def test_a_worker_gone_is_a_cause_only_when_the_oom_killer_ended_it() -> None:
    worker = Ended("worker", "gunicorn-4100", 4321, None, "during the window")
    assert process_ended([worker]) is None  # the server replaces it; its log says so
    assert process_ended([worker], oom_kills=2) == (
        "the OOM killer ended worker 4321 of gunicorn during the window (the kernel's oom_kill count rose; see dmesg)"
    )


def test_the_oom_count_is_read_from_vmstat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vmstat = tmp_path / "vmstat"
    vmstat.write_text("pgfault 12\noom_kill 3\nthp_fault_alloc 0\n")
    monkeypatch.setattr(ended, "VMSTAT", str(vmstat))
    assert ended.oom_kills() == 3
    monkeypatch.setattr(ended, "VMSTAT", str(tmp_path / "missing"))
    assert ended.oom_kills() == 0
