"""Under ASGI, where a sync Django's time goes: asgiref's sync<->async crossings and the threads started per request.

Django's ASGI handler runs every sync piece of a request in a thread: each
sync middleware's hooks (MiddlewareMixin.__acall__), the sync view, the sync
receivers of request_started, response.close(); and each request gets a
ThreadSensitiveContext whose single-thread executor is a new thread, joined by
another new thread at its exit (asgiref 3.12+). Each crossing costs tens of µs
and each thread hundreds (benchmarks/asgi_timing_overhead.py): most of what a
trivial view costs under ASGI.

How they are counted, and only on the requests the ASGI wrapper samples:
- `SyncToAsync.__call__`, `AsyncToSync.__call__` and `threading.Thread.start`
  are replaced, once per process, by functions that read one context variable
  and call the original. The wrapper sets that variable to a fresh `Tally` for
  a sampled request only: many requests interleave on one event loop, and a
  context variable follows its request into the tasks it creates and, through
  asgiref's copied context, into the threads it runs sync code on, where a
  global flag would count its neighbours'. An unsampled request pays one
  `ContextVar.get` per crossing; servebench's own process never installs them
  (`installed()` undoes them where it measures their cost).
- What crossed is named from the wrapped function (`__qualname__`,
  `__module__`): "middleware:SecurityMiddleware.process_request",
  "view:mysite.views.hello", "signal:request_started", "call:HttpResponse.close";
  the names go to a bounded table in the counters file (layout.NAME_SLOTS), so
  the reader sums them per window like every other counter.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from .layout import NAME_BYTES, NAME_COUNTS_INDEX, NAME_SLOTS, NAME_TEXT_OFFSET, OTHER_NAMES, Slot
from .writer import ProcessCounters

_CROSSINGS = Slot.CROSSINGS.value
_THREADS = Slot.NEW_THREADS.value
_COUNTED = Slot.COUNTED_REQUESTS.value
_HOOKS = ("process_request", "process_response", "process_view", "process_exception", "process_template_response")


class Tally:
    """One sampled request's crossings and thread starts, and what crossed (dies with the request)."""

    __slots__ = ("crossings", "threads", "names")

    def __init__(self) -> None:
        self.crossings = 0
        self.threads = 0
        self.names: list[str] = []


TALLY: ContextVar[Tally | None] = ContextVar("servebench_tally", default=None)
# Django's signals by identity, named by the worker (it knows Django; the engine does not).
SIGNAL_NAMES: dict[int, str] = {}


def _signal_name(func: Any) -> str | None:
    """Django's Signal.asend runs every sync receiver in one closure: the signal it belongs to."""
    for cell in getattr(func, "__closure__", None) or ():
        with contextlib.suppress(ValueError):
            name = SIGNAL_NAMES.get(id(cell.cell_contents))
            if name is not None:
                return name
    return None


def crossing_name(func: Any, args: tuple[Any, ...]) -> str:
    """'kind:name' of what crossed: a middleware's hook, the view, a signal's receivers, or a call."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "")
    if owner is not None and not isinstance(owner, type):
        if name in _HOOKS and hasattr(owner, "get_response"):
            return f"middleware:{type(owner).__name__}.{name}"
        return f"call:{type(owner).__name__}.{name}"
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    if qualname.endswith("asend.<locals>.sync_send"):
        return f"signal:{_signal_name(func) or 'receivers'}"
    match = getattr(args[0], "resolver_match", None) if args else None
    view = getattr(match, "func", None)
    if view is not None and (view is func or getattr(func, "__wrapped__", None) is view):
        return f"view:{getattr(func, '__module__', '?')}.{qualname}"
    return f"call:{getattr(func, '__module__', '?')}.{qualname}"


def _patches() -> list[tuple[Any, str, Callable[..., Any]]]:
    """(class, attribute, counting replacement) for each function counted."""
    from asgiref.sync import AsyncToSync, SyncToAsync, markcoroutinefunction

    to_async, to_sync, start = SyncToAsync.__call__, AsyncToSync.__call__, threading.Thread.start
    get = TALLY.get

    def counting_sync_to_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        tally = get()
        if tally is not None:
            tally.crossings += 1
            tally.names.append(crossing_name(self.func, args))
        return to_async(self, *args, **kwargs)  # the original's coroutine: no frame of ours in it

    def counting_async_to_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        tally = get()
        if tally is not None:
            tally.crossings += 1
            tally.names.append(crossing_name(self.awaitable, args))
        return to_sync(self, *args, **kwargs)

    def counting_start(self: threading.Thread) -> None:
        tally = get()
        if tally is not None:
            tally.threads += 1
        start(self)

    # Still an "async function" to whoever asks (asgiref and Django check before they adapt).
    markcoroutinefunction(counting_sync_to_async)
    return [
        (SyncToAsync, "__call__", counting_sync_to_async),
        (AsyncToSync, "__call__", counting_async_to_sync),
        (threading.Thread, "start", counting_start),
    ]


_originals: list[tuple[Any, str, Any]] = []


def install() -> bool:
    """Count crossings and thread starts in this process from now on (once; False: asgiref is missing)."""
    if _originals:
        return True
    try:
        patches = _patches()
    except ImportError:
        return False
    for owner, attribute, replacement in patches:
        _originals.append((owner, attribute, owner.__dict__[attribute]))
        setattr(owner, attribute, replacement)
    return True


def uninstall() -> None:
    """The originals back (servebench's own process, where it measures what counting costs)."""
    while _originals:
        owner, attribute, original = _originals.pop()
        setattr(owner, attribute, original)


@contextlib.contextmanager
def installed() -> Iterator[bool]:
    """install() for the block's duration only."""
    try:
        yield install()
    finally:
        uninstall()


class _NameTable:
    """This process's name -> slot of the counters file's table (at most NAME_SLOTS, the last one shared)."""

    __slots__ = ("slots", "__weakref__")

    def __init__(self) -> None:
        self.slots: dict[str, int] = {}

    def slot(self, counters: ProcessCounters, name: str) -> int:
        """The slot counting `name`; a new one gets its name written first (under the counters' lock)."""
        slot = self.slots.get(name)
        if slot is not None:
            return slot
        used = len(self.slots)
        if used >= NAME_SLOTS - 1:
            name, slot = OTHER_NAMES, NAME_SLOTS - 1
            if name in self.slots:
                return slot
        else:
            slot = used
        text = name.encode()[:NAME_BYTES].ljust(NAME_BYTES, b"\0")
        start = NAME_TEXT_OFFSET + slot * NAME_BYTES
        counters.map[start : start + NAME_BYTES] = text
        self.slots[name] = slot
        return slot


_tables: weakref.WeakKeyDictionary[ProcessCounters, _NameTable] = weakref.WeakKeyDictionary()


def add_tally(counters: ProcessCounters, tally: Tally) -> None:
    """One sampled request's tally into this process's counters."""
    table = _tables.get(counters)
    if table is None:
        table = _tables[counters] = _NameTable()
    v = counters.values
    with counters.lock:
        v[_COUNTED] += 1
        v[_CROSSINGS] += tally.crossings
        v[_THREADS] += tally.threads
        for name in tally.names:
            v[NAME_COUNTS_INDEX + table.slot(counters, name)] += 1
