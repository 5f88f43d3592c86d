from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from courtfeed.target.created import created_ids
from courtfeed.target.ledger import start_upload
from courtfeed.target.schema import entity_table
from courtfeed.target.upsert import LoadCounts, Loader, natural_keys, records_table

AGENCY = "metro-county"


def _events(count: int, **overrides) -> list[dict]:
    return [
        {
            "reference": f"EV{i:06d}",
            "case_number": f"24-CR-{i}",
            "date": date(2025, 3, 1) + timedelta(days=i % 30),
            "time": time(9, 30),
            "location": "Courtroom 4B",
            "status": "scheduled",
            **overrides,
        }
        for i in range(count)
    ]


def _load(
    engine, upload_id: str, entity: str, records: list[dict], template="hearings", **kwargs
) -> LoadCounts:
    with engine.begin() as conn:
        return Loader(conn, AGENCY, upload_id, template, **kwargs).load(entity, records)


def _start(engine, upload_id: str) -> None:
    """The upload's ledger row, as load_stage writes it before the records."""
    with engine.begin() as conn:
        start_upload(
            conn,
            upload_id=upload_id,
            profile=None,
            agency=AGENCY,
            template="t",
            source=None,
            path=None,
            size=None,
            mtime=None,
            sha256=None,
        )


def _created_ids(engine, entity: str, upload_id: str) -> list[str]:
    """The ids the database gave the records an upload created, read back by upload id."""
    with engine.connect() as conn:
        return list(created_ids(conn, entity, upload_id))


def _rows(engine, entity: str) -> dict[str, dict]:
    table = entity_table(entity)
    with engine.connect() as conn:
        return {row.natural_key: dict(row._mapping) for row in conn.execute(select(table))}


# --- natural keys ---------------------------------------------------------------------------
def natural_key(entity: str, record: dict) -> str | None:
    """natural_keys() of a one-record table."""
    (key,) = natural_keys(entity, records_table(entity, [record])).to_pylist()
    return key


def test_natural_key_joins_key_fields_and_misses_on_blank_parts():
    assert natural_key("client", {"reference": "D-1"}) == "D-1"
    assert natural_key(
        "contact", {"client_reference": "D-1", "channel": "phone", "value": "+13125550100"}
    ) == ("D-1|phone|+13125550100")
    assert natural_key("contact", {"client_reference": "D-1", "channel": "phone", "value": None}) is None
    assert natural_key("client", {"reference": "  "}) is None
    assert natural_key("client", {"reference": "\u2003\t"}) is None  # any whitespace is blank
    assert natural_key("case", {"status": "open"}) is None  # the key field is not there at all


def test_event_without_reference_falls_back_to_case_start_and_place():
    chicago = timezone(timedelta(hours=-6))
    record = {
        "case_number": "24-CR-1",
        "starts_at": datetime(2025, 3, 1, 9, 0, tzinfo=chicago),
        "location": "4B",
    }
    assert natural_key("event", record) == "24-CR-1|2025-03-01T15:00:00+00:00|4B"
    # The same instant written in UTC is the same event.
    same = {**record, "starts_at": datetime(2025, 3, 1, 15, 0, tzinfo=UTC), "reference": ""}
    assert natural_key("event", same) == natural_key("event", record)
    assert natural_key(
        "event", {**record, "starts_at": datetime(2025, 3, 1, 9, 0, 0, 250, tzinfo=chicago)}
    ) == ("24-CR-1|2025-03-01T15:00:00.000250+00:00|4B")
    assert natural_key("event", {**record, "location": None}) is None
    assert natural_key("event", {**record, "reference": "H-9"}) == "H-9"


def test_natural_keys_of_a_table_line_up_with_its_rows():
    records = [{"reference": "D-1"}, {"reference": None}, {"reference": " D-3 "}]
    assert natural_keys("client", records_table("client", records)).to_pylist() == ["D-1", None, " D-3 "]


