"""Ids of new records: time-ordered UUIDs (RFC 9562 version 7), made by the database.

Random (version 4) ids land all over the primary-key index, so every insert touches a
different leaf page: on a 360,000-record load that index alone cost as much as the two
other indexes and the table together (PostgreSQL 15, measured in bench/). Version 7 ids
start with the Unix time in milliseconds, so one upsert's new ids all fall at the right
edge of the index and are appended, not scattered.

One statement's ids share a prefix made here: the milliseconds, the version and variant
bits, and 26 random bits. The database appends the last 48 bits: a random offset plus the
record's position in the statement (PostgreSQL: its number in natural-key order, so ids and keys
grow together; SQLite: its position in the stage table), unique within the statement. Two
statements can only make the same id if they start in the same millisecond AND draw the
same 26 random bits AND their offset ranges overlap; the primary key would refuse it, and
the load be retried, rather than two records share an id.
"""

from __future__ import annotations

import secrets
import time

COUNTER_HEX = 12  # the last group of the UUID: 48 bits
OFFSET_BITS = 46  # leaves 2**46 positions before the counter could carry into the prefix


def id_prefix(now_ms: int | None = None) -> tuple[str, int]:
    """(the first 24 characters shared by one statement's ids, the counter's random offset)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    stamp = f"{ms & ((1 << 48) - 1):012x}"
    rand_a = secrets.randbits(12)
    rand_b = secrets.randbits(14)
    variant = 0b10 << 14 | rand_b  # the two variant bits 10, then 14 random bits
    prefix = f"{stamp[:8]}-{stamp[8:]}-7{rand_a:03x}-{variant:04x}-"
    return prefix, secrets.randbits(OFFSET_BITS)


def new_id_sql(dialect: str, ord_column: str) -> str:
    """SQL for one record's id, with bound parameters :id_prefix and :id_offset."""
    counter = f"{ord_column} + :id_offset"
    if dialect == "postgresql":
        return f"(:id_prefix || lpad(to_hex({counter}), {COUNTER_HEX}, '0'))"
    return f"(:id_prefix || printf('%0{COUNTER_HEX}x', {counter}))"


def id_params() -> dict[str, object]:
    """The bound parameters of new_id_sql for one statement."""
    prefix, offset = id_prefix()
    return {"id_prefix": prefix, "id_offset": offset}
