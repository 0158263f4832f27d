"""Which process a configuration depends on ended while it was measured: the facts quality.process_ended words.

Read before the stack is stopped (a stop ends everything, so afterwards nothing tells a
death from a stop): the server's and nginx's exit statuses, the services servebench
started beside them, the server's workers that are gone, and the kernel's OOM kill count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..judge.quality import Ended, process_ended
from ..processes.child import Child
from ..servers.stack import Stack

VMSTAT = "/proc/vmstat"


def oom_kills() -> int:
    """Processes the kernel's OOM killer ended since boot (Linux 4.13+; 0 where it is not said)."""
    try:
        with open(VMSTAT) as file:
            for line in file:
                name, _, value = line.partition(" ")
                if name == "oom_kill":
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def ended_services(watched: Mapping[str, Child], *, when: str) -> list[Ended]:
    """The services beside the servers (role -> child) that have exited."""
    return [
        Ended(role, child.name, child.pid, code, when)
        for role, child in watched.items()
        if (code := child.popen.poll()) is not None
    ]


@dataclass
class Watch:
    """What a configuration depends on, from its start: ended() says what has gone since."""

    stack: Stack
    watched: Mapping[str, Child]
    oom_before: int = field(default_factory=oom_kills)
    workers: set[tuple[int, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        server = self.stack.server
        self.workers = {(p.pid, p.start_ticks) for p in server.tree() if p.pid != server.pid and p.state != "Z"}

    def ended(self, *, when: str) -> tuple[list[Ended], int]:
        """(what ended, OOM kills since the start); call before the stack is stopped."""
        found = ended_services(self.watched, when=when)
        for role, child in (("nginx", self.stack.front), ("server", self.stack.server)):
            if child is not None and (code := child.popen.poll()) is not None:
                found.append(Ended(role, child.name, child.pid, code, when))
        now = {(p.pid, p.start_ticks) for p in self.stack.server.tree() if p.state != "Z"}
        name = self.stack.server.name
        found += [Ended("worker", name, pid, None, when) for pid, start in sorted(self.workers - now)]
        return found, max(0, oom_kills() - self.oom_before)

    def check(self) -> None:
        """ProcessLookupError when the server, nginx or a watched service has exited: the phase ends here."""
        children = [self.stack.server, self.stack.front, *self.watched.values()]
        gone = [child.name for child in children if child is not None and child.popen.poll() is not None]
        if gone:
            raise ProcessLookupError(f"{', '.join(gone)} exited while being measured")

    def cause(self, *, when: str) -> str | None:
        """The judge's one line for what ended (quality.process_ended), None when nothing did."""
        ended, oom = self.ended(when=when)
        return process_ended(ended, oom_kills=oom)
