"""Set-based load of one entity's mapped records, inside the caller's transaction.

Per entity per file: the records (Arrow batches) go into one temporary stage table (PostgreSQL:
one COPY streamed from Arrow's CSV writer; SQLite: executemany), then ONE statement applies them:

    PostgreSQL: MERGE INTO <table> USING <last record of each natural key in the stage>
                WHEN MATCHED AND <fields> IS DISTINCT FROM ... THEN UPDATE ... WHEN NOT MATCHED THEN INSERT
    SQLite:     INSERT ... SELECT ... ON CONFLICT (agency, natural_key) DO UPDATE ... WHERE ... IS NOT ...

Ids come from the database (time-ordered UUIDs, target/record_ids.py) and are not returned:
created/updated are counted in SQL, unchanged is the rest, and the ids of the created records
are read back by upload id when the acknowledgement is written (created_ids()). Only the fields
the records carry are compared and written, so a template that does not map a field never blanks
it.

Duplicate natural keys inside one load: the last record wins; the earlier ones are counted as
unchanged, so created + updated + unchanged always equals the number of records passed in.
With touch_unchanged (replace_all / replace_template) unchanged rows are stamped with this
upload, so replace() can delete, in one statement, what this upload did not write.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import BigInteger as SaBigInteger
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    Table,
    Text,
    TextClause,
    and_,
    bindparam,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql

from courtfeed.config.fields import EVENT_FALLBACK_KEY, NATURAL_KEYS, VIRTUAL_FIELDS, stored_fields
from courtfeed.target.record_ids import id_params, new_id_sql
from courtfeed.target.schema import UtcDateTime, entity_table, uploads, utc_now

KEY_SEPARATOR = "|"
# Python's idea of whitespace (str.strip / str.isspace), so Arrow trims exactly as Python does.
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
COPY_CHUNK_ROWS = 65_536
WORK_MEM = "128MB"


@dataclass
class LoadCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def add(self, other: LoadCounts) -> LoadCounts:
        """Accumulate another load's counts into this one (returns self)."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        return self

    def as_dict(self) -> dict[str, int]:
        """The counts as stored in the ledger."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


def _key_part(value) -> str | None:
    """A key part of a rarer key type (a date, a time, a number) as text."""
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, date | time) else str(value)
    return text if text.strip() else None


def blank_to_null(values: pa.Array) -> pa.Array:
    """Strings that are empty after trimming become null (the text itself is kept otherwise)."""
    blank = pc.equal(pc.utf8_trim(values, WHITESPACE), "")
    return pc.if_else(blank, pa.scalar(None, values.type), values)


def _key_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return blank_to_null(column.cast(pa.string()))
    if pa.types.is_timestamp(kind):
        utc = column.cast(pa.timestamp("us", tz="UTC"))
        seconds = pc.strftime(utc.cast(pa.timestamp("s", tz="UTC"), safe=False), format="%Y-%m-%dT%H:%M:%S")
        micros = pc.add(pc.multiply(pc.millisecond(utc), 1000), pc.microsecond(utc))
        fraction = pc.utf8_lpad(micros.cast(pa.string()), 6, "0")
        with_fraction = pc.binary_join_element_wise(seconds, fraction, ".")
        text = pc.if_else(pc.equal(micros, 0), seconds, with_fraction)
        return pc.binary_join_element_wise(text, "+00:00", "")
    # Rare key types (dates, numbers): the Python rule, value by value.
    return pa.array([_key_part(v) for v in column.to_pylist()], pa.string())


def natural_keys(entity: str, table: pa.Table) -> pa.Array:
    """Each record's key within its agency: its key fields joined with "|", null where a part
    is missing or blank.

    An event without a reference is keyed by case_number|starts_at (UTC ISO)|location, so the
    same instant written with another offset is the same event.
    """
    n = table.num_rows

    def part(name: str) -> pa.Array:
        if name not in table.column_names:
            return pa.nulls(n, pa.string())
        return _key_text(table.column(name))

    def joined(names: tuple[str, ...]) -> pa.Array:
        if len(names) == 1:
            return part(names[0])
        return pc.binary_join_element_wise(
            *(part(x) for x in names), KEY_SEPARATOR, null_handling="emit_null"
        )

    keys = joined(NATURAL_KEYS[entity])
    if entity == "event":
        keys = pc.coalesce(keys, joined(EVENT_FALLBACK_KEY))
    return keys


# --- Arrow record tables ----------------------------------------------------------------------
def records_table(entity: str, records: list[dict]) -> pa.Table:
    """Python records (as the mapper used to produce them) as an Arrow table of the entity."""
    from courtfeed.target.schema import entity_schema

    carried: dict[str, None] = {}
    for record in records:
        carried.update(dict.fromkeys(record))
    schema = entity_schema(entity, list(carried))
    columns = {}
    for f in schema:
        values = [r.get(f.name) for r in records]
        if f.type == pa.string():
            values = [
                None if v is None else (format(v, "f") if isinstance(v, Decimal) else v) for v in values
            ]
        columns[f.name] = pa.array(values, f.type)
    return pa.table(columns, schema=schema)


class _ArrowCsvStream(io.RawIOBase):
    """A file-like object serving Arrow tables as CSV, chunk by chunk, for COPY ... FROM STDIN.

    Strings are always quoted and nulls written as nothing, which is exactly how PostgreSQL's
    CSV format tells an empty string from NULL.
    """

    def __init__(self, tables: Iterator[pa.Table]):
        self._tables = tables
        self._buffer = b""
        self._options = pacsv.WriteOptions(include_header=False, quoting_style="needed")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while not self._buffer:
            table = next(self._tables, None)
            if table is None:
                return 0
            sink = io.BytesIO()
            pacsv.write_csv(table, sink, self._options)
            self._buffer = sink.getvalue()
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _as_tables(source: pa.Table | Iterable[pa.RecordBatch | pa.Table]) -> Iterator[pa.Table]:
    if isinstance(source, pa.Table):
        yield source
        return
    for item in source:
        yield pa.Table.from_batches([item]) if isinstance(item, pa.RecordBatch) else item


class Loader:
    """Writes one upload's records for one agency, in the caller's transaction."""

    def __init__(
        self,
        conn: Connection,
        agency: str,
        upload_id: str,
        template: str | None,
        touch_unchanged: bool = False,
    ):
        self.conn = conn
        self.agency = agency
        self.upload_id = upload_id
        self.template = template
        # replace_all / replace_template delete what this upload did not write, so unchanged
        # rows must carry this upload's id too; update_by_fields leaves them as they were.
        self.touch_unchanged = touch_unchanged
        self.postgres = conn.dialect.name == "postgresql"
        # One timestamp for the whole upload: created_at/updated_at of what it wrote.
        self.now = utc_now()
        self._written: set[str] = set()  # entities this Loader has already upserted

    # --- public ------------------------------------------------------------------------
    def load(self, entity: str, records: list[dict]) -> LoadCounts:
        """Load Python records (tests, small callers); see load_table."""
        if not records:
            return LoadCounts()
        self._check_fields(entity, {name for r in records for name in r})
        table = records_table(entity, records)
        missing = pc.is_null(natural_keys(entity, table))
        if pc.any(missing).as_py():
            position = pc.index(missing, True).as_py() + 1
            raise ValueError(
                f"{entity} record {position} of the batch has no natural key "
                f"({', '.join(NATURAL_KEYS[entity])}); the mapper should have rejected it"
            )
        return self.load_table(entity, table)

    def load_table(self, entity: str, source: pa.Table | Iterable[pa.RecordBatch | pa.Table]) -> LoadCounts:
        """Stage every record of ``source`` (one table, or batches of one schema) and upsert them
        with one statement."""
        tables = _as_tables(source)
        first = next(tables, None)
        while first is not None and first.num_rows == 0:
            first = next(tables, None)
        if first is None:
            return LoadCounts()
        names = self._check_fields(entity, set(first.column_names))
        target = entity_table(entity)
        stage = self._stage_table(entity, target, names)
        stage.create(self.conn)
        staged = self._fill_stage(entity, stage, names, _chain(first, tables))
        if self.postgres:
            # Temporary tables are never auto-analysed; the planner needs their statistics.
            self.conn.exec_driver_sql(f"ANALYZE {stage.name}")
            # Room to sort/hash a whole file's keys in memory, for this transaction only.
            self.conn.execute(select(func.set_config("work_mem", WORK_MEM, True)))
            created, updated = self._upsert_postgres(target, stage, names, again=entity in self._written)
        else:
            created, updated = self._upsert_sqlite(target, stage, names)
        # Not in a finally: after an error the caller rolls back, which drops it anyway, and a
        # DROP in an aborted PostgreSQL transaction would hide the real error.
        stage.drop(self.conn)
        self._written.add(entity)
        return LoadCounts(created=created, updated=updated, unchanged=staged - created - updated)

    def replace(self, entity: str, scope: str) -> int:
        """Delete this agency's records of the entity that this upload did not write.

        scope "all": every such record; scope "template": only those last written by this
        upload's template. Needs touch_unchanged, or unchanged records would be deleted too.
        """
        if scope not in ("all", "template"):
            raise ValueError(f"replace scope must be 'all' or 'template', got {scope!r}")
        if not self.touch_unchanged:
            raise RuntimeError("replace() needs a Loader made with touch_unchanged=True")
        target = entity_table(entity)
        condition = and_(target.c.agency == self.agency, target.c.upload_id != self.upload_id)
        if scope == "template":
            condition = and_(condition, target.c.template == self.template)
        return self.conn.execute(delete(target).where(condition)).rowcount

    # --- steps -------------------------------------------------------------------------
    @staticmethod
    def _check_fields(entity: str, carried: set[str]) -> list[str]:
        stored = [f.name for f in stored_fields(entity)]
        unknown = carried - set(stored) - {name for e, name in VIRTUAL_FIELDS if e == entity}
        if unknown:
            raise ValueError(f"{entity}: records carry unknown fields {sorted(unknown)}")
        return [name for name in stored if name in carried]

    def _stage_table(self, entity: str, target: Table, names: list[str]) -> Table:
        return Table(
            f"courtfeed_stage_{entity}",
            MetaData(),
            Column("ord", SaBigInteger),
            Column("natural_key", Text),
            *(Column(name, target.c[name].type) for name in names),
            prefixes=["TEMPORARY"],
        )

    def _fill_stage(self, entity: str, stage: Table, names: list[str], tables: Iterator[pa.Table]) -> int:
        counter = [0]

        def keyed() -> Iterator[pa.Table]:
            for table in tables:
                for start in range(0, table.num_rows, COPY_CHUNK_ROWS):
                    chunk = table.slice(start, COPY_CHUNK_ROWS)
                    keys = natural_keys(entity, chunk)
                    if keys.null_count:
                        position = counter[0] + pc.index(pc.is_null(keys), True).as_py() + 1
                        raise ValueError(
                            f"{entity} record {position} of the batch has no natural key "
                            f"({', '.join(NATURAL_KEYS[entity])}); the mapper should have rejected it"
                        )
                    ords = pa.array(range(counter[0], counter[0] + chunk.num_rows), pa.int64())
                    counter[0] += chunk.num_rows
                    yield pa.table(
                        [ords, keys, *(chunk.column(n) for n in names)], names=["ord", "natural_key", *names]
                    )

        if _copies(self.conn):
            quote = self.conn.dialect.identifier_preparer.quote
            columns = ", ".join(quote(c.name) for c in stage.columns)
            with _driver_cursor(self.conn) as cursor:
                cursor.copy_expert(
                    f"COPY {stage.name} ({columns}) FROM STDIN WITH (FORMAT csv)",
                    _ArrowCsvStream(keyed()),
                    size=1 << 20,
                )
        else:
            insert = stage.insert()
            for table in keyed():
                rows = table.to_pylist()
                for n in names:
                    if stage.c[n].type.python_type is Decimal:
                        for row in rows:
                            if row[n] is not None:
                                row[n] = Decimal(row[n])
                self.conn.execute(insert, rows)
        return counter[0]

    def _latest(self, stage: Table) -> str:
        """The stage's rows with the last record of each natural key (SQL text)."""
        if self.postgres:
            # Sorted by bytes: equality is the same as under the database's collation, and a
            # byte sort is about 1.6x faster than one through the locale (PostgreSQL 15).
            return (
                f'SELECT DISTINCT ON (natural_key COLLATE "C") * FROM {stage.name}'
                f' ORDER BY natural_key COLLATE "C", ord DESC'
            )
        return (
            f"SELECT * FROM {stage.name} WHERE ord IN "
            f"(SELECT max(ord) FROM {stage.name} GROUP BY natural_key)"
        )

    def _upsert_sql(self, target: Table, stage: Table, names: list[str], new_id: str, distinct: str) -> str:
        quote = self.conn.dialect.identifier_preparer.quote
        cols = [quote(n) for n in names]
        t = quote(target.name)
        insert_cols = ", ".join(
            ["id", "agency", "natural_key", *cols, "upload_id", "template", "created_at", "updated_at"]
        )
        select_cols = ", ".join(
            [
                new_id,
                ":agency",
                "src.natural_key",
                *(f"src.{c}" for c in cols),
                ":upload",
                ":template",
                ":now",
                ":now",
            ]
        )
        if cols:
            differs = f"({', '.join(f'{t}.{c}' for c in cols)}) {distinct} ({', '.join(f'excluded.{c}' for c in cols)})"
            if len(cols) == 1:
                differs = f"{t}.{cols[0]} {distinct} excluded.{cols[0]}"
        else:
            differs = "false"
        sets = [f"{c} = CASE WHEN {differs} THEN excluded.{c} ELSE {t}.{c} END" for c in cols]
        sets.append(f"updated_at = CASE WHEN {differs} THEN excluded.updated_at ELSE {t}.updated_at END")
        sets += ["upload_id = excluded.upload_id", "template = excluded.template"]
        where = differs
        if self.touch_unchanged:
            where = f"{differs} OR {t}.upload_id {distinct} excluded.upload_id"
        return (
            f"INSERT INTO {t} ({insert_cols}) SELECT {select_cols} FROM ({self._latest(stage)}) AS src "
            f"WHERE true ON CONFLICT (agency, natural_key) DO UPDATE SET {', '.join(sets)} WHERE {where}"
        )

    def _params(self) -> dict:
        return {
            "agency": self.agency,
            "upload": self.upload_id,
            "template": self.template,
            "now": self.now,
            **id_params(),
        }

    def _upsert_postgres(
        self, target: Table, stage: Table, names: list[str], again: bool = False
    ) -> tuple[int, int]:
        """One MERGE (PostgreSQL 15+): the planner joins the stage to the table as it sees fit
        (a hash join for a big file, index lookups for a small one), then plain inserts and
        updates; measured about twice as fast as INSERT ... ON CONFLICT, which probes the unique
        index row by row.

        Counted afterwards, over the rows that carry this upload's id (its index): created ones
        have created_at = this upload's timestamp, updated ones only updated_at; touched ones
        neither. A second upsert of the same entity by the same Loader (tests, small callers)
        cannot tell its rows from the first one's that way, so it is counted before, over the
        same join as the MERGE.
        """
        quote = self.conn.dialect.identifier_preparer.quote
        t = quote(target.name)
        cols = [quote(n) for n in names]
        latest = self._latest(stage)
        on = f"{t}.agency = :agency AND {t}.natural_key = src.natural_key"
        if cols:
            left = ", ".join(f"{t}.{c}" for c in cols)
            right = ", ".join(f"src.{c}" for c in cols)
            differs = f"ROW({left}) IS DISTINCT FROM ROW({right})"
        else:
            differs = "false"
        params = self._params()
        counted = None
        if again:
            counted = self.conn.execute(
                _text(
                    f"SELECT count(*) FILTER (WHERE {t}.id IS NULL), count(*) FILTER (WHERE {t}.id IS NOT NULL"
                    f" AND {differs}) FROM ({latest}) AS src LEFT JOIN {t} ON {on}"
                ),
                params,
            ).one()
        sets = ", ".join([*(f"{c} = src.{c}" for c in cols), "upload_id = :upload", "template = :template"])
        touch = (
            f" WHEN MATCHED AND {t}.upload_id IS DISTINCT FROM :upload THEN UPDATE SET upload_id = :upload,"
            " template = :template"
            if self.touch_unchanged
            else ""
        )
        insert_cols = ", ".join(
            ["id", "agency", "natural_key", *cols, "upload_id", "template", "created_at", "updated_at"]
        )
        insert_values = ", ".join(
            [new_id_sql("postgresql", "src.ord"), ":agency", "src.natural_key", *(f"src.{c}" for c in cols)]
            + [":upload", ":template", ":now", ":now"]
        )
        self.conn.execute(
            _text(
                f"MERGE INTO {t} USING ({latest}) AS src ON {on}"
                f" WHEN MATCHED AND {differs} THEN UPDATE SET {sets}, updated_at = :now{touch}"
                f" WHEN NOT MATCHED THEN INSERT ({insert_cols}) VALUES ({insert_values})"
            ),
            params,
        )
        if counted is None:
            counted = self.conn.execute(
                _text(
                    f"SELECT count(*) FILTER (WHERE created_at = :now), count(*) FILTER (WHERE"
                    f" created_at <> :now AND updated_at = :now) FROM {t}"
                    f" WHERE agency = :agency AND upload_id = :upload"
                ),
                params,
            ).one()
        created, updated = counted
        return int(created), int(updated)

    def _upsert_sqlite(self, target: Table, stage: Table, names: list[str]) -> tuple[int, int]:
        new_id = new_id_sql("sqlite", "src.ord")
        quote = self.conn.dialect.identifier_preparer.quote
        t = quote(target.name)
        params = self._params()
        differs = " OR ".join(f"{t}.{quote(n)} IS NOT src.{quote(n)}" for n in names) or "0"
        # SQLite has no xmax: count what will change first; rowcount then gives the rest.
        updated, touched = self.conn.execute(
            _text(
                f"SELECT coalesce(sum({differs}), 0), coalesce(sum(NOT ({differs}) AND {t}.upload_id IS NOT :upload), 0)"
                f" FROM ({self._latest(stage)}) AS src JOIN {t} ON {t}.agency = :agency"
                f" AND {t}.natural_key = src.natural_key"
            ),
            params,
        ).one()
        written = self.conn.execute(
            _text(self._upsert_sql(target, stage, names, new_id, "IS NOT")), params
        ).rowcount
        touched = int(touched) if self.touch_unchanged else 0
        return int(written - int(updated) - touched), int(updated)


