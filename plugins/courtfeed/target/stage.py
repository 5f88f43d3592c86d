"""The stage table one entity's records pass through on their way into the target table.

PostgreSQL: an UNLOGGED table with a name of its own, created, filled with one COPY streamed
from Arrow's CSV writer, and dropped inside the loading transaction. Not a TEMPORARY table: a
transaction that touched one cannot be prepared (target/branches.py), and unlogged data is no
more written to the WAL than temporary data. Should the loader die, the transaction's rollback
takes the table with it. SQLite: a temporary table filled with executemany.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import BigInteger, Column, Connection, MetaData, Table

COPY_BUFFER = 1 << 20


def copies(conn: Connection) -> bool:
    """The connection can stream COPY (PostgreSQL through psycopg2's copy_expert)."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg2"


@contextmanager
def driver_cursor(conn: Connection) -> Iterator[Any]:
    """A cursor of the connection's own psycopg2 connection, inside its current transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection has its driver connection
    cursor = driver.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def stage_table(conn: Connection, entity: str, target: Table, names: list[str]) -> Table:
    """The stage table's definition: the record's position, its natural key and its fields."""
    postgres = conn.dialect.name == "postgresql"
    name = f"courtfeed_stage_{entity}" + (f"_{secrets.token_hex(4)}" if postgres else "")
    return Table(
        name,
        MetaData(),
        Column("ord", BigInteger),
        Column("natural_key", target.c.natural_key.type),  # the same collation as the table's
        *(Column(n, target.c[n].type) for n in names),
        prefixes=["UNLOGGED"] if postgres else ["TEMPORARY"],
    )


class ArrowCsvStream(io.RawIOBase):
    """A file-like object serving Arrow tables as CSV, chunk by chunk, for COPY ... FROM STDIN.

    Strings are always quoted and nulls written as nothing, which is exactly how PostgreSQL's
    CSV format tells an empty string from NULL.
    """

    def __init__(self, tables: Iterator[pa.Table]):
        self._tables = tables
        self._buffer = memoryview(b"")
        self._options = pacsv.WriteOptions(include_header=False, quoting_style="needed")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while not self._buffer:
            table = next(self._tables, None)
            if table is None:
                return 0
            sink = pa.BufferOutputStream()
            pacsv.write_csv(_utc_text(table), sink, self._options)
            self._buffer = memoryview(sink.getvalue())
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]  # a view: the rest is not copied again
        return size


def _utc_text(table: pa.Table) -> pa.Table:
    """Time-zone-aware timestamps as ISO text with their offset: Arrow's CSV writer formats them
    through the time zone database value by value (about 25x slower than this)."""
    for position, column in enumerate(table.columns):
        kind = column.type
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            naive = column.cast(pa.timestamp(kind.unit, tz="UTC")).cast(pa.timestamp(kind.unit))
            text = pc.binary_join_element_wise(naive.cast(pa.string()), "+00:00", "")
            table = table.set_column(position, table.field(position).name, text)
    return table


def fill(conn: Connection, stage: Table, tables: Iterator[pa.Table]) -> None:
    """Write ``tables`` (columns in the stage's order) into the stage table."""
    if copies(conn):
        quote = conn.dialect.identifier_preparer.quote
        columns = ", ".join(quote(c.name) for c in stage.columns)
        with driver_cursor(conn) as cursor:
            cursor.copy_expert(
                f"COPY {stage.name} ({columns}) FROM STDIN WITH (FORMAT csv)",
                ArrowCsvStream(tables),
                size=COPY_BUFFER,
            )
        return
    insert = stage.insert()
    decimals = [c.name for c in stage.columns if c.type.python_type is Decimal]
    for table in tables:
        rows = table.to_pylist()
        for name in decimals:
            for row in rows:
                if row[name] is not None:
                    row[name] = Decimal(row[name])
        conn.execute(insert, rows)


def as_tables(source: pa.Table | Iterable[pa.RecordBatch | pa.Table]) -> Iterator[pa.Table]:
    if isinstance(source, pa.Table):
        yield source
        return
    for item in source:
        yield pa.Table.from_batches([item]) if isinstance(item, pa.RecordBatch) else item


def chain(first: pa.Table, rest: Iterator[pa.Table]) -> Iterator[pa.Table]:
    yield first
    yield from rest
