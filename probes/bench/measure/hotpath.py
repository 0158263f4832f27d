"""Which of the project's functions a request spends most in, and what that function spends it on.

A Django view's own (self) time is small: its cost is in what it calls, the ORM and the templates.
So the profile names the project's function that Django's request handling calls (the view, or a
middleware's own work) and splits its total by the first frames outside the project below it:
"`checks` view 67 % total: ORM 31 %, templates 22 %".

Per sample, the entry is the first project frame below the innermost frame of Django's request
handling (django/core/handlers/), else the sample's first project frame; the hot function is the
entry of most samples. What a sample through it spends: the kind of the first frame below it that
has one (CALLEE_KINDS, outermost first: a template that runs a query is the template's), else the
package of the first frame outside the project below it (json, requests...), else the project's code.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HANDLER_PATH = "/django/core/handlers/"
# BaseHandler's methods that call the view (sync and async): the entry below them is the view.
VIEW_CALLERS = ("_get_response", "_get_response_async")
# What a frame outside the project is, by its file; checked in this order (the backends before the ORM).
CALLEE_KINDS = (
    ("database", ("/django/db/backends/", "/sqlite3/", "/psycopg/", "/psycopg2/", "/MySQLdb/", "/pymysql/")),
    ("ORM", ("/django/db/",)),
    ("templates", ("/django/template/", "/django/templatetags/", "/jinja2/")),
    ("serializers", ("/rest_framework/serializers.py", "/rest_framework/fields.py", "/django/core/serializers/")),
    ("sessions", ("/django/contrib/sessions/",)),
    ("cache", ("/django/core/cache/", "/pymemcache/", "/redis/", "/django_redis/")),
    ("forms", ("/django/forms/",)),
)
PROJECT_CODE = "project code"  # the entry itself and the project's functions it calls, computing
_STDLIB = re.compile(r"/lib/python3\.\d+/(.+)$")


@dataclass(frozen=True)
class Frame:
    """One frame of a sample, as the profile classified it."""

    function: str
    file: str
    line: int
    project: bool


@dataclass(frozen=True)
class HotFunction:
    """The project's function the requests spend most in: its share and what it spends it on, in %."""

    function: str
    file: str
    line: int
    self_pct: float
    total_pct: float
    view: bool  # Django's handler calls it as the view (else a middleware's work, or outside a request)
    spent: tuple[tuple[str, float], ...]  # (what, % of the samples), largest first; adds up to total_pct

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HotFunction:
        spent = tuple((str(what), float(pct)) for what, pct in data["spent"])
        return cls(**{**data, "spent": spent})


def callee_kind(file: str) -> str | None:
    """'ORM', 'templates'... for a frame outside the project; None when its file says nothing."""
    return next((kind for kind, parts in CALLEE_KINDS if any(part in file for part in parts)), None)


def package(file: str) -> str:
    """The top-level package (or module) a file belongs to: 'json', 'requests', 'django'."""
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in file:
            rest = file.split(marker, 1)[1]
            break
    else:
        found = _STDLIB.search(file)
        rest = found.group(1) if found else file.rsplit("/", 1)[-1]
    return rest.split("/", 1)[0].removesuffix(".py") or "other"


def _entry(stack: Sequence[Frame]) -> int | None:
    """The index of the sample's entry into the project's code (module docstring), or None."""
    handler = max((i for i, frame in enumerate(stack) if HANDLER_PATH in frame.file), default=-1)
    return next((i for i in range(handler + 1, len(stack)) if stack[i].project), None)


def _spent_on(below: Sequence[Frame]) -> str:
    outside = [frame for frame in below if not frame.project]
    kinds = (kind for frame in outside if (kind := callee_kind(frame.file)) is not None)
    return next(kinds, None) or (package(outside[0].file) if outside else PROJECT_CODE)


def hot_function(stacks: Sequence[Sequence[Frame]]) -> HotFunction | None:
    """The entry of most samples and what it spends them on; None when no sample reaches the project."""
    total = len(stacks)
    entries: Counter[tuple[str, str]] = Counter()
    for stack in stacks:
        if (at := _entry(stack)) is not None:
            entries[(stack[at].function, stack[at].file)] += 1
    if not entries:
        return None
    key = min(entries, key=lambda k: (-entries[k], k))
    spent: Counter[str] = Counter()
    lines, self_count, view = [], 0, Counter[bool]()
    for stack in stacks:
        at = next((i for i, frame in enumerate(stack) if (frame.function, frame.file) == key), None)
        if at is None:
            continue
        lines.append(stack[at].line)
        self_count += (stack[-1].function, stack[-1].file) == key
        spent[_spent_on(stack[at + 1 :])] += 1
        callers = [frame.function for frame in stack[:at] if HANDLER_PATH in frame.file]
        view[bool(callers) and callers[-1].endswith(VIEW_CALLERS)] += 1
    return HotFunction(
        function=key[0],
        file=key[1],
        line=min(lines),
        self_pct=100 * self_count / total,
        total_pct=100 * sum(spent.values()) / total,
        view=view[True] > view[False],
        spent=tuple((what, 100 * count / total) for what, count in sorted(spent.items(), key=lambda i: (-i[1], i[0]))),
    )
