"""How a locust load is set up (LocustSetup, a description the cli builds), and whether locust can run here.

servebench never imports locust (it monkey-patches the importing process with gevent): it asks only
whether the package is installed, and runs it as a subprocess (driver.py).
"""

from __future__ import annotations

import errno
import importlib.util
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from ..model import LoadgenUnavailable, LoadSpec

EXTRA_HINT = "pip install 'django-servebench[locust]'"
MAX_LOCUSTFILE_BYTES = 1_000_000


@dataclass(frozen=True)
class LocustSetup:
    """Where locust's workers come from and what they run."""

    workers: int = 1  # workers servebench starts: on this host, or on each client host
    locustfile: str | None = None  # --locustfile: the user's own users (absolute path), else generated
    locustfile_text: str | None = None  # its text, read once from that path (O_NOFOLLOW) before anything starts
    user_workers: int = 0  # --locust-workers: workers the user starts from the command servebench prints
    # Where that command goes (the job's progress); without it, stderr.
    say: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.workers < 0 or self.workers + self.user_workers < 1:
            raise ValueError("locust needs at least one worker")


def check_locust(spec: LoadSpec) -> None:
    """LoadgenUnavailable (naming the extra) without locust; ValueError for what locust cannot load."""
    if importlib.util.find_spec("locust") is None or importlib.util.find_spec("hdrh") is None:
        raise LoadgenUnavailable(f"locust is not installed: {EXTRA_HINT}")
    if spec.unix_socket is not None:
        raise ValueError("locust cannot connect to a unix socket; use generator='builtin'")


def read_locustfile(path: str) -> str:
    """The user's locustfile, read from that path only: never through a symbolic link, a regular file, UTF-8."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"--locustfile {path}: a symbolic link; give the file itself") from None
        raise ValueError(f"--locustfile {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"--locustfile {path}: not a regular file")
        data = os.read(fd, MAX_LOCUSTFILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_LOCUSTFILE_BYTES:
        raise ValueError(f"--locustfile {path}: larger than {MAX_LOCUSTFILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
        compile(text, path, "exec")
    except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise ValueError(f"--locustfile {path}: not Python source ({type(exc).__name__})") from None
    return text
