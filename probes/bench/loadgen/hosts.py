"""Where the load comes from when it is not this host: client hosts (a description; remote.py runs them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientHost:
    """Where one load child runs: a network namespace of this machine, or an ssh destination."""

    kind: str  # "netns" or "ssh"
    name: str  # the namespace, or user@host
    port: int | None = None  # ssh's port
    python: tuple[str, ...] = ()  # the client host's interpreter command (ssh; default python3)
    control_dir: str | None = None  # the 0700 run dir, for ssh's ControlMaster socket
    ssh_config: str | None = None  # ssh -F: a config of its own (default: the user's own, ~/.ssh/config)

    @property
    def label(self) -> str:
        return f"netns {self.name}" if self.kind == "netns" else self.name + (f":{self.port}" if self.port else "")


@dataclass(frozen=True)
class Remote:
    """The load from client hosts: where their children run, the address of this host they load
    (nginx listens there) and theirs (the only ones nginx lets in)."""

    clients: tuple[ClientHost, ...]
    listen: str
    allowed: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.clients:
            raise ValueError("remote load needs at least one client host")

    @property
    def on_this_machine(self) -> bool:
        """Namespaces share this machine's cores: their CPU is in its /proc/stat."""
        return all(client.kind == "netns" for client in self.clients)

    def here_s(self, client_cpu_s: float) -> float:
        """The clients' CPU that /proc/stat of this host counted (a namespace's), to take out of it."""
        return client_cpu_s if self.on_this_machine else 0.0
