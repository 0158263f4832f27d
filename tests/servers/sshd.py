"""A private sshd in a client namespace: its own config, host key and authorized_keys, on the client's
address port 2222; started and ended by pid. The client side gets an ssh config file of its own, so the
user's ~/.ssh is never touched. This checkout's venv (--client-python) with the checkout on PYTHONPATH
(SetEnv) stands for a client host where servebench is installed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SYSTEM_PATH
from tests.servers.netns import Netns, _unavailable

PORT = 2222
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Sshd:
    destination: str  # a Host of config
    config: Path  # the client side's ssh config file
    python: str  # the interpreter servebench is installed for there (this checkout's venv)


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@contextmanager
def private_sshd(netns: Netns, where: Path) -> Iterator[Sshd]:
    """sshd -D in the namespace on netns.client_address:2222, ended by its pid after the test."""
    sshd = shutil.which("sshd", path=SYSTEM_PATH)
    if sshd is None or shutil.which("ssh") is None:
        _unavailable("sshd is not installed (Debian: apt-get install openssh-server; `make sysdeps` does it)")
    assert sshd is not None
    where.mkdir(mode=0o700)
    _keygen(where / "host_key")
    _keygen(where / "id")
    _write(where / "authorized_keys", (where / "id.pub").read_text())
    host_key = (where / "host_key.pub").read_text().split()
    _write(where / "known_hosts", f"[{netns.client_address}]:{PORT} {host_key[0]} {host_key[1]}\n")
    _write(
        where / "sshd_config",
        f"ListenAddress {netns.client_address}:{PORT}\nHostKey {where / 'host_key'}\n"
        f"AuthorizedKeysFile {where / 'authorized_keys'}\nPidFile {where / 'sshd.pid'}\nStrictModes no\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"UsePAM no\nSetEnv PYTHONPATH={ROOT}\n",
    )
    _write(
        where / "ssh_config",
        f"Host sbclient\n  HostName {netns.client_address}\n  Port {PORT}\n  User root\n"
        f"  IdentityFile {where / 'id'}\n  IdentitiesOnly yes\n  UserKnownHostsFile {where / 'known_hosts'}\n"
        "  StrictHostKeyChecking yes\n",
    )
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    argv = ["ip", "netns", "exec", netns.name, sshd, "-D", "-e", "-f", str(where / "sshd_config")]
    log = open(where / "sshd.log", "wb")  # noqa: SIM115 (closed below)
    daemon = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(daemon.pid, {1})  # the client host's core: its sessions (and wrk) inherit it
    try:
        _wait_listening(netns.client_address, daemon, where / "sshd.log")
        yield Sshd("sbclient", where / "ssh_config", sys.executable)
    finally:
        daemon.terminate()  # by its pid: `ip netns exec` became sshd
        daemon.wait(timeout=10)
        log.close()


def _wait_listening(address: str, daemon: subprocess.Popen[bytes], log: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text(errors='replace')[-500:]}")
        with socket.socket() as probe:
            probe.settimeout(1.0)
            if probe.connect_ex((address, PORT)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"sshd not listening after {timeout_s} s")
