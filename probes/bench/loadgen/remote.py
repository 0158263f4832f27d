"""The load child on a client host: in a network namespace (ip netns exec) or over ssh.

Everything measured on the server side stays here; only the generator moves. The window is
aligned without trusting any clock: the child prints a line when its measured window starts
and one when it ends, and servebench takes its /proc and counter snapshots as it reads each
(the ssh or interpreter start-up falls outside). A child silent past its deadline is a failed
window; on its host a `timeout` servebench set ends it, and so does its stdin closing.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from ... import __version__
from ..processes.supervisor import die_with_parent
from .hosts import ClientHost, Remote
from .merge import merge_results, split_spec
from .model import FORMAT, LoadgenError, LoadResult, LoadSpec, check_supported
from .process import deadline_s

MARK = "servebench-window "
Hook = Callable[[], None]
_PACKAGE_ROOT = Path(__file__).resolve().parents[3]


def handshake_line() -> str:
    """What a client host's servebench says first: its version and result format, compared to ours."""
    return f"servebench-loadgen {__version__} {FORMAT}"


def mark(event: str) -> None:
    """The child's side: say the measured window starts or ends (servebench snapshots on reading it)."""
    sys.stdout.write(MARK + event + "\n")
    sys.stdout.flush()


def end_on_eof(stream: IO[str]) -> None:
    """The child's side: TERM itself once stdin closes (servebench gone, or the ssh session closed)."""

    def watch() -> None:
        while stream.readline():
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def ssh_argv(client: ClientHost) -> list[str]:
    """ssh with the user's own config and agent, never a prompt, one master connection per host."""
    argv = ["ssh", "-o", "BatchMode=yes", "-T"]
    if client.ssh_config:
        argv += ["-F", client.ssh_config]
    if client.control_dir:
        argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={client.control_dir}/ssh-%C"]
        argv += ["-o", "ControlPersist=60"]
    if client.port:
        argv += ["-p", str(client.port)]
    return [*argv, "--", client.name]


