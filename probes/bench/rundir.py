"""A private directory per servebench run: logs, sockets, configs, lock files."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


class RunDir:
    """A 0700 temporary directory, removed by `cleanup()` unless `keep` is set."""

    def __init__(self, *, keep: bool = False, parent: Path | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="servebench-", dir=parent))
        self.path.chmod(0o700)
        self.keep = keep

    def file(self, name: str) -> Path:
        """A path inside the run directory."""
        return self.path / name

    def cleanup(self) -> None:
        """Remove the directory (idempotent)."""
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()
