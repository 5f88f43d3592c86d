"""Set-based load of one entity's mapped records, inside the caller's transaction.

Per entity per file: the records (Arrow batches) go into one stage table (target/stage.py), then
ONE statement applies them (target/statements.py): an INSERT when the agency has none of the
entity yet, else a MERGE (PostgreSQL) or an INSERT ... ON CONFLICT (SQLite).

Ids come from the database (time-ordered UUIDs, target/record_ids.py). Created/updated are
counted in SQL, unchanged is the rest. The ids of the created records are written to a file
while they are inserted, where the caller asks for it (``created_ids_to``) and the statement is
an INSERT; otherwise they are read back by upload id for the acknowledgement
(target/created.py). Only the fields the records carry are compared and written, so a template
that does not map a field never blanks it.

Duplicate natural keys inside one load: the last record wins; the earlier ones are counted as
unchanged, so created + updated + unchanged always equals the number of records passed in.
With touch_unchanged (replace_all / replace_template) unchanged rows are stamped with this
upload, so replace() can delete, in one statement, what this upload did not write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Table, and_, delete, func, select
from sqlalchemy.dialects import postgresql

from courtfeed.config.fields import EVENT_FALLBACK_KEY, NATURAL_KEYS, VIRTUAL_FIELDS, stored_fields
from courtfeed.target.record_ids import id_params
from courtfeed.target.schema import entity_table, utc_now
from courtfeed.target.stage import COPY_BUFFER, as_tables, chain, copies, driver_cursor, fill, stage_table
from courtfeed.target.statements import Upsert

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


@dataclass
class Staged:
    """One entity's records in their stage table, waiting for Loader.apply."""

    entity: str
    count: int
    upsert: Upsert


class Loader:
    """Writes one upload's records for one agency, in the caller's transaction."""

    def __init__(
        self,
        conn: Connection,
        agency: str,
        upload_id: str,
        template: str | None,
        touch_unchanged: bool = False,
        *,
        now: datetime | None = None,
        created_ids_to: Callable[[str], Path] | None = None,
    ):
        self.conn = conn
        self.agency = agency
        self.upload_id = upload_id
        self.template = template
        # replace_all / replace_template delete what this upload did not write, so unchanged
        # rows must carry this upload's id too; update_by_fields leaves them as they were.
        self.touch_unchanged = touch_unchanged
        self.postgres = conn.dialect.name == "postgresql"
        # One timestamp for the whole upload (shared by every connection that loads a part of
        # it): created_at/updated_at of what it wrote.
        self.now = (now or utc_now()).astimezone(UTC)
        # Where the ids of an entity's created records go as they are inserted (PostgreSQL);
        # the entities whose ids were all written there end up in ids_written.
        self.created_ids_to = created_ids_to
        self.ids_written: set[str] = set()
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
        return self.apply(self.stage(entity, source))

    def stage(self, entity: str, source: pa.Table | Iterable[pa.RecordBatch | pa.Table]) -> Staged | None:
        """The first half of load_table: the records into a stage table (None: there were none).
        The Python side of a load is here; apply() is the database's alone."""
        tables = as_tables(source)
        first = next(tables, None)
        while first is not None and first.num_rows == 0:
            first = next(tables, None)
        if first is None:
            return None
        names = self._check_fields(entity, set(first.column_names))
        target = entity_table(entity)
        stage = stage_table(self.conn, entity, target, names)
        stage.create(self.conn)
        count = self._fill_stage(entity, stage, names, chain(first, tables))
        quote = self.conn.dialect.identifier_preparer.quote
        return Staged(
            entity, count, Upsert(self.conn.dialect.name, quote, target, stage, names, self.touch_unchanged)
        )

    def apply(self, staged: Staged | None) -> LoadCounts:
        """The second half of load_table: one statement from the stage table into the entity's."""
        if staged is None:
            return LoadCounts()
        entity, upsert = staged.entity, staged.upsert
        if entity in self._written:
            self.ids_written.discard(entity)  # its file would hold the first load's ids only
        if self.postgres:
            # Room to sort/hash a whole file's keys in memory, for this transaction only.
            self.conn.execute(select(func.set_config("work_mem", WORK_MEM, True)))
            created, updated = self._upsert_postgres(entity, upsert, again=entity in self._written)
        else:
            created, updated = self._upsert_sqlite(upsert)
        # Not in a finally: after an error the caller rolls back, which drops it anyway, and a
        # DROP in an aborted PostgreSQL transaction would hide the real error.
        upsert.stage.drop(self.conn)
        self._written.add(entity)
        return LoadCounts(created=created, updated=updated, unchanged=staged.count - created - updated)

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

        fill(self.conn, stage, keyed())
        return counter[0]

    def _params(self) -> dict:
        return {
            "agency": self.agency,
            "upload": self.upload_id,
            "template": self.template,
            "now": self.now,
            **id_params(),
        }

    def _upsert_postgres(self, entity: str, upsert: Upsert, again: bool = False) -> tuple[int, int]:
        """An INSERT when the agency has none of the entity yet (every record is new: counted as
        it is written), else a MERGE counted after, over the rows that carry this upload's id.

        A second upsert of the same entity by the same Loader (tests, small callers) cannot
        tell its rows from the first one's that way, so it is counted before, over the same
        join as the MERGE.
        """
        params = self._params()
        if not again and not self.conn.execute(upsert.any_of_agency(), params).scalar():
            return self._insert_new(entity, upsert, params), 0
        # The stage is never auto-analysed; the planner needs its statistics to join it.
        self.conn.exec_driver_sql(f"ANALYZE {upsert.stage.name}")
        counted = self.conn.execute(upsert.count_before(), params).one() if again else None
        self.conn.execute(upsert.merge(), params)
        if counted is None:
            counted = self.conn.execute(upsert.count_after(), params).one()
        created, updated = counted
        return int(created), int(updated)

    def _insert_new(self, entity: str, upsert: Upsert, params: dict) -> int:
        """The INSERT of new records; with created_ids_to, its ids streamed into that file."""
        if self.created_ids_to is None or not copies(self.conn):
            return self.conn.execute(upsert.insert_new(), params).rowcount
        statement = upsert.insert_new(returning=True)
        compiled = statement.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
        with driver_cursor(self.conn) as cursor, self.created_ids_to(entity).open("wb") as out:
            # The driver binds the parameters into the statement text, quoted.
            query = cursor.mogrify(compiled.string, params).decode()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT", out, size=COPY_BUFFER)
            created = cursor.rowcount
        self.ids_written.add(entity)
        return created

    def _upsert_sqlite(self, upsert: Upsert) -> tuple[int, int]:
        params = self._params()
        # SQLite has no xmax: count what will change first; rowcount then gives the rest.
        updated, touched = self.conn.execute(upsert.sqlite_count_before(), params).one()
        written = self.conn.execute(upsert.sqlite_upsert(), params).rowcount
        touched = int(touched) if self.touch_unchanged else 0
        return int(written - int(updated) - touched), int(updated)
