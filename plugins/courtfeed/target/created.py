"""The ids of the records an upload created, for its acknowledgement: a million-row file creates
millions, so they travel as lines of text in files, never as Python lists.

Two sources give the same ids: the file the loader wrote while inserting them (Loader's
``created_ids_to``: INSERT ... RETURNING streamed through COPY, inside the loading transaction),
and, where there is none (records merged into an agency's existing ones, a retried task),
the target itself, read back by upload id (created_ids()).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql

from courtfeed.target.schema import entity_table, uploads
from courtfeed.target.stage import COPY_BUFFER, copies, driver_cursor

# Ids made by the database (target/record_ids.py) are hexadecimal UUIDs: JSON strings as they are.
PLAIN_ID_BYTES = b"0123456789abcdefABCDEF-"
READ_BLOCK = 1 << 20


class IdLines:
    """Ids one per line in a binary file, read once: iterate for the ids as text, or take them
    as JSON string items in blocks (json_items) without handling each id in Python."""

    def __init__(self, handle: IO[bytes]):
        self._handle = handle

    @classmethod
    def open(cls, path: Path) -> IdLines:
        return cls(path.open("rb"))

    def close(self) -> None:
        self._handle.close()

    def __iter__(self) -> Iterator[str]:
        try:
            for line in self._handle:
                yield line.rstrip(b"\n").decode()
        finally:
            self.close()

    def json_items(self, separator: bytes) -> Iterator[bytes]:
        """The ids as JSON strings joined by ``separator``, in blocks of about READ_BLOCK bytes."""
        quoted_separator = b'"' + separator + b'"'
        rest = b""
        first = True
        try:
            while block := self._handle.read(READ_BLOCK):
                block = rest + block
                end = block.rfind(b"\n") + 1
                block, rest = block[:end], block[end:]
                if block:
                    yield (b"" if first else separator) + _items(block, quoted_separator, separator)
                    first = False
            if rest:
                yield (b"" if first else separator) + _items(rest + b"\n", quoted_separator, separator)
        finally:
            self.close()


def _items(lines: bytes, quoted_separator: bytes, separator: bytes) -> bytes:
    """Complete lines (each ending in a newline) as JSON strings joined by the separator."""
    body = lines[:-1]
    if not body.translate(None, PLAIN_ID_BYTES + b"\n"):
        return b'"' + body.replace(b"\n", quoted_separator) + b'"'
    # Not the database's hexadecimal ids (an older row): each one escaped as json.dumps would.
    ids = body.decode().split("\n")
    return separator.join(json.dumps(i).encode() for i in ids)


def created_ids(conn: Connection, entity: str, upload_id: str) -> Iterator[str] | IdLines:
    """The ids of the records this upload created, in natural-key order, read back by upload id.

    A record was created by the upload when it still carries the upload's id and was created
    no earlier than the upload started (a record it only updated or touched is older).
    On PostgreSQL they come through one COPY into a temporary file, read back in blocks.
    """
    target = entity_table(entity)
    started = select(uploads.c.started_at).where(uploads.c.id == upload_id).scalar_subquery()
    statement = (
        select(target.c.id)
        .where(target.c.upload_id == upload_id, target.c.created_at >= started)
        .order_by(target.c.natural_key)
    )
    if copies(conn):
        return _copied_ids(conn, statement)
    return (row[0] for row in conn.execute(statement.execution_options(yield_per=10_000)))


def _copied_ids(conn: Connection, statement) -> IdLines:
    """The single text column of ``statement``, through COPY ... TO STDOUT (PostgreSQL)."""
    compiled = statement.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    spool = tempfile.TemporaryFile("w+b")
    try:
        with driver_cursor(conn) as cursor:
            # A one-off read: compiling it to machine code takes longer than it saves.
            conn.execute(select(func.set_config("jit", "off", True)))
            # The driver binds the parameters (upload id) into the statement text, quoted.
            query = cursor.mogrify(compiled.string, compiled.params).decode()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT", spool, size=COPY_BUFFER)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return IdLines(spool)  # ids are plain text: no escapes in COPY's text format
