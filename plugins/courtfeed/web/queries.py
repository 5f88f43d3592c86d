"""Read-only questions the dashboard asks the upload ledger.

The ledger holds file identities, statuses, counts and rejects (row, column, rule, message),
never row values, so everything returned here is safe to show. Functions take a Connection and
return plain dicts with aware UTC datetimes, like courtfeed.target.ledger.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, func, inspect, select

from courtfeed.target.schema import uploads
from courtfeed.web.access import EVERYTHING, Visibility

# Columns of a ledger row the list pages need (the full row is read for one upload).
LIST_COLUMNS = (
    uploads.c.id,
    uploads.c.profile,
    uploads.c.agency,
    uploads.c.template,
    uploads.c.path,
    uploads.c.status,
    uploads.c.message,
    uploads.c.rows_read,
    uploads.c.rows_loaded,
    uploads.c.rows_excluded,
    uploads.c.rows_rejected,
    uploads.c.forced,
    uploads.c.attempts,  # a parked failure: the attempts made
    uploads.c.started_at,
    uploads.c.finished_at,
)
SEARCH_LIMIT = 200


def ledger_exists(conn: Connection) -> bool:
    """Whether the target has a ledger yet (it is created by the first run's migration).

    The dashboard only reads: it never migrates the target itself.
    """
    return inspect(conn).has_table(uploads.name)


def _when():
    """The moment an upload happened: when it finished, else when it started."""
    return func.coalesce(uploads.c.finished_at, uploads.c.started_at)


def _row(row) -> dict:
    record = dict(row._mapping)
    for key in ("counts", "rejects_more"):
        if key in record:
            record[key] = json.loads(record[key]) if record[key] else {}
    record["file_name"] = file_name(record.get("path"))
    return record


def file_name(path: str | None) -> str:
    """The last part of a remote path or S3 key."""
    if not path:
        return ""
    return path.rstrip("/").rsplit("/", 1)[-1]


def latest_upload_per_profile(conn: Connection, profile_names: list[str]) -> dict[str, dict]:
    """The newest upload of each named profile, one query for all of them."""
    if not profile_names:
        return {}
    newest_first = func.row_number().over(
        partition_by=uploads.c.profile, order_by=(_when().desc(), uploads.c.id)
    )
    ranked = (
        select(*LIST_COLUMNS, newest_first.label("rank"))
        .where(uploads.c.profile.in_(profile_names))
        .subquery()
    )
    statement = select(*(ranked.c[c.name] for c in LIST_COLUMNS)).where(ranked.c.rank == 1)
    return {row.profile: _row(row) for row in conn.execute(statement)}


def ledger_profiles(conn: Connection) -> list[str]:
    """Every profile name the ledger has uploads of (command-line ingests have none)."""
    statement = (
        select(uploads.c.profile).where(uploads.c.profile.is_not(None)).distinct().order_by(uploads.c.profile)
    )
    return list(conn.execute(statement).scalars())


def recent_uploads(
    conn: Connection, visible: Visibility = EVERYTHING, profile: str | None = None, limit: int = 20
) -> list[dict]:
    """The latest uploads the user may see, newest first, of one profile or of all."""
    statement = (
        select(uploads)
        .where(visible.where())
        .order_by(uploads.c.started_at.desc(), uploads.c.id)
        .limit(limit)
    )
    if profile is not None:
        statement = statement.where(uploads.c.profile == profile)
    return [_row(row) for row in conn.execute(statement)]


def daily_rows(
    conn: Connection, days: int = 30, today: date | None = None, visible: Visibility = EVERYTHING
) -> list[dict]:
    """Rows loaded and rejected per UTC day for the last ``days`` days, oldest first.

    Every day is present, with zeros when nothing was processed, so a chart shows quiet days.
    """
    today = today or datetime.now(UTC).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    when = _when()
    if conn.dialect.name == "postgresql":
        # date() of a timestamptz uses the session's time zone; the chart's days are UTC days.
        day = func.date(func.timezone("UTC", when))
    else:
        day = func.date(when)  # SQLite stores UTC wall time: its date is the UTC day
    statement = (
        select(
            day.label("day"),
            func.count().label("uploads"),
            func.coalesce(func.sum(uploads.c.rows_loaded), 0).label("loaded"),
            func.coalesce(func.sum(uploads.c.rows_rejected), 0).label("rejected"),
        )
        .where(when >= since, visible.where())
        .group_by(day)
    )
    totals = {}
    for row in conn.execute(statement):
        key = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
        totals[key] = (int(row.uploads), int(row.loaded), int(row.rejected))
    out = daily_rows_empty(days, today)
    for entry in out:
        entry["uploads"], entry["loaded"], entry["rejected"] = totals.get(entry["day"], (0, 0, 0))
    return out


def daily_rows_empty(days: int = 30, today: date | None = None) -> list[dict]:
    """The days of daily_rows with nothing processed: what a target without a ledger shows."""
    today = today or datetime.now(UTC).date()
    return [
        {"day": today - timedelta(days=days - 1 - offset), "uploads": 0, "loaded": 0, "rejected": 0}
        for offset in range(days)
    ]


def get_upload(conn: Connection, upload_id: str) -> dict | None:
    """One full ledger row, or None."""
    row = conn.execute(select(uploads).where(uploads.c.id == upload_id)).first()
    return _row(row) if row else None


def search_uploads(
    conn: Connection,
    text: str = "",
    status: str | None = None,
    profile: str | None = None,
    limit: int = SEARCH_LIMIT,
    visible: Visibility = EVERYTHING,
) -> list[dict]:
    """Uploads the user may see whose path contains ``text`` (any case), of a status and
    profile, newest first."""
    statement = (
        select(*LIST_COLUMNS).where(visible.where()).order_by(_when().desc(), uploads.c.id).limit(limit)
    )
    if text:
        # autoescape: a % or _ the user types is matched literally, not as a wildcard
        statement = statement.where(func.lower(uploads.c.path).contains(text.lower(), autoescape=True))
    if status:
        statement = statement.where(uploads.c.status == status)
    if profile:
        statement = statement.where(uploads.c.profile == profile)
    return [_row(row) for row in conn.execute(statement)]
