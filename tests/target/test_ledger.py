from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from courtfeed.rejects import Reject
from courtfeed.target import ledger
from courtfeed.target.reject_store import upload_rejects
from courtfeed.target.schema import uploads

MTIME = datetime(2025, 3, 1, 6, 0, 5, tzinfo=UTC)


def _start(conn, upload_id="u1", path="/exports/a.csv", size=100, mtime=MTIME, profile="metro", sha256="aa"):
    ledger.start_upload(
        conn,
        upload_id=upload_id,
        profile=profile,
        agency="metro-county",
        template="hearings",
        source="sftp_metro:/exports",
        path=path,
        size=size,
        mtime=mtime,
        sha256=sha256,
        forced=False,
        run_id="manual__1",
    )


def _upload(engine, status="loaded", **kwargs):
    upload_id = kwargs.get("upload_id", "u1")
    with engine.begin() as conn:
        _start(conn, **kwargs)
        ledger.finish_upload(
            conn,
            upload_id,
            status=status,
            message="ok",
            rows_read=3,
            rows_loaded=2,
            rows_excluded=0,
            rows_rejected=1,
            counts={"client": {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}},
            rejects=[Reject(3, "DOB", "type:date", "not a date in format %m/%d/%Y")],
        )


def test_start_and_finish_write_one_complete_row(engine):
    _upload(engine, status="partial")
    with engine.connect() as conn:
        [row] = ledger.recent_uploads(conn)
    assert row["id"] == "u1" and row["status"] == "partial" and row["profile"] == "metro"
    assert (row["rows_read"], row["rows_loaded"], row["rows_rejected"]) == (3, 2, 1)
    assert row["counts"] == {"client": {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}}
    assert row["mtime"] == MTIME and row["forced"] is False
    assert row["started_at"] <= row["finished_at"]
    with engine.connect() as conn:
        assert upload_rejects(conn, "u1") == [
            {"row": 3, "column": "DOB", "rule": "type:date", "message": "not a date in format %m/%d/%Y"}
        ]


def test_the_kept_rejects_are_stored_in_order_and_the_rest_counted_per_rule(engine, monkeypatch):
    from courtfeed.target import reject_store

    monkeypatch.setattr(reject_store, "ROWS_PER_INSERT", 7)  # several inserts, one partly full
    kept = [Reject(None, None, "file", "file-level problem")]
    kept += [Reject(i + 2, "PHONE", "type:phone", "not a phone number") for i in range(20)]
    with engine.begin() as conn:
        _start(conn)
        ledger.finish_upload(
            conn,
            "u1",
            status="rejected",
            message="too many rejects",
            rows_rejected=2_500,
            rejects=iter(kept),  # streamed: the ledger takes any iterable, once
            rejects_more={"type:phone": 2_000, "required": 480},
        )
    with engine.connect() as conn:
        stored = upload_rejects(conn, "u1")
        [row] = ledger.recent_uploads(conn)
    assert [r["row"] for r in stored] == [None, *range(2, 22)]
    assert row["rejects_more"] == {"type:phone": 2_000, "required": 480}
    assert row["message"] == "too many rejects"


def test_an_upload_without_overflow_has_no_rejects_more(engine):
    _upload(engine)
    with engine.connect() as conn:
        [row] = ledger.recent_uploads(conn)
        raw = conn.execute(select(uploads.c.rejects_more)).scalar_one()
    assert row["rejects_more"] == {} and raw is None


def test_finish_without_start_is_an_error(engine):
    with engine.begin() as conn, pytest.raises(LookupError):
        ledger.finish_upload(conn, "nope", status="loaded")


def test_record_failed_upload_after_rollback(engine):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), engine.begin() as conn:
        _start(conn)
        raise Boom
    ledger.record_failed_upload(
        engine,
        upload_id="u1",
        profile="metro",
        agency="metro-county",
        template="hearings",
        source="sftp_metro:/exports",
        path="/exports/a.csv",
        size=100,
        mtime=MTIME,
        sha256="aa",
        status="failed",
        message="load failed: OperationalError",
        rejects=[Reject(None, None, "file", "x")],
    )
    # A retry fails again: its row replaces the first attempt's, rejects are not doubled.
    ledger.record_failed_upload(
        engine,
        upload_id="u1",
        profile="metro",
        agency="metro-county",
        template="hearings",
        source="sftp_metro:/exports",
        path="/exports/a.csv",
        size=100,
        mtime=MTIME,
        sha256="aa",
        status="rejected",
        message="over the reject threshold",
        rejects=[Reject(None, None, "file", "x")],
    )
    with engine.connect() as conn:
        [row] = ledger.recent_uploads(conn)
        assert (row["status"], row["message"]) == ("rejected", "over the reject threshold")
        assert len(upload_rejects(conn, "u1")) == 1


