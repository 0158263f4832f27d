"""Tests for probes.bench.measure.cpu against real processes (no servers needed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psutil
import pytest

from probes.bench.measure import cpu as metrics
from probes.bench.measure.cpu import CpuSnapshot, CpuWindow, ProcessCpu, RoleSnapshot, snapshot_cpu
from probes.bench.measure.cpu_accounting import cpu_between
from probes.bench.measure.memory import measure_tree_memory
from probes.bench.model.memory import MemoryFit, TreeMemory, fit_memory

# A process driven line by line over stdin; it answers on stdout, which its own
# children (spawned agents) share, so "tell" is answered by the child.
AGENT = r"""
import os, subprocess, sys, time

def burn(seconds):
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass

kids = []
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "burn":
        burn(float(arg))
    elif cmd == "run":
        subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[1]], input=f"burn {arg}\n",
                       text=True, stdout=subprocess.DEVNULL, check=True)
    elif cmd == "spawn":
        kids.append(subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[1]],
                                     stdin=subprocess.PIPE, text=True))
        print(kids[-1].pid, flush=True)
        continue
    elif cmd == "tell":
        kids[-1].stdin.write(arg + "\n")
        kids[-1].stdin.flush()
        continue
    elif cmd == "reap":
        kids[-1].stdin.close()
        kids.pop().wait()
    elif cmd == "exit":
        break
    elif cmd == "fork":
        pids, (ready_r, ready_w) = [], os.pipe()
        for _ in range(int(arg)):
            pid = os.fork()
            if pid == 0:
                ballast = b"x" * (4 << 20)
                os.write(ready_w, b".")
                time.sleep(3600)
                os._exit(0)
            pids.append(pid)
        for _ in pids:
            os.read(ready_r, 1)
        print(" ".join(map(str, pids)), flush=True)
        continue
    print("ok", flush=True)
"""


class Agent:
    """One agent process in its own session, so its whole group can be killed."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.pid = proc.pid

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def ask(self, command: str) -> str:
        self.send(command)
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()


