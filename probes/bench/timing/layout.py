"""The counters file's layout, defined once: what the writer (each server process) and the reader agree on.

A file per server process, `<pid>.stats`, one page long; at its start one
signed 64-bit integer in the machine's byte order (struct format "q") per
`Slot`, at the index that is the member's value. The indexes are part of the
file format: a new counter is a new member at the end, never a renumbering
(tests/unit/bench/timing/test_layout.py pins them).
"""

from __future__ import annotations

import mmap
from enum import IntEnum, unique
from typing import Final


@unique
class Slot(IntEnum):
    """One cumulative counter of a server process, at this index of its counters file."""

    REQUESTS = 0
    SAMPLED_REQUESTS = 1  # requests whose wall, CPU and queue time were measured
    SAMPLED_WALL_NS = 2
    SAMPLED_CPU_NS = 3
    QUEUE_NS = 4  # of the sampled requests that carried nginx's X-Request-Start
    QUEUED_REQUESTS = 5
    DB_NS = 6
    DB_QUERIES = 7
    EXCEPTIONS = 8
    SERVER_ERRORS = 9
    LOOP_LAG_NS = 10  # ASGI: how late the event loop ran its periodic tick, summed
    LOOP_TICKS = 11
    # ASGI, over the sampled requests only (timing.crossings): asgiref's sync<->async crossings, the
    # threads started, and how many requests they were counted over.
    CROSSINGS = 12
    NEW_THREADS = 13
    COUNTED_REQUESTS = 14


# The reader's record has a field of each of these names (reader.AppCounters), read by name.
FIELD_NAMES: tuple[str, ...] = tuple(slot.name.lower() for slot in Slot)
ITEM_FORMAT: Final = "q"  # memoryview.cast / struct: a native signed 64-bit integer
ITEM_BYTES = 8
RECORD_BYTES = ITEM_BYTES * len(Slot)  # what the reader reads; the rest of the page stays zero
FILE_SIZE = mmap.PAGESIZE
# What crossed (timing.crossings), a bounded table after the record: NAME_SLOTS cumulative counts
# (int64, from item index NAME_COUNTS_INDEX), then NAME_SLOTS names of NAME_BYTES (UTF-8, NUL-padded)
# from byte NAME_TEXT_OFFSET. A slot's name is written once, before its count first moves; the last
# slot gathers every name that found the table full. Nothing in it grows with the requests.
NAME_SLOTS = 16
NAME_COUNTS_INDEX = 128  # byte 1024
NAME_TEXT_OFFSET = 1280
NAME_BYTES = 160
OTHER_NAMES = "(other)"
STATS_SUFFIX = ".stats"  # <pid>.stats: the counters
EXCEPTIONS_SUFFIX = ".exceptions"  # <pid>.exceptions: the first distinct exceptions, as JSON

assert RECORD_BYTES <= NAME_COUNTS_INDEX * ITEM_BYTES <= NAME_TEXT_OFFSET - NAME_SLOTS * ITEM_BYTES
assert NAME_TEXT_OFFSET + NAME_SLOTS * NAME_BYTES <= FILE_SIZE