def _text(sql: str) -> TextClause:
    # :now is typed so it is stored exactly as SQLAlchemy stores the other timestamps.
    clause = text(sql)
    return clause.bindparams(bindparam("now", type_=UtcDateTime())) if ":now" in sql else clause


def _chain(first: pa.Table, rest: Iterator[pa.Table]) -> Iterator[pa.Table]:
    yield first
    yield from rest


def created_ids(conn: Connection, entity: str, upload_id: str) -> Iterator[str]:
    """The ids of the records this upload created (streamed; read back by upload id).

    A record was created by the upload when it still carries the upload's id and was created
    no earlier than the upload started (a record it only updated or touched is older).
    On PostgreSQL they come through one COPY into a temporary file, read back in blocks: a
    million-row file creates millions of ids, and fetching them as result rows cost several
    times as much.
    """
    target = entity_table(entity)
    started = select(uploads.c.started_at).where(uploads.c.id == upload_id).scalar_subquery()
    statement = (
        select(target.c.id)
        .where(target.c.upload_id == upload_id, target.c.created_at >= started)
        .order_by(target.c.natural_key)
    )
    if _copies(conn):
        yield from _copied_ids(conn, statement)
        return
    for row in conn.execute(statement.execution_options(yield_per=10_000)):
        yield row[0]


def _copies(conn: Connection) -> bool:
    """The connection can stream COPY (PostgreSQL through psycopg2's copy_expert)."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg2"


@contextmanager
def _driver_cursor(conn: Connection) -> Iterator[Any]:
    """A cursor of the connection's own psycopg2 connection, inside its current transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection has its driver connection
    cursor = driver.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _copied_ids(conn: Connection, statement) -> Iterator[str]:
    """The single text column of ``statement``, through COPY ... TO STDOUT (PostgreSQL)."""
    compiled = statement.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    with _driver_cursor(conn) as cursor, tempfile.TemporaryFile("w+b") as spool:
        # The driver binds the parameters (upload id) into the statement text, quoted.
        query = cursor.mogrify(compiled.string, compiled.params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT", spool, size=1 << 20)
        spool.seek(0)
        for line in spool:  # ids are plain text: no escapes in COPY's text format
            yield line.rstrip(b"\n").decode()
