"""The counters file's layout is pinned: its indexes, names and size are the format the writer and reader share."""

from __future__ import annotations

import mmap
import struct
from dataclasses import fields
from pathlib import Path

from probes.bench.timing.layout import FIELD_NAMES, FILE_SIZE, ITEM_BYTES, ITEM_FORMAT, RECORD_BYTES, Slot
from probes.bench.timing.reader import AppCounters, read_counters
from probes.bench.timing.writer import ProcessCounters

PINNED = (
    ("REQUESTS", 0),
    ("SAMPLED_REQUESTS", 1),
    ("SAMPLED_WALL_NS", 2),
    ("SAMPLED_CPU_NS", 3),
    ("QUEUE_NS", 4),
    ("QUEUED_REQUESTS", 5),
    ("DB_NS", 6),
    ("DB_QUERIES", 7),
    ("EXCEPTIONS", 8),
    ("SERVER_ERRORS", 9),
    ("LOOP_LAG_NS", 10),
    ("LOOP_TICKS", 11),
    ("CROSSINGS", 12),
    ("NEW_THREADS", 13),
    ("COUNTED_REQUESTS", 14),
)


def test_every_counter_keeps_its_index() -> None:
    assert tuple((slot.name, slot.value) for slot in Slot) == PINNED


def test_the_records_field_names_come_from_the_slots() -> None:
    assert FIELD_NAMES == (
        "requests",
        "sampled_requests",
        "sampled_wall_ns",
        "sampled_cpu_ns",
        "queue_ns",
        "queued_requests",
        "db_ns",
        "db_queries",
        "exceptions",
        "server_errors",
        "loop_lag_ns",
        "loop_ticks",
        "crossings",
        "new_threads",
        "counted_requests",
    )
    # The reader's record has a field per slot; one other field is read from outside the file, and the
    # names that crossed from the table after the record.
    assert {f.name for f in fields(AppCounters)} - set(FIELD_NAMES) == {"app_runq_ns", "crossed"}
    assert set(FIELD_NAMES) <= {f.name for f in fields(AppCounters)}


def test_the_file_is_one_page_of_native_64_bit_integers() -> None:
    assert (ITEM_FORMAT, ITEM_BYTES, struct.calcsize(ITEM_FORMAT)) == ("q", 8, 8)
    assert RECORD_BYTES == 120
    assert FILE_SIZE == mmap.PAGESIZE


def test_what_the_writer_puts_at_a_slot_the_reader_finds_under_its_name(tmp_path: Path) -> None:
    counters = ProcessCounters(tmp_path)
    for slot in Slot:
        counters.values[slot] = 1000 + slot.value
    path = tmp_path / f"{counters.pid}.stats"
    assert path.stat().st_size == FILE_SIZE
    raw = path.read_bytes()
    assert struct.unpack_from("=15q", raw) == tuple(1000 + index for index in range(15))
    assert raw[RECORD_BYTES:] == bytes(FILE_SIZE - RECORD_BYTES)
    [(pid, record)] = read_counters(tmp_path).items()
    assert pid == counters.pid
    assert record == AppCounters(
        requests=1000,
        sampled_requests=1001,
        sampled_wall_ns=1002,
        sampled_cpu_ns=1003,
        queue_ns=1004,
        queued_requests=1005,
        db_ns=1006,
        db_queries=1007,
        exceptions=1008,
        server_errors=1009,
        loop_lag_ns=1010,
        loop_ticks=1011,
        crossings=1012,
        new_threads=1013,
        counted_requests=1014,
    )
