"""Writing files that another local user may try to redirect: results, secrets, records.

A fixed temporary name next to the target (`.x.json.tmp`) can be planted in a
shared directory as a symlink to someone else's file, and `write_text` follows
it. Here the temporary file is created by `mkstemp` (O_CREAT|O_EXCL, a random
name, mode 0600) in the target's directory, so it is always a new file of ours,
and the final `os.replace` swaps directory entries without following links.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path


class UnsafeTarget(OSError):
    """The target exists and is not a regular file (a symlink, FIFO, device, directory)."""


_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def refuse_non_regular(path: Path) -> None:
    """UnsafeTarget when `path` exists and is not a regular file (links are not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        reason = f"it exists and is {kind}, not a regular file; refusing to replace it"
        raise UnsafeTarget(errno.EEXIST, reason, str(path))


def write_atomic(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace `path` with `text` at once: readers see the old or the new file, never half of one.

    The parent directory is created when missing. Raises UnsafeTarget (an OSError whose
    strerror is one line) for a target that is not a regular file; the temporary file
    is removed on every error.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    refuse_non_regular(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fchmod(tmp.fileno(), mode)
            os.fsync(tmp.fileno())
        # Checked again just before the swap: a FIFO planted meanwhile is not silently replaced.
        refuse_non_regular(path)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
