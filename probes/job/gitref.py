"""A git ref of the project resolved to its commit before anything starts (--against-ref), without a shell."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 30.0


class GitRefError(ValueError):
    """The ref cannot be resolved here: one line, without the option's name."""


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise GitRefError("git is not installed")
    try:
        return subprocess.run([git, *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitRefError(f"git {args[0]} failed ({type(exc).__name__})") from None


def resolve_ref(ref: str, *, where: Path) -> tuple[Path, str]:
    """The repository's top level and the full hash of the commit `ref` names (git rev-parse --verify)."""
    if ref.startswith("-") or not ref.strip():
        raise GitRefError("not a git ref")
    top = _git("rev-parse", "--show-toplevel", cwd=where)
    if top.returncode != 0:
        raise GitRefError(f"{where} is not in a git repository")
    found = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", cwd=where)
    if found.returncode != 0 or not found.stdout.strip():
        raise GitRefError(f"no such commit in {top.stdout.strip()}")
    return Path(top.stdout.strip()), found.stdout.strip()