@contextmanager
def agent() -> Iterator[Agent]:
    with subprocess.Popen(
        [sys.executable, "-c", AGENT, AGENT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        # a lost answer must fail the test, not hang it: killing the group ends readline
        watchdog = threading.Timer(30, _kill_group, args=(proc.pid,))
        watchdog.start()
        try:
            yield Agent(proc)
        finally:
            watchdog.cancel()
            _kill_group(proc.pid)  # the group holds spawned and forked descendants too
            proc.wait(timeout=10)


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def wait_until_zombie(pid: int) -> None:
    deadline = time.monotonic() + 10
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"pid {pid} did not exit"
        time.sleep(0.01)


def test_child_burning_in_window_counts_in_its_role_only() -> None:
    with agent() as burner, agent() as idle:
        start = snapshot_cpu({"burner": [burner.pid], "idle": [idle.pid]})
        assert burner.ask("burn 0.3") == "ok"
        window = cpu_between(start, snapshot_cpu({"burner": [burner.pid], "idle": [idle.pid]}))
    assert window.role("burner").total_s >= 0.25
    assert window.role("idle").total_s < 0.05
    assert window.role("burner").processes == 1


def test_child_born_in_window_and_alive_at_end_counts_whole() -> None:
    with agent() as parent:
        start = snapshot_cpu({"tree": [parent.pid]})
        kid_pid = int(parent.ask("spawn"))
        assert parent.ask("tell burn 0.3") == "ok"
        end = snapshot_cpu({"tree": [parent.pid]})
    window = cpu_between(start, end)
    assert kid_pid in {p.pid for r in end.roles for p in r.processes}
    assert window.role("tree").total_s >= 0.25
    assert window.role("tree").processes == 2


def test_grandchild_born_and_reaped_in_window_is_counted() -> None:
    with agent() as parent:
        start = snapshot_cpu({"tree": [parent.pid]})
        assert parent.ask("run 0.3") == "ok"  # born, burns, exits and is reaped
        window = cpu_between(start, snapshot_cpu({"tree": [parent.pid]}))
    assert window.role("tree").total_s >= 0.25
    assert window.role("tree").processes == 1  # never seen alive by a snapshot


def test_exited_process_brings_no_pre_window_cpu() -> None:
    with agent() as parent:
        parent.ask("spawn")
        assert parent.ask("tell burn 0.5") == "ok"  # before the window
        start = snapshot_cpu({"tree": [parent.pid]})
        assert parent.ask("reap") == "ok"  # exits and is reaped inside the window
        window = cpu_between(start, snapshot_cpu({"tree": [parent.pid]}))
    tree = window.role("tree")
    assert tree.total_s < 0.15
    assert (tree.processes, tree.exited_processes) == (2, 1)
    assert window.notes == ()


def test_process_alive_throughout_counts_only_its_delta() -> None:
    with agent() as parent:
        kid_pid = int(parent.ask("spawn"))
        assert parent.ask("tell burn 0.4") == "ok"  # before the window
        start = snapshot_cpu({"tree": [parent.pid]})
        assert parent.ask("tell burn 0.3") == "ok"
        window = cpu_between(start, snapshot_cpu({"tree": [parent.pid]}))
    assert 0.25 <= window.role("tree").total_s < 0.5
    assert kid_pid in {p.pid for r in start.roles for p in r.processes}


def test_roles_do_not_double_count_and_most_specific_root_wins() -> None:
    with agent() as parent:
        kid_pid = int(parent.ask("spawn"))
        roles = {"outer": [parent.pid], "inner": [kid_pid]}
        start = snapshot_cpu(roles)
        assert parent.ask("tell burn 0.3") == "ok"
        assert parent.ask("tell run 0.2") == "ok"  # the kid's own child: still "inner"
        end = snapshot_cpu(roles)
    window = cpu_between(start, end)
    outer_pids = {p.pid for r in end.roles if r.role == "outer" for p in r.processes}
    assert outer_pids == {parent.pid}
    assert window.role("inner").total_s >= 0.45
    assert window.role("outer").total_s < 0.1


def test_role_reaped_by_another_role_is_noted() -> None:
    with agent() as bench:
        kid_pid = int(bench.ask("spawn"))
        roles = {"bench": [bench.pid], "client": [kid_pid]}
        start = snapshot_cpu(roles)
        assert bench.ask("tell burn 0.3") == "ok"
        assert bench.ask("reap") == "ok"
        window = cpu_between(start, snapshot_cpu(roles))
    # the kernel hands the client's CPU to its reaper; the report says so
    assert window.role("bench").total_s >= 0.25
    assert window.role("client").total_s == 0.0
    assert any(f"pid {kid_pid}" in note and "'bench'" in note for note in window.notes)


def test_same_root_in_two_roles_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        snapshot_cpu({"a": [os.getpid()], "b": [os.getpid()]})


def test_vanishing_processes_do_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    with agent() as parent:
        kid_pid = int(parent.ask("spawn"))
        parent.send("tell exit")  # left unreaped by its parent: a zombie
        wait_until_zombie(kid_pid)
        with agent() as doomed:
            doomed_pid = doomed.pid
            roles = {"tree": [parent.pid], "doomed": [doomed_pid], "gone": [2**22 + 1]}
            start = snapshot_cpu(roles)
        end = snapshot_cpu(roles)
        window = cpu_between(start, end)
        assert window.role("gone").processes == 0
        assert window.role("doomed").exited_processes == 1
        assert any(f"pid {doomed_pid}" in note for note in window.notes)

        # vanishing between listing and reading: patched below psutil's caching layer
        real_cpu_times = psutil._psplatform.Process.cpu_times

        def flaky(self: Any) -> object:
            if self.pid == kid_pid:
                raise psutil.NoSuchProcess(self.pid)
            return real_cpu_times(self)

        monkeypatch.setattr(psutil._psplatform.Process, "cpu_times", flaky)
        flaky_end = snapshot_cpu(roles)
    assert kid_pid not in {p.pid for r in flaky_end.roles for p in r.processes}
    cpu_between(start, flaky_end)
    with pytest.raises(ProcessLookupError):
        measure_tree_memory(doomed_pid)


def test_machine_busy_covers_roles() -> None:
    roles = {"me": [os.getpid()]}
    with agent() as burner:
        roles["burner"] = [burner.pid]
        start = snapshot_cpu(roles)
        burner.ask("burn 0.3")
        window = cpu_between(start, snapshot_cpu(roles))
    assert window.wall_s > 0
    assert window.cores == psutil.cpu_count()
    tick_s = 1.0 / os.sysconf("SC_CLK_TCK")
    assert window.machine_busy_s >= window.roles_total_s - 4 * tick_s
    assert window.unexplained_s == window.machine_busy_s - window.roles_total_s
    assert 0 < window.busy_fraction <= 1.05
    assert window.machine_idle_s >= 0


def test_tree_memory_of_forked_workers() -> None:
    with agent() as parent:
        worker_pids = {int(pid) for pid in parent.ask("fork 2").split()}
        tree = measure_tree_memory(parent.pid)
    assert len(tree.processes) == 3
    assert tree.worker_count == 2
    assert {p.pid for p in tree.workers} == worker_pids
    assert [p.role for p in tree.processes] == ["master", "worker", "worker"]
    assert all(p.ppid == parent.pid for p in tree.workers)
    for proc in tree.processes:
        assert 0 < proc.uss_bytes <= proc.pss_bytes <= proc.rss_bytes
        assert proc.name.startswith("python")
    assert tree.per_worker_uss_bytes is not None and tree.per_worker_uss_bytes >= 4 << 20
    assert tree.total_pss_bytes <= tree.total_rss_bytes
    assert tree.master_uss_bytes == tree.processes[0].uss_bytes


def test_tree_memory_skips_a_worker_vanishing(monkeypatch: pytest.MonkeyPatch) -> None:
    with agent() as parent:
        worker_pids = [int(pid) for pid in parent.ask("fork 2").split()]
        real = psutil._psplatform.Process.memory_full_info

        def flaky(self: Any) -> object:
            if self.pid == worker_pids[0]:
                raise psutil.NoSuchProcess(self.pid)
            return real(self)

        monkeypatch.setattr(psutil._psplatform.Process, "memory_full_info", flaky)
        tree = measure_tree_memory(parent.pid)
    assert [p.pid for p in tree.workers] == worker_pids[1:]


def test_fit_memory_is_exact_on_a_line() -> None:
    mb = 1_000_000
    fit = fit_memory([(w, 23 * mb + 15 * mb * w) for w in (1, 2, 4, 8)])
    assert fit is not None
    assert fit.base_bytes == pytest.approx(23 * mb)
    assert fit.per_worker_bytes == pytest.approx(15 * mb)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.predict_bytes(workers=3) == pytest.approx(68 * mb)


def test_fit_memory_noisy_and_underdetermined() -> None:
    noisy = fit_memory([(1, 10.0), (2, 21.0), (3, 29.0), (4, 41.0)])
    assert noisy is not None and 0.9 < noisy.r2 < 1.0
    assert fit_memory([(2, 50.0), (2, 52.0)]) is None
    assert fit_memory([]) is None
    flat = fit_memory([(1, 5.0), (2, 5.0)])
    assert flat is not None and (flat.per_worker_bytes, flat.r2) == (0.0, 1.0)


def test_round_trips_through_json() -> None:
    with agent() as parent:
        parent.ask("fork 1")
        start = snapshot_cpu({"tree": [parent.pid], "me": [os.getpid()]})
        parent.ask("burn 0.05")
        window = cpu_between(start, snapshot_cpu({"tree": [parent.pid], "me": [os.getpid()]}))
        tree = measure_tree_memory(parent.pid)
    fit = fit_memory([(1, 3.5), (2, 5.0), (3, 6.0)])
    assert fit is not None
    for value, kind in ((window, CpuWindow), (tree, TreeMemory), (fit, MemoryFit)):
        data = json.loads(json.dumps(value.to_dict()))
        assert kind.from_dict(data) == value
    assert json.loads(json.dumps(start.to_dict()))["roles"][0]["role"] == "tree"
    assert window.to_dict()["unexplained_s"] == window.unexplained_s
    assert tree.to_dict()["worker_count"] == 1


def test_machine_cpu_reads_proc_stat() -> None:
    busy_s, idle_s, cores = metrics.read_machine_cpu()
    assert busy_s > 0 and idle_s > 0 and cores == psutil.cpu_count()


def _proc(pid: int, ppid: int, *times: float) -> ProcessCpu:
    user_s, system_s, children_user_s, children_system_s = times
    return ProcessCpu(
        pid=pid,
        ppid=ppid,
        create_time=1000.0 + pid,
        user_s=user_s,
        system_s=system_s,
        children_user_s=children_user_s,
        children_system_s=children_system_s,
    )


def _snap(at_s: float, *processes: ProcessCpu) -> CpuSnapshot:
    role = RoleSnapshot(role="server", root_pids=(10,), processes=processes)
    return CpuSnapshot(monotonic_s=at_s, roles=(role,), machine_busy_s=at_s, machine_idle_s=0.0, cores=2)


def test_cpu_between_arithmetic_on_built_snapshots() -> None:
    start = _snap(1.0, _proc(10, 1, 1.0, 0.5, 0.0, 0.0), _proc(11, 10, 2.0, 1.0, 0.5, 0.0))
    # worker 11 used 0.3 s user + 0.1 s system more, died and was reaped by 10;
    # worker 12 was born and used 0.4 s; 10 itself used 0.2 s user
    end = _snap(3.0, _proc(10, 1, 1.2, 0.5, 2.8, 1.1), _proc(12, 10, 0.4, 0.0, 0.0, 0.0))
    server = cpu_between(start, end).role("server")
    assert server.user_s == pytest.approx(0.2 + 0.3 + 0.4)
    assert server.system_s == pytest.approx(0.1)
    assert (server.processes, server.exited_processes) == (3, 1)


def test_orphaned_exit_is_clamped_and_noted() -> None:
    start = _snap(1.0, _proc(10, 1, 1.0, 0.5, 0.0, 0.0), _proc(11, 10, 2.0, 1.0, 0.0, 0.0))
    end = _snap(2.0, _proc(10, 1, 1.1, 0.5, 0.0, 0.0))  # 11 was reaped elsewhere
    window = cpu_between(start, end)
    assert window.role("server").total_s == 0.0
    assert any("clamped" in note for note in window.notes)
