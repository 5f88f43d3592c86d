"""The upload ledger: one row per file processed, its rejects, and what the sensor saw of each file.

Plain functions on a Connection so the pipeline can write the ledger in the same transaction as
the records it loads. Messages and rejects name rows, columns and rules, never row values. An
upload's first rejects are stored in full (target.reject_store), the rest counted per rule in
``uploads.rejects_more``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, select, update

from courtfeed.rejects import Reject
from courtfeed.status import LOADED, SETTLED, Status
from courtfeed.target.reject_store import discard_rejects, store_rejects
from courtfeed.target.schema import file_observations, uploads, utc_now

# An upload in one of these states has been dealt with: the sensor does not offer the file again.
# "failed" is an upload whose retries are spent: parked until someone reprocesses it (force_files,
# `courtfeed reprocess`), so a file that cannot load is not fetched, failed and alerted on again
# every cycle.
SETTLED_STATUSES = tuple(sorted(SETTLED))
# An upload in one of these states put records in the target.
LOADED_STATUSES = tuple(sorted(LOADED))
# Set while the loading transaction is open; never visible to other connections.
IN_PROGRESS_STATUS = Status.LOADING
# Rows per IN (...) lookup: far under every backend's bound-parameter limit.
LOOKUP_CHUNK = 1_000

Identity = tuple[str, int, datetime]  # path, size, mtime


def _utc_seconds(moment: datetime | None) -> datetime | None:
    """A timestamp at whole-second precision in UTC: SFTP listings only have whole seconds."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _profile_is(profile: str | None):
    return uploads.c.profile.is_(None) if profile is None else uploads.c.profile == profile


def _as_dict(row) -> dict:
    record = dict(row._mapping)
    for key in ("counts", "rejects_more"):
        if key in record:
            record[key] = json.loads(record[key]) if record[key] else {}
    return record


# --- writing an upload ---------------------------------------------------------------------
def start_upload(
    conn: Connection,
    *,
    upload_id: str,
    profile: str | None,
    agency: str,
    template: str | None,
    source: str | None,
    path: str | None,
    size: int | None,
    mtime: datetime | None,
    sha256: str | None,
    forced: bool = False,
    run_id: str | None = None,
    member: str | None = None,
) -> None:
    """Insert the upload's ledger row; finish_upload completes it in the same transaction.

    For a member of a compressed or encrypted delivery, path, size and mtime are the delivered
    file's (its identity on the source) and ``member`` names the file inside it.
    """
    conn.execute(
        insert(uploads).values(
            id=upload_id,
            profile=profile,
            agency=agency,
            template=template,
            source=source,
            path=path,
            member=member,
            size=size,
            mtime=_utc_seconds(mtime),
            sha256=sha256,
            status=IN_PROGRESS_STATUS,
            rows_read=0,
            rows_loaded=0,
            rows_excluded=0,
            rows_rejected=0,
            forced=forced,
            run_id=run_id,
            started_at=utc_now(),
        )
    )


def finish_upload(
    conn: Connection,
    upload_id: str,
    *,
    status: str,
    message: str | None = None,
    rows_read: int = 0,
    rows_loaded: int = 0,
    rows_excluded: int = 0,
    rows_rejected: int = 0,
    counts: dict | None = None,
    rejects: Iterable[Reject] = (),
    rejects_more: dict[str, int] | None = None,
    ack_path: str | None = None,
) -> None:
    """Record the outcome, the rejects kept in full (the caller bounds them: the template's
    ``rejects_kept``) and, per rule, how many more there were (``rejects_more``)."""
    store_rejects(conn, upload_id, rejects)
    result = conn.execute(
        update(uploads)
        .where(uploads.c.id == upload_id)
        .values(
            status=status,
            message=message,
            rows_read=rows_read,
            rows_loaded=rows_loaded,
            rows_excluded=rows_excluded,
            rows_rejected=rows_rejected,
            counts=json.dumps(counts or {}, sort_keys=True),
            rejects_more=json.dumps(rejects_more, sort_keys=True) if rejects_more else None,
            ack_path=ack_path,
            finished_at=utc_now(),
        )
    )
    if result.rowcount != 1:
        raise LookupError(f"upload {upload_id} has no ledger row: call start_upload first")