def test_discard_failed_attempt_keeps_loaded_uploads(engine):
    _upload(engine, status="failed", upload_id="failed-one")
    _upload(engine, status="loaded", upload_id="loaded-one")
    with engine.begin() as conn:
        assert ledger.discard_failed_attempt(conn, "failed-one") is True
        assert ledger.discard_failed_attempt(conn, "loaded-one") is False
        assert upload_rejects(conn, "failed-one") == []
        ledger.set_ack_path(conn, "loaded-one", "/acks/a.json")
    with engine.connect() as conn:
        assert [(r["id"], r["ack_path"]) for r in ledger.recent_uploads(conn)] == [
            ("loaded-one", "/acks/a.json")
        ]


def test_processed_identities_with_many_candidates(engine):
    count = 50_000
    with engine.begin() as conn:
        rows = [
            {
                "id": f"u{i}",
                "profile": "metro",
                "agency": "metro-county",
                "path": f"/exports/f{i}.csv",
                "size": 100 + i,
                "mtime": MTIME + timedelta(seconds=i),
                "status": ("loaded", "partial", "rejected", "duplicate", "failed")[i % 5],
                "rows_read": 0,
                "rows_loaded": 0,
                "rows_excluded": 0,
                "rows_rejected": 0,
                "forced": False,
            }
            for i in range(0, count, 2)  # every second file was seen before
        ]
        conn.execute(uploads.insert(), rows)
    chicago = timezone(timedelta(hours=-6))
    candidates = []
    for i in range(count):
        # Listings give local times and whole seconds; stored ones are UTC with no fraction.
        mtime = (MTIME + timedelta(seconds=i)).astimezone(chicago).replace(microsecond=0)
        candidates.append((f"/exports/f{i}.csv", 100 + i, mtime))
    candidates.append(("/exports/f0.csv", 999, MTIME))  # same path, other size: new
    candidates.append(("/exports/f2.csv", 102, MTIME + timedelta(seconds=3)))  # other mtime: new
    candidates.append(("/exports/f0.csv", 100, MTIME + timedelta(microseconds=400)))  # same second: seen
    with engine.connect() as conn:
        seen = ledger.processed_identities(conn, "metro", candidates)
        other_profile = ledger.processed_identities(conn, "other", candidates[:10])
    # status "failed" is parked (its retries are spent): settled like the others until reprocessed
    expected = {c for i, c in enumerate(candidates[:count]) if i % 2 == 0}
    expected.add(candidates[-1])
    assert seen == expected
    assert other_profile == set()


def test_upload_with_same_content(engine):
    _upload(engine, status="loaded", upload_id="u1", sha256="aa")
    _upload(engine, status="rejected", upload_id="u2", sha256="bb")
    _upload(engine, status="loaded", upload_id="cli", sha256="aa", profile=None)
    with engine.connect() as conn:
        found = ledger.upload_with_same_content(conn, "metro", "/exports/a.csv", "aa")
        assert found["id"] == "u1" and found["counts"]["client"]["created"] == 2
        assert ledger.upload_with_same_content(conn, "metro", "/exports/a.csv", "bb") is None  # rejected
        assert ledger.upload_with_same_content(conn, "metro", "/exports/b.csv", "aa") is None
        assert ledger.upload_with_same_content(conn, None, "/exports/a.csv", "aa")["id"] == "cli"


def test_observe_files_returns_the_previous_look(engine):
    first = datetime(2025, 3, 1, 6, 0, 0, tzinfo=UTC)
    with engine.begin() as conn:
        assert ledger.observe_files(conn, "metro", [("/a.csv", 10, MTIME), ("/b.csv", 5, MTIME)], first) == {}
    second = first + timedelta(minutes=1)
    with engine.begin() as conn:
        before = ledger.observe_files(
            conn, "metro", [("/a.csv", 10, MTIME), ("/b.csv", 7, MTIME + timedelta(seconds=9))], second
        )
    assert before == {"/a.csv": (10, MTIME, first), "/b.csv": (5, MTIME, first)}
    third = second + timedelta(minutes=1)
    with engine.begin() as conn:
        before = ledger.observe_files(conn, "metro", [("/a.csv", 10, MTIME), ("/b.csv", 7, MTIME)], third)
        other = ledger.observe_files(conn, "other", [("/a.csv", 10, MTIME)], third)
    # a.csv is stable since the first look; b.csv changed at the second look.
    assert before == {"/a.csv": (10, MTIME, first), "/b.csv": (7, MTIME + timedelta(seconds=9), second)}
    assert other == {}


def test_recent_uploads_newest_first_and_per_profile(engine):
    for i, profile in enumerate(["metro", "north", "metro"]):
        _upload(engine, upload_id=f"u{i}", profile=profile)
    with engine.connect() as conn:
        assert [r["id"] for r in ledger.recent_uploads(conn)] == ["u2", "u1", "u0"]
        assert [r["id"] for r in ledger.recent_uploads(conn, "metro", limit=1)] == ["u2"]
        counts = conn.execute(select(uploads.c.counts).where(uploads.c.id == "u0")).scalar()
    assert json.loads(counts)["client"]["created"] == 2
