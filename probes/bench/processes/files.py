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


def private_dir(path: Path) -> Path:
    """A directory only this user can enter, at a predictable path: created 0700, or checked before reuse.

    Another user may have created the path first (in /tmp anyone can): a symlink, or a
    directory owned by someone else, is refused; our own directory is made 0700.
    """
    path = Path(path)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a directory")
        raise UnsafeTarget(errno.EEXIST, f"it is {kind}, not a directory of yours; remove it", str(path))
    if info.st_uid != os.getuid():
        raise UnsafeTarget(
            errno.EPERM,
            f"it belongs to uid {info.st_uid}, not to you (uid {os.getuid()}): another user may have planted it;"
            " remove it",
            str(path),
        )
    if info.st_mode & 0o077:
        os.chmod(path, 0o700, follow_symlinks=False)
    return path


def read_private(path: Path) -> str | None:
    """The text of a file only this user may read; None when it does not exist.

    UnsafeTarget for a symlink, a file of another user, or one that others can read or write.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeTarget(
                errno.ELOOP, "it is a symbolic link, not a file of yours; remove it", str(path)
            ) from None
        raise
    with os.fdopen(fd, encoding="utf-8") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise UnsafeTarget(
                errno.EPERM,
                f"it must be a regular file of yours (uid {os.getuid()}) with mode 0600, not uid {info.st_uid}"
                f" mode {stat.filemode(info.st_mode)}: remove it",
                str(path),
            )
        return file.read()


def create_private(path: Path, text: str) -> bool:
    """Create `path` holding `text`, mode 0600 from its first byte; False when it already exists.

    Written to a mkstemp file and linked into place, so a concurrent reader never sees it half written.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
        try:
            os.link(tmp_name, path)  # link() never replaces: another process may have won the race
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
