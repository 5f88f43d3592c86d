"""Ledger rows as the lineage builders take them: the keys of a FileWork dict, counts parsed."""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from courtfeed.target.schema import uploads

COLUMNS = (
    uploads.c.id,
    uploads.c.profile,
    uploads.c.agency,
    uploads.c.template,
    uploads.c.path,
    uploads.c.member,
    uploads.c.size,
    uploads.c.status,
    uploads.c.message,
    uploads.c.rows_read,
    uploads.c.rows_loaded,
    uploads.c.rows_excluded,
    uploads.c.rows_rejected,
    uploads.c.counts,
    uploads.c.started_at,
    uploads.c.finished_at,
)


def as_work(row) -> dict:
    record = dict(row._mapping)
    record["upload_id"] = record.pop("id")
    record["counts"] = json.loads(record["counts"]) if record.get("counts") else {}
    return record


def delivery_uploads(conn: Connection, profile: str, path: str, run_id: str | None) -> list[dict]:
    """The ledger rows one DAG run wrote for a delivered file (one per payload of a zip)."""
    statement = select(*COLUMNS).where(
        uploads.c.profile == profile, uploads.c.path == path, uploads.c.run_id == run_id
    )
    return [as_work(row) for row in conn.execute(statement.order_by(uploads.c.id))]
