"""The dashboard's ledger queries, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from courtfeed.target.db import engine_for, migrate
from courtfeed.target.schema import uploads
from courtfeed.web import queries

TODAY = date(2026, 11, 20)


def add_upload(
    conn, *, profile="p1", path="/in/a.csv", status="loaded", finished_at=None, loaded=0, rejected=0
):
    upload_id = str(uuid.uuid4())
    conn.execute(
        insert(uploads).values(
            id=upload_id,
            profile=profile,
            agency="ag",
            path=path,
            status=status,
            rows_read=loaded + rejected,
            rows_loaded=loaded,
            rows_rejected=rejected,
            started_at=finished_at - timedelta(seconds=5) if finished_at else None,
            finished_at=finished_at,
        )
    )
    return upload_id


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def test_a_target_without_migration_has_no_ledger(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'empty.db'}")
    with engine.connect() as conn:
        assert queries.ledger_exists(conn) is False
    migrate(engine)
    with engine.connect() as conn:
        assert queries.ledger_exists(conn) is True


def test_daily_rows_sums_each_utc_day_and_keeps_quiet_days(engine):
    with engine.begin() as conn:
        add_upload(conn, finished_at=at(TODAY, 9), loaded=100, rejected=2)
        add_upload(conn, finished_at=at(TODAY, 23, 59), loaded=50, rejected=1)
        # 02:00 UTC is the evening before in Chicago: it still counts for its UTC day
        add_upload(conn, finished_at=at(TODAY - timedelta(days=3), 2), loaded=7)
        add_upload(conn, finished_at=at(TODAY - timedelta(days=29), 0, 1), loaded=3)
        add_upload(conn, finished_at=at(TODAY - timedelta(days=30), 23, 59), loaded=1000)  # before the window
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TIME ZONE 'America/Chicago'"))
        days = queries.daily_rows(conn, 30, today=TODAY)
    assert [d["day"] for d in days] == [TODAY - timedelta(days=29 - i) for i in range(30)]
    by_day = {d["day"]: (d["uploads"], d["loaded"], d["rejected"]) for d in days}
    assert by_day[TODAY] == (2, 150, 3)
    assert by_day[TODAY - timedelta(days=3)] == (1, 7, 0)
    assert by_day[TODAY - timedelta(days=4)] == (0, 0, 0)
    assert by_day[TODAY - timedelta(days=29)] == (1, 3, 0)
    assert sum(d["loaded"] for d in days) == 160


def test_latest_upload_per_profile_takes_the_newest_of_each(engine):
    with engine.begin() as conn:
        add_upload(conn, profile="p1", path="/in/old.csv", finished_at=at(TODAY, 1))
        newest = add_upload(
            conn, profile="p1", path="/in/new.csv", status="partial", finished_at=at(TODAY, 2)
        )
        add_upload(conn, profile="p2", path="s3://bucket/feeds/x.txt", finished_at=at(TODAY, 3))
        add_upload(conn, profile="p3", path="/in/other.csv", finished_at=at(TODAY, 4))
        add_upload(conn, profile=None, path="/tmp/cli.csv", finished_at=at(TODAY, 5))
    with engine.connect() as conn:
        latest = queries.latest_upload_per_profile(conn, ["p1", "p2", "never_ran"])
        assert queries.ledger_profiles(conn) == ["p1", "p2", "p3"]
    assert set(latest) == {"p1", "p2"}
    assert latest["p1"]["id"] == newest
    assert latest["p1"]["status"] == "partial"
    assert latest["p1"]["file_name"] == "new.csv"
    assert latest["p2"]["file_name"] == "x.txt"
    assert latest["p1"]["finished_at"] == at(TODAY, 2)


def test_search_matches_any_case_literally_and_filters(engine):
    with engine.begin() as conn:
        add_upload(conn, profile="p1", path="/in/Hearings_100%_final.csv", finished_at=at(TODAY, 1))
        add_upload(
            conn, profile="p1", path="/in/hearings_1000.csv", status="rejected", finished_at=at(TODAY, 2)
        )
        add_upload(conn, profile="p2", path="/in/payments.csv", status="rejected", finished_at=at(TODAY, 3))
    with engine.connect() as conn:

        def names(**kwargs):
            return [u["file_name"] for u in queries.search_uploads(conn, **kwargs)]

        assert names(text="HEARINGS") == ["hearings_1000.csv", "Hearings_100%_final.csv"]  # newest first
        assert names(text="100%") == ["Hearings_100%_final.csv"]
        assert names(text="s_1") == ["hearings_1000.csv", "Hearings_100%_final.csv"]
        assert names(text="gs_1000") == ["hearings_1000.csv"]
        assert names(text="ng__") == []  # "_" is no wildcard
        assert names(status="rejected") == ["payments.csv", "hearings_1000.csv"]
        assert names(status="rejected", profile="p1") == ["hearings_1000.csv"]
        assert names(text="", limit=1) == ["payments.csv"]


def test_get_upload_returns_the_full_row_with_counts():
    engine = engine_for("sqlite://")
    migrate(engine)
    with engine.begin() as conn:
        upload_id = add_upload(conn, finished_at=at(TODAY, 1), loaded=4)
        conn.execute(uploads.update().values(counts='{"client": {"created": 4}}'))
    with engine.connect() as conn:
        upload = queries.get_upload(conn, upload_id)
        assert queries.get_upload(conn, "missing") is None
    assert upload["counts"] == {"client": {"created": 4}}
    assert upload["rows_loaded"] == 4
    assert upload["agency"] == "ag"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/exports/a/b.csv", "b.csv"),
        ("s3://bucket/p/q/r.txt", "r.txt"),
        ("plain.xlsx", "plain.xlsx"),
        (None, ""),
    ],
)
def test_file_name(path, name):
    assert queries.file_name(path) == name