def child_argv(client: ClientHost, child_args: Sequence[str], *, timeout_s: float | None = None) -> list[str]:
    """The command that runs `python -m probes.bench.loadgen child_args` on the client host, under a
    `timeout` there (TERM at timeout_s, KILL 2 s later)."""
    limit = ["timeout", "-k", "2", f"{timeout_s:.0f}"] if timeout_s else []
    if client.kind == "netns":
        # This machine's interpreter: the namespace shares its files.
        return ["ip", "netns", "exec", client.name, *limit, sys.executable, "-m", "probes.bench.loadgen", *child_args]
    python = list(client.python or ("python3",))
    return [*ssh_argv(client), *limit, *python, "-m", "probes.bench.loadgen", *child_args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


@dataclass(frozen=True)
class Handshake:
    """A client host's answer: what is wrong (None: it speaks ours), and how it sees this host over ssh."""

    problem: str | None
    ssh_connection: tuple[str, ...] = ()  # SSH_CONNECTION there: this host's address, port, its own, port


def handshake(client: ClientHost, *, timeout_s: float = 20.0) -> Handshake:
    """Ask the client host's servebench for its version and format before anything starts."""
    try:
        done = subprocess.run(
            child_argv(client, ["--handshake"], timeout_s=timeout_s),
            capture_output=True,
            text=True,
            timeout=timeout_s + 5,
            env=_env(),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Handshake(f"client host {client.label}: no answer ({type(exc).__name__})")
    said = done.stdout.strip().splitlines()
    if done.returncode != 0 or not said:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return Handshake(f"client host {client.label}: servebench's load child did not start there ({why})")
    if said[0] != handshake_line():
        return Handshake(
            f"client host {client.label} runs {said[0]!r}, this host {handshake_line()!r}: install the same"
        )
    seen = next((line.split()[1:] for line in said[1:] if line.startswith("ssh-connection ")), [])
    return Handshake(None, tuple(seen))


class RemoteChild:
    """One load child on a client host; its stdin stays open (closing it ends the child)."""

    def __init__(self, client: ClientHost, spec: LoadSpec, generator: str) -> None:
        self.client = client
        self.generator = generator
        self.deadline_s = deadline_s(spec, generator)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        argv = child_argv(
            client, ["--generator", generator, "--spec-stdin", "--markers"], timeout_s=self.deadline_s + 5
        )
        # The spec goes on stdin, never in an argv (on this host or the client's): its headers may
        # hold a session cookie. Its own session: one killpg stops ip/ssh and what runs under them.
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=_env(),
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        assert self.popen.stdin is not None and self.popen.stdout is not None
        os.set_blocking(self.popen.stdout.fileno(), False)
        self.buffer = b""
        self.lines: list[str] = []
        try:
            self.popen.stdin.write((json.dumps(spec.to_dict()) + "\n").encode())
            self.popen.stdin.flush()
        except BrokenPipeError:
            pass  # it died at once: its stderr says why

    def feed(self) -> bool:
        """Read what is there; False at EOF."""
        assert self.popen.stdout is not None
        chunk = self.popen.stdout.read()
        if chunk is None:
            return True
        if not chunk:
            return False
        self.buffer += chunk
        *whole, self.buffer = self.buffer.split(b"\n")
        self.lines += [line.decode(errors="replace") for line in whole]
        return True

    def failure(self) -> str:
        self._stderr.seek(0)
        said = self._stderr.read().decode(errors="replace").strip().splitlines()
        status = self.popen.poll()
        return f"{self.generator} load generator on {self.client.label} failed: " + (
            said[-1] if said else f"exit status {status}"
        )

    def result(self) -> LoadResult:
        for line in reversed(self.lines):
            if line.startswith("{"):
                return LoadResult.from_dict(json.loads(line))
        raise LoadgenError(self.failure())

    def close(self) -> None:
        """Close stdin (the child ends on EOF), then stop what is left of its session here."""
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.popen.stdin.close()
        try:
            self.popen.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._stderr.close()


def run_remote(
    clients: Sequence[ClientHost],
    specs: Sequence[LoadSpec],
    generator: str,
    *,
    on_start: Hook | None = None,
    on_end: Hook | None = None,
    pin: set[int] | None = None,
) -> list[LoadResult]:
    """Run one child per client host at once; on_start at the first window start read, on_end at the
    last window end read. Their results in the clients' order; LoadgenError for a failed window."""
    for spec in specs:
        check_supported(spec, generator)
    children: list[RemoteChild] = []
    try:
        for client, spec in zip(clients, specs, strict=True):
            children.append(RemoteChild(client, spec, generator))
            if pin is not None and client.kind == "netns":
                os.sched_setaffinity(children[-1].popen.pid, pin)
        _follow(children, on_start, on_end, max(child.deadline_s for child in children))
        return [child.result() for child in children]
    finally:
        for child in children:
            child.close()


def _follow(children: list[RemoteChild], on_start: Hook | None, on_end: Hook | None, deadline_s: float) -> None:
    """Read every child's lines until each has said its result (or closed); call the hooks on the markers."""
    selector = selectors.DefaultSelector()
    for child in children:
        assert child.popen.stdout is not None
        selector.register(child.popen.stdout, selectors.EVENT_READ, child)
    started, ended = False, 0
    deadline = time.monotonic() + deadline_s
    seen = {id(child): 0 for child in children}
    while selector.get_map():
        left = deadline - time.monotonic()
        if left <= 0:
            raise LoadgenError(f"{children[0].generator} load generator silent past its deadline ({deadline_s:.0f} s)")
        for key, _ in selector.select(timeout=min(left, 1.0)):
            child = key.data
            done = not child.feed()
            for line in child.lines[seen[id(child)] :]:
                if line == MARK + "start" and not started:
                    started = True
                    if on_start:
                        on_start()
                elif line == MARK + "end":
                    ended += 1
                    if ended == len(children) and on_end:
                        on_end()
                done = done or line.startswith("{")
            seen[id(child)] = len(child.lines)
            if done:
                selector.unregister(key.fileobj)
    selector.close()
    if ended < len(children):
        failed = next(child for child in children if not any(line.startswith("{") for line in child.lines))
        with contextlib.suppress(subprocess.TimeoutExpired):
            failed.popen.wait(timeout=5)
        raise LoadgenError(failed.failure())


def drive_remote(
    remote: Remote,
    spec: LoadSpec,
    generator: str,
    client_cores: set[int] | None,
    *,
    on_start: Hook | None = None,
    on_end: Hook | None = None,
) -> LoadResult:
    """One window from every client host at once, aimed at remote.listen; their results merged."""
    specs = split_spec(replace(spec, host=remote.listen), len(remote.clients))
    results = run_remote(remote.clients, specs, generator, on_start=on_start, on_end=on_end, pin=client_cores)
    return results[0] if len(results) == 1 else merge_results(results)


def close_masters(remote: Remote | None) -> None:
    """End the ssh master connections of the run (ssh -O exit on their sockets): nothing outlives it."""
    for client in remote.clients if remote else ():
        if client.kind == "ssh" and client.control_dir:
            subprocess.run(
                [*ssh_argv(client)[:-2], "-O", "exit", "--", client.name],
                capture_output=True,
                timeout=10,
                stdin=subprocess.DEVNULL,
                check=False,
            )