# --- counts ---------------------------------------------------------------------------------
def test_counts_over_three_loads(engine):
    records = _events(50)
    _start(engine, "u1")
    first = _load(engine, "u1", "event", records)
    assert (first.created, first.updated, first.unchanged) == (50, 0, 0)
    first_ids = _created_ids(engine, "event", "u1")
    assert len(set(first_ids)) == 50

    _start(engine, "u2")
    again = _load(engine, "u2", "event", _events(50))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 50)
    assert _created_ids(engine, "event", "u2") == []

    changed = _events(50)
    changed[7]["status"] = "continued"
    _start(engine, "u3")
    third = _load(engine, "u3", "event", changed)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 49)

    rows = _rows(engine, "event")
    assert len(rows) == 50
    assert rows["EV000007"]["status"] == "continued"
    assert rows["EV000007"]["upload_id"] == "u3"
    assert {row["id"] for row in rows.values()} == set(first_ids)
    assert _created_ids(engine, "event", "u3") == []  # updated, not created


def test_unchanged_rows_keep_their_upload_id(engine):
    _load(engine, "u1", "event", _events(3))
    changed = _events(3)
    changed[0]["status"] = "moved"
    _load(engine, "u2", "event", changed)
    rows = _rows(engine, "event")
    assert rows["EV000000"]["upload_id"] == "u2"
    assert rows["EV000001"]["upload_id"] == "u1"
    assert rows["EV000002"]["upload_id"] == "u1"
    assert rows["EV000001"]["updated_at"] == rows["EV000001"]["created_at"]


def test_field_the_batch_does_not_carry_is_not_nulled(engine):
    _load(engine, "u1", "client", [{"reference": "D1", "first_name": "Ana", "phone": "+13125550100"}])
    # A second template maps only the name: the phone stays.
    counts = _load(engine, "u2", "client", [{"reference": "D1", "first_name": "Anna"}], template="names")
    assert counts.updated == 1
    row = _rows(engine, "client")["D1"]
    assert (row["first_name"], row["phone"], row["template"]) == ("Anna", "+13125550100", "names")


def test_an_explicit_none_does_clear_the_field(engine):
    _load(engine, "u1", "client", [{"reference": "D1", "email": "a@example.org"}])
    counts = _load(engine, "u2", "client", [{"reference": "D1", "email": None}])
    assert counts.updated == 1
    assert _rows(engine, "client")["D1"]["email"] is None


def test_duplicate_keys_in_one_batch_last_wins(engine):
    batch = [
        {"reference": "D1", "last_name": "First"},
        {"reference": "D2", "last_name": "Other"},
        {"reference": "D1", "last_name": "Last"},
    ]
    counts = _load(engine, "u1", "client", batch)
    assert (counts.created, counts.updated, counts.unchanged) == (2, 0, 1)
    assert _rows(engine, "client")["D1"]["last_name"] == "Last"


def test_agencies_are_separate_tenants(engine):
    _load(engine, "u1", "client", [{"reference": "D1", "last_name": "Metro"}])
    with engine.begin() as conn:
        counts = Loader(conn, "other-county", "u2", "t").load(
            "client", [{"reference": "D1", "last_name": "Other"}]
        )
    assert counts.created == 1
    table = entity_table("client")
    with engine.connect() as conn:
        names = dict(conn.execute(select(table.c.agency, table.c.last_name)).all())
    assert names == {AGENCY: "Metro", "other-county": "Other"}


def test_record_without_natural_key_is_a_programming_error(engine):
    with engine.begin() as conn, pytest.raises(ValueError, match="record 2 of the batch has no natural key"):
        Loader(conn, AGENCY, "u1", "t").load("client", [{"reference": "D1"}, {"reference": None}])


def test_unknown_fields_are_refused_and_virtual_full_name_ignored(engine):
    with engine.begin() as conn:
        loader = Loader(conn, AGENCY, "u1", "t")
        with pytest.raises(ValueError, match="unknown fields"):
            loader.load("client", [{"reference": "D1", "shoe_size": "9"}])
    counts = _load(
        engine, "u1", "client", [{"reference": "D1", "full_name": "Doe, Jane", "last_name": "Doe"}]
    )
    assert counts.created == 1


# --- values ---------------------------------------------------------------------------------
TRICKY_TEXT = "tab\there, new\nline, CR\r, quote \" and ' , back\\slash \\N, comma, pipe | , ümlaut 法院 🚀"


