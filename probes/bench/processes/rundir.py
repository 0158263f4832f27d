"""A private directory per servebench run: logs, sockets, configs, lock files."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

# What `keep_logs` keeps: the servers' and nginx's logs and configs, and the exceptions the
# servers recorded; sockets, database copies and counters go.
LOG_PATTERNS = ("*.log", "*.conf", "*.exceptions")


class RunDir:
    """A 0700 temporary directory, removed by `cleanup()` unless `keep` is set (or only its logs kept)."""

    def __init__(self, *, keep: bool = False, parent: Path | None = None) -> None:
        # Absolute: the servers run in the project's directory, not in this one.
        self.path = Path(tempfile.mkdtemp(prefix="servebench-", dir=parent)).absolute()
        self.path.chmod(0o700)
        self.keep = keep
        self.keep_logs = False  # set when a configuration failed: its logs say why

    def file(self, name: str) -> Path:
        """A path inside the run directory."""
        return self.path / name

    def cleanup(self) -> None:
        """Remove the directory, or all but its logs when keep_logs is set (idempotent)."""
        if self.keep:
            return
        if not self.keep_logs:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        logs = {path for pattern in LOG_PATTERNS for path in self.path.rglob(pattern) if path.is_file()}
        for path in sorted(self.path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path in logs:
                continue
            if path.is_dir() and not path.is_symlink():
                if not any(log.is_relative_to(path) for log in logs):
                    shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()