def record_failed_upload(
    engine: Engine,
    *,
    upload_id: str,
    profile: str | None,
    agency: str,
    template: str | None,
    source: str | None,
    path: str | None,
    size: int | None,
    mtime: datetime | None,
    sha256: str | None,
    status: str,
    message: str | None = None,
    forced: bool = False,
    run_id: str | None = None,
    rows_read: int = 0,
    rows_loaded: int = 0,
    rows_excluded: int = 0,
    rows_rejected: int = 0,
    counts: dict | None = None,
    rejects: Iterable[Reject] = (),
    rejects_more: dict[str, int] | None = None,
    ack_path: str | None = None,
    member: str | None = None,
    attempts: int | None = None,
) -> None:
    """Write a whole ledger row in a transaction of its own: for rejected or failed files, after
    the loading transaction was rolled back. ``attempts``: of a failed upload, how many were made.

    An earlier rejected/failed row of the same upload id (a retried task) is replaced; a loaded or
    partial row of that id is left as it is (its records are in the target).
    """
    with engine.begin() as conn:
        discard_failed_attempt(conn, upload_id)
        if conn.execute(select(uploads.c.id).where(uploads.c.id == upload_id)).first() is not None:
            return  # loaded before: its records are in the target and its row must say so
        start_upload(
            conn,
            upload_id=upload_id,
            profile=profile,
            agency=agency,
            template=template,
            source=source,
            path=path,
            size=size,
            mtime=mtime,
            sha256=sha256,
            forced=forced,
            run_id=run_id,
            member=member,
        )
        finish_upload(
            conn,
            upload_id,
            status=status,
            message=message,
            rows_read=rows_read,
            rows_loaded=rows_loaded,
            rows_excluded=rows_excluded,
            rows_rejected=rows_rejected,
            counts=counts,
            rejects=rejects,
            rejects_more=rejects_more,
            ack_path=ack_path,
        )
        if attempts is not None:
            conn.execute(update(uploads).where(uploads.c.id == upload_id).values(attempts=attempts))


def discard_failed_attempt(conn: Connection, upload_id: str) -> bool:
    """Remove the ledger row and rejects of an earlier attempt of this upload that did not load.

    A retried task reuses its upload id; the failed attempt's row would otherwise block the new
    one. Rows of loaded or partial uploads are kept. Returns whether a row was removed.
    """
    removed = conn.execute(
        delete(uploads).where(uploads.c.id == upload_id, uploads.c.status.not_in(LOADED_STATUSES))
    ).rowcount
    if removed:
        discard_rejects(conn, upload_id)
    return bool(removed)


def run_uploads(conn: Connection, profile: str | None, path: str, run_id: str | None) -> list[dict]:
    """The ledger rows one DAG run wrote for a delivered file (its payloads, for a zip)."""
    rows = conn.execute(
        select(uploads.c.id, uploads.c.status, uploads.c.attempts).where(
            _profile_is(profile), uploads.c.path == path, uploads.c.run_id == run_id
        )
    )
    return [_as_dict(row) for row in rows]


def mark_parked(conn: Connection, upload_ids: list[str], message: str, attempts: int) -> None:
    """Settle failed rows that still say "retried" as parked, with the attempts made."""
    conn.execute(
        update(uploads)
        .where(uploads.c.id.in_(upload_ids), uploads.c.status == Status.FAILED)
        .values(message=message, attempts=attempts, finished_at=utc_now())
    )


def set_ack_path(conn: Connection, upload_id: str, ack_path: str) -> None:
    """Note where the upload's acknowledgement was written (known only after the load commits)."""
    conn.execute(update(uploads).where(uploads.c.id == upload_id).values(ack_path=ack_path))


# --- questions the sensor and the pipeline ask ----------------------------------------------
def processed_identities(conn: Connection, profile: str | None, candidates: list[Identity]) -> set[Identity]:
    """The candidates (path, size, mtime) that already have a settled upload with that identity.

    mtimes are compared at whole-second precision; the tuples returned are the caller's own.
    """
    wanted: dict[str, list[Identity]] = {}
    for candidate in candidates:
        wanted.setdefault(candidate[0], []).append(candidate)
    seen: set[tuple[str, int, datetime | None]] = set()
    for paths in _chunks(list(wanted)):
        rows = conn.execute(
            select(uploads.c.path, uploads.c.size, uploads.c.mtime)
            .where(_profile_is(profile), uploads.c.path.in_(paths), uploads.c.status.in_(SETTLED_STATUSES))
            .distinct()
        )
        seen.update((path, size, _utc_seconds(mtime)) for path, size, mtime in rows)
    return {
        candidate
        for group in wanted.values()
        for candidate in group
        if (candidate[0], candidate[1], _utc_seconds(candidate[2])) in seen
    }