def test_values_round_trip(engine):
    chicago = timezone(timedelta(hours=-6))
    payment = {
        "reference": "P1",
        "amount": Decimal("1234.50"),
        "balance": Decimal("0.07"),
        "due_date": date(2025, 2, 28),
        "paid_date": None,
        "status": "",
        "description": TRICKY_TEXT,
    }
    event = {
        "reference": "E1",
        "date": date(2025, 3, 1),
        "time": time(14, 5, 9),
        "starts_at": datetime(2025, 3, 1, 14, 5, 9, tzinfo=chicago),
        "location": "\\",
        "notes": "\\\\N",
    }
    contact = {"client_reference": "D1", "channel": "email", "value": "ana@example.org", "opt_in": False}
    _load(engine, "u1", "payment", [payment])
    _load(engine, "u1", "event", [event])
    _load(engine, "u1", "contact", [contact, {**contact, "value": "b@example.org", "opt_in": True}])

    stored = _rows(engine, "payment")["P1"]
    for name, value in payment.items():
        assert stored[name] == value, name
    assert stored["status"] == ""  # an empty string is not NULL

    stored = _rows(engine, "event")["E1"]
    assert stored["starts_at"] == event["starts_at"]
    assert stored["starts_at"].utcoffset() == timedelta(0)
    for name in ("date", "time", "location", "notes"):
        assert stored[name] == event[name], name

    opt_ins = {row["value"]: row["opt_in"] for row in _rows(engine, "contact").values()}
    assert opt_ins == {"ana@example.org": False, "b@example.org": True}

    # Reloading exactly the same values changes nothing: comparisons see them as equal.
    assert _load(engine, "u2", "payment", [payment]).unchanged == 1
    assert _load(engine, "u2", "event", [event]).unchanged == 1


def test_same_instant_in_another_offset_is_unchanged(engine):
    base = {"reference": "E1", "starts_at": datetime(2025, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=-6)))}
    _load(engine, "u1", "event", [base])
    again = {"reference": "E1", "starts_at": datetime(2025, 3, 1, 15, 0, tzinfo=UTC)}
    assert _load(engine, "u2", "event", [again]).unchanged == 1


# --- replace --------------------------------------------------------------------------------
def test_replace_all_deletes_what_this_upload_did_not_write(engine):
    _load(engine, "u1", "case", [{"number": n, "status": "open"} for n in ("C1", "C2", "C3")], template="a")
    _load(engine, "u2", "case", [{"number": "C9", "status": "open"}], template="b")
    with engine.begin() as conn:
        loader = Loader(conn, AGENCY, "u3", "a", touch_unchanged=True)
        counts = loader.load(
            "case", [{"number": "C1", "status": "open"}, {"number": "C2", "status": "closed"}]
        )
        assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 1)
        assert loader.replace("case", "all") == 2
    rows = _rows(engine, "case")
    assert set(rows) == {"C1", "C2"}
    assert {row["upload_id"] for row in rows.values()} == {"u3"}  # the unchanged C1 was touched


def test_replace_template_spares_other_templates_records(engine):
    _load(engine, "u1", "case", [{"number": n} for n in ("C1", "C2")], template="a")
    _load(engine, "u2", "case", [{"number": "C9"}], template="b")
    with engine.begin() as conn:
        loader = Loader(conn, AGENCY, "u3", "a", touch_unchanged=True)
        loader.load("case", [{"number": "C1"}])
        assert loader.replace("case", "template") == 1
    assert set(_rows(engine, "case")) == {"C1", "C9"}


def test_replace_spares_other_agencies(engine):
    with engine.begin() as conn:
        Loader(conn, "other-county", "u0", "a").load("case", [{"number": "C1"}])
    _load(engine, "u1", "case", [{"number": "C2"}], template="a")
    with engine.begin() as conn:
        loader = Loader(conn, AGENCY, "u3", "a", touch_unchanged=True)
        loader.load("case", [{"number": "C3"}])
        assert loader.replace("case", "all") == 1
    table = entity_table("case")
    with engine.connect() as conn:
        left = set(conn.execute(select(table.c.agency, table.c.natural_key)).all())
    assert left == {("other-county", "C1"), (AGENCY, "C3")}


def test_replace_needs_touched_unchanged_rows(engine):
    with engine.begin() as conn:
        loader = Loader(conn, AGENCY, "u1", "a")
        with pytest.raises(RuntimeError, match="touch_unchanged"):
            loader.replace("case", "all")
        with pytest.raises(ValueError, match="scope"):
            Loader(conn, AGENCY, "u1", "a", touch_unchanged=True).replace("case", "everything")


