"""New records get time-ordered (version 7) UUIDs from the database, on both targets."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta

from sqlalchemy import select

from courtfeed.target.record_ids import id_prefix
from courtfeed.target.schema import entity_table
from courtfeed.target.upsert import Loader

AGENCY = "metro-county"


def _clients(start: int, count: int) -> list[dict]:
    return [
        {"reference": f"D-{i:06d}", "dob": date(1980, 1, 1) + timedelta(days=i)}
        for i in range(start, start + count)
    ]


def _ids_by_key(engine) -> dict[str, str]:
    table = entity_table("client")
    with engine.connect() as conn:
        return {row.natural_key: row.id for row in conn.execute(select(table.c.natural_key, table.c.id))}


def test_prefix_is_a_version_7_uuid_of_the_current_millisecond():
    before = int(time.time() * 1000)
    prefix, offset = id_prefix()
    after = int(time.time() * 1000)
    made = uuid.UUID(prefix + f"{offset:012x}")
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after  # the first 48 bits are the Unix time in ms
    assert 0 <= offset < 2**46


def test_two_statements_in_one_millisecond_draw_different_prefixes():
    prefixes = {id_prefix(now_ms=1_764_000_000_000)[0] for _ in range(200)}
    assert len(prefixes) == 200  # 26 random bits each: a repeat in 200 draws would be 1 in 2,700


def test_loaded_ids_are_unique_version_7_and_ordered_by_load(engine):
    with engine.begin() as conn:
        Loader(conn, AGENCY, "u1", "t").load("client", _clients(0, 300))
    time.sleep(0.01)  # the next load starts in a later millisecond
    with engine.begin() as conn:
        Loader(conn, AGENCY, "u2", "t").load("client", _clients(300, 300))
    ids = _ids_by_key(engine)
    assert len(ids) == 600 and len(set(ids.values())) == 600
    parsed = {key: uuid.UUID(value) for key, value in ids.items()}
    assert {u.version for u in parsed.values()} == {7}
    assert all(str(u) == ids[key] for key, u in parsed.items())  # canonical lower-case text
    first = [ids[f"D-{i:06d}"] for i in range(300)]
    second = [ids[f"D-{i:06d}"] for i in range(300, 600)]
    # Every id of the later load sorts after every id of the earlier one: appended to the index.
    assert max(first) < min(second)
