"""Exceptions named as a person looks for them: type, message, and the innermost frame of their own code.

Used by the timing wrapper inside the servers (exceptions recorded as they
happen) and by servebench's account of what broke (tracebacks in server logs,
the request replayed in-process).
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

Frame = tuple[str, int, str]  # file, line, function
_LIBRARY_KEYS = ("stdlib", "platstdlib", "purelib", "platlib")
_LIBRARIES = {os.path.realpath(p) for key in _LIBRARY_KEYS if (p := sysconfig.get_path(key))}
_SERVEBENCH = os.path.realpath(Path(__file__).parents[1])  # its own frames (entry, timing wrapper)
_NOT_USER = (*_LIBRARIES, _SERVEBENCH)


@dataclass(frozen=True)
class ExceptionSeen:
    """One distinct exception raised inside a server's app (or found in its log)."""

    type: str
    message: str
    where: str  # "file.py:LINE in function", the innermost frame outside the stdlib, packages and servebench
    count: int


def frames(tb: TracebackType | None) -> list[Frame]:
    """The traceback's frames, outermost first."""
    found = []
    while tb is not None:
        code = tb.tb_frame.f_code
        found.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    return found


def where(stack: Sequence[Frame], root: Path) -> str:
    """'file.py:LINE in func' of the innermost frame in the user's code (else the innermost)."""
    if not stack:
        return "?"
    user = [frame for frame in stack if not os.path.realpath(frame[0]).startswith(_NOT_USER)]
    filename, line, func = (user or stack)[-1]
    return f"{short(filename, root)}:{line} in {func}"


def short(filename: str, root: Path) -> str:
    """Relative to the project's directory or to the library directory it lies in (the nearest); else as is."""
    real = os.path.realpath(filename)
    bases = (os.path.realpath(root), *_LIBRARIES, os.path.dirname(_SERVEBENCH))
    for base in sorted(bases, key=len, reverse=True):
        if real.startswith(base + os.sep):
            return os.path.relpath(real, base)
    return filename


def exception_seen(exc: BaseException, tb: TracebackType | None, root: Path) -> ExceptionSeen:
    """One exception, counted once."""
    return ExceptionSeen(type(exc).__qualname__, str(exc)[:300], where(frames(tb), root), 1)