def upload_with_same_content(
    conn: Connection, profile: str | None, path: str, sha256: str | None, member: str | None = None
) -> dict | None:
    """The latest earlier loaded or partial upload of this path (and, for a file inside a zip,
    the same member) with the same content, if any.

    The one duplicate rule: fetch asks it before anything is staged, load asks it again inside
    the loading transaction; both must agree, so two members of one zip with the same bytes
    are two uploads at both checks.
    """
    row = conn.execute(
        select(uploads)
        .where(
            _profile_is(profile),
            uploads.c.path == path,
            uploads.c.member.is_(None) if member is None else uploads.c.member == member,
            uploads.c.sha256 == sha256,
            uploads.c.status.in_(LOADED_STATUSES),
        )
        .order_by(uploads.c.finished_at.desc())
        .limit(1)
    ).first()
    return _as_dict(row) if row else None


def lock_file(conn: Connection, profile: str | None, path: str) -> None:
    """Serialise loads of one file within the transaction (two runs may race for it).

    PostgreSQL: a transaction-level advisory lock on the file's name. SQLite serialises writers
    already (the load transaction writes first), so nothing is needed there.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{profile or ''}|{path}",))


def observe_files(
    conn: Connection, profile: str, files: list[Identity], now: datetime
) -> dict[str, tuple[int, datetime, datetime]]:
    """Remember this look at the source; return what the previous look saw of these files.

    The result maps path -> (size, mtime, first_seen_at) as stored before this call, for the
    paths seen before. first_seen_at is when that exact size and mtime was first seen: it moves
    on whenever a file changes, so "unchanged since first_seen_at" means stable between looks.
    """
    at = _utc_seconds(now)
    latest = {path: (size, _utc_seconds(mtime)) for path, size, mtime in files}
    previous: dict[str, tuple[int, datetime, datetime]] = {}
    for paths in _chunks(list(latest)):
        rows = conn.execute(
            select(
                file_observations.c.path,
                file_observations.c.size,
                file_observations.c.mtime,
                file_observations.c.first_seen_at,
            ).where(file_observations.c.profile == profile, file_observations.c.path.in_(paths))
        )
        previous.update({path: (size, mtime, first) for path, size, mtime, first in rows})

    new = [
        {"profile": profile, "path": p, "size": s, "mtime": m, "first_seen_at": at, "last_seen_at": at}
        for p, (s, m) in latest.items()
        if p not in previous
    ]
    same: list[dict] = []
    changed: list[dict] = []
    for path, (size, mtime) in latest.items():
        if path in previous:
            before_size, before_mtime, _ = previous[path]
            stable = before_size == size and _utc_seconds(before_mtime) == mtime
            (same if stable else changed).append({"p": path, "s": size, "m": mtime})
    if new:
        conn.execute(insert(file_observations), new)
    key = and_(file_observations.c.profile == profile, file_observations.c.path == bindparam("p"))
    if same:
        conn.execute(update(file_observations).where(key).values(last_seen_at=at), same)
    if changed:
        conn.execute(
            update(file_observations)
            .where(key)
            .values(
                size=bindparam("s"),
                mtime=bindparam("m", type_=file_observations.c.mtime.type),
                first_seen_at=at,
                last_seen_at=at,
            ),
            changed,
        )
    return previous


# --- reading the ledger ----------------------------------------------------------------------
def recent_uploads(conn: Connection, profile: str | None = None, limit: int = 20) -> list[dict]:
    """The latest uploads, newest first, of one profile or of all when profile is None."""
    statement = select(uploads).order_by(uploads.c.started_at.desc(), uploads.c.id).limit(limit)
    if profile is not None:
        statement = statement.where(uploads.c.profile == profile)
    return [_as_dict(row) for row in conn.execute(statement)]
