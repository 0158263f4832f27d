"""A saved result read back without trusting it: a regular file of bounded size and nesting, every
figure finite and in range.

--from, --compare and the toolbar panel all read files a person, another tool or a full disk may
have damaged; a negative `ok` would otherwise pass the --compare CI gate, a NaN would reach the
statistics, /dev/zero would be read until memory runs out, and deep nesting would end in a
RecursionError. Each is refused here in one line that names the file and, for a figure, its field.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

# A sweep of hundreds of configurations with profiles is a few MB: past this it is not a result.
MAX_RESULT_BYTES = 64 * 2**20
# servebench's own results nest 7 deep (runs, diagnosis, figures, cpu_per_request_s…).
MAX_NESTING = 32
# Figures that may be below zero: a difference of two measurements (the timing wrapper's
# own cost, wrapped minus plain) and the judge's derived figures (a gain, unattributed CPU).
SIGNED_FIELDS = frozenset({"us_per_request", "us_min", "us_max"})
SIGNED_UNDER = frozenset({"diagnosis"})
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class FormatError(ValueError):
    """A JSON file that is not a servebench result of a version we read."""


def read_json(path: Path) -> Any:
    """The JSON of a regular file of at most MAX_RESULT_BYTES, nested at most MAX_NESTING deep.

    FormatError (one line, the path first) for anything else; OSError when it cannot be opened.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused by its type below.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a file")
            raise FormatError(f"{path}: not a regular file ({kind})")
        # The size is checked before reading, and the read bounded: a file may grow meanwhile.
        raw = b"" if info.st_size > MAX_RESULT_BYTES else _read_at_most(fd, MAX_RESULT_BYTES + 1)
    finally:
        os.close(fd)
    if info.st_size > MAX_RESULT_BYTES or len(raw) > MAX_RESULT_BYTES:
        raise FormatError(f"{path}: larger than {MAX_RESULT_BYTES // 2**20} MB, not a servebench result")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not JSON (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not JSON ({exc})") from None
    except RecursionError:
        raise FormatError(f"{path}: nested deeper than {MAX_NESTING} levels, not a servebench result") from None
    if _depth(data) > MAX_NESTING:
        raise FormatError(f"{path}: nested deeper than {MAX_NESTING} levels, not a servebench result")
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit and (chunk := os.read(fd, min(limit - size, 2**20))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _depth(data: Any) -> int:
    """How deep lists and objects nest (iterative: no recursion on what a file says)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:  # deeper is refused whatever is below
                stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def check_figures(data: Any) -> None:
    """FormatError naming the field of the first figure that is not finite, or negative where it cannot be."""
    stack: list[tuple[Any, str, bool]] = [(data, "", False)]
    while stack:
        value, where, signed = stack.pop()
        if isinstance(value, dict):
            _check_counts(value, where)
            for key, item in reversed(value.items()):  # reversed: the first bad field in the file is named
                name = f"{where}.{key}" if where else str(key)
                stack.append((item, name, signed or key in SIGNED_UNDER or key in SIGNED_FIELDS))
        elif isinstance(value, list):
            stack.extend((value[index], f"{where}[{index}]", signed) for index in reversed(range(len(value))))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise FormatError(f"{where} is {value}: every figure of a result is a finite number")
            if value < 0 and not signed:
                raise FormatError(f"{where} is {value:g}: a count, duration or rate is never negative")


def _check_counts(item: dict[str, Any], where: str) -> None:
    """A window's successes are some of its requests: more is a damaged sample."""
    ok, requests = item.get("ok"), item.get("requests")
    if isinstance(ok, int) and isinstance(requests, int) and "duration_s" in item and ok > requests:
        raise FormatError(f"{where}.ok is {ok}, more than its {requests} requests")