# --- transactions ---------------------------------------------------------------------------
def test_rollback_leaves_neither_records_nor_ledger(engine):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), engine.begin() as conn:
        start_upload(
            conn,
            upload_id="u1",
            profile="metro",
            agency=AGENCY,
            template="hearings",
            source="sftp_metro:/exports",
            path="/exports/a.csv",
            size=10,
            mtime=datetime(2025, 1, 1, tzinfo=UTC),
            sha256="ab",
            forced=False,
            run_id="r1",
        )
        loader = Loader(conn, AGENCY, "u1", "hearings")
        loader.load("client", [{"reference": "D1"}])
        loader.load("event", _events(5))
        raise Boom
    with engine.connect() as conn:
        for entity in ("client", "event"):
            assert conn.execute(select(func.count()).select_from(entity_table(entity))).scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM uploads").scalar() == 0
    # Nothing half-made is left either: the same upload loads cleanly afterwards.
    assert _load(engine, "u1", "event", _events(5)).created == 5


def test_many_batches_in_one_transaction(engine):
    with engine.begin() as conn:
        loader = Loader(conn, AGENCY, "u1", "t")
        total = LoadCounts()
        for start in range(0, 3000, 1000):
            total.add(loader.load("event", _events(3000)[start : start + 1000]))
        total.add(loader.load("event", _events(10)))  # seen in an earlier batch of this file
    assert (total.created, total.updated, total.unchanged) == (3000, 0, 10)
    assert total.as_dict() == {"created": 3000, "updated": 0, "unchanged": 10, "deleted": 0}


# --- PostgreSQL bulk path -------------------------------------------------------------------
def test_postgres_loads_through_copy(pg_url, monkeypatch):
    import courtfeed.target.stage as stage_module
    from courtfeed.target.db import engine_for, migrate

    copies = []
    original = stage_module.ArrowCsvStream

    def counting_stream(tables):
        copies.append(1)
        return original(tables)

    monkeypatch.setattr(stage_module, "ArrowCsvStream", counting_stream)
    engine = engine_for(pg_url)
    migrate(engine)
    size = 200_000
    records = _events(size, notes="line\nbreak\tand \\ backslash")
    for i in range(0, size, 1000):
        records[i]["status"] = None
    with engine.begin() as conn:
        loader = Loader(conn, AGENCY, "u1", "t")
        created = sum(loader.load("event", records[s : s + 50_000]).created for s in range(0, size, 50_000))
    assert copies == [1] * 4  # one COPY per load
    assert created == size

    changed = _events(size, notes="line\nbreak\tand \\ backslash")
    for i in range(0, size, 1000):
        changed[i]["status"] = None
    changed[123_456]["location"] = "Courtroom 9"
    with engine.begin() as conn:
        counts = Loader(conn, AGENCY, "u2", "t").load("event", changed)
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, size - 1)

    table = entity_table("event")
    with engine.connect() as conn:
        nulls = conn.execute(select(func.count()).where(table.c.status.is_(None))).scalar()
        notes = conn.execute(select(table.c.notes).distinct()).scalars().all()
        moved = conn.execute(select(table.c.location).where(table.c.natural_key == "EV123456")).scalar()
    assert nulls == size // 1000
    assert notes == ["line\nbreak\tand \\ backslash"]
    assert moved == "Courtroom 9"
    engine.dispose()


def test_created_ids_streams_every_created_id_in_natural_key_order(engine):
    # PostgreSQL reads them through COPY TO STDOUT, SQLite through a cursor: same answer.
    clients = [{"reference": f"D-{i:06d}"} for i in reversed(range(12_345))]
    _start(engine, "u1")
    _load(engine, "u1", "client", clients)
    _start(engine, "u2")
    _load(engine, "u2", "client", clients[:100] + [{"reference": "D-new"}])  # 100 unchanged, 1 new
    rows = _rows(engine, "client")
    first = _created_ids(engine, "client", "u1")
    assert first == [rows[key]["id"] for key in sorted(rows) if key != "D-new"]
    assert _created_ids(engine, "client", "u2") == [rows["D-new"]["id"]]
