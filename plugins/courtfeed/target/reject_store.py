"""The rejects of an upload in the ledger: the first ones in full, one row each.

The pipeline hands over an upload's first rejects (the template's ``rejects_kept``) and per-rule
counts for the rest (``uploads.rejects_more``, written by the ledger); they are written here in
chunks, so storing them costs a chunk of memory, not the upload's rejects. Rows, columns, rules
and messages only: never a row's values.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from sqlalchemy import Connection, delete, insert, select

from courtfeed.rejects import Reject
from courtfeed.target.schema import upload_rejects as rejects_table

ROWS_PER_INSERT = 1_000


def store_rejects(conn: Connection, upload_id: str, rejects: Iterable[Reject]) -> int:
    """Insert the rejects (in the order given: the ledger reads them back in it); returns how many."""
    stored = 0
    items = iter(rejects)
    while chunk := list(islice(items, ROWS_PER_INSERT)):
        conn.execute(
            insert(rejects_table),
            [
                {
                    "upload_id": upload_id,
                    "row": r.row,
                    "column_name": r.column,
                    "rule": r.rule,
                    "message": r.message,
                }
                for r in chunk
            ],
        )
        stored += len(chunk)
    return stored


def discard_rejects(conn: Connection, upload_id: str) -> None:
    conn.execute(delete(rejects_table).where(rejects_table.c.upload_id == upload_id))


def upload_rejects(conn: Connection, upload_id: str) -> list[dict]:
    """An upload's stored rejects in file order: {row, column, rule, message}."""
    rows = conn.execute(
        select(
            rejects_table.c.row, rejects_table.c.column_name, rejects_table.c.rule, rejects_table.c.message
        )
        .where(rejects_table.c.upload_id == upload_id)
        .order_by(rejects_table.c.id)
    )
    return [
        {"row": row, "column": column, "rule": rule, "message": message}
        for row, column, rule, message in rows
    ]
