"""Bulk upsert of mapped records into the entity tables, inside the caller's transaction.

Each call to Loader.load stages one batch in a temporary table (PostgreSQL: COPY, the only fast
way to get many rows in; SQLite: executemany) and then applies it with three set-based
statements keyed on (agency, natural_key):

1. UPDATE the existing rows whose mapped fields differ (null-safe), counted as updated;
2. with touch_unchanged, stamp the remaining matching rows with this upload so replace() keeps them;
3. INSERT the keys not there yet, counted as created (their ids are returned).

Everything else staged is unchanged. Only the fields the batch carries are compared and written,
so a template that does not map a field never blanks it.

Duplicate natural keys inside one batch: the last record wins; the earlier ones are dropped before
the upsert and counted as unchanged, so created + updated + unchanged always equals the number of
records passed in.
"""

from __future__ import annotations

import io
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    Table,
    Text,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from courtfeed.config.fields import EVENT_FALLBACK_KEY, NATURAL_KEYS, VIRTUAL_FIELDS, stored_fields
from courtfeed.target.schema import entity_table, utc_now

KEY_SEPARATOR = "|"


@dataclass
class LoadCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    created_ids: list[str] = field(default_factory=list)

    def add(self, other: LoadCounts) -> LoadCounts:
        """Accumulate another batch's counts into this one (returns self)."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.created_ids.extend(other.created_ids)
        return self

    def as_dict(self) -> dict[str, int]:
        """The counts as stored in the ledger (without the ids)."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


def _key_part(value) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value if value.strip() else None
    if isinstance(value, datetime):
        # The same instant must give the same key whatever offset the file used.
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    elif isinstance(value, date | time):
        value = value.isoformat()
    text = str(value)
    return text if text.strip() else None


def natural_key(entity: str, record: dict) -> str | None:
    """The record's key within its agency, or None when a part of it is missing.

    An event without a reference is keyed by case_number|starts_at (UTC ISO)|location.
    """
    names = NATURAL_KEYS[entity]
    if entity == "event" and _key_part(record.get("reference")) is None:
        names = EVENT_FALLBACK_KEY
    if len(names) == 1:
        return _key_part(record.get(names[0]))
    parts = [_key_part(record.get(name)) for name in names]
    if any(part is None for part in parts):
        return None
    return KEY_SEPARATOR.join(parts)


def new_ids(count: int) -> list[str]:
    """Random (version 4) UUIDs as text, several times faster than str(uuid.uuid4()) in bulk."""
    ids = []
    raw = os.urandom(16 * count)
    for start in range(0, 16 * count, 16):
        b = bytearray(raw[start : start + 16])
        b[6] = (b[6] & 0x0F) | 0x40  # version 4
        b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
        h = b.hex()
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


# --- COPY text format ---------------------------------------------------------------------
# Text format rather than CSV: in CSV an empty string and NULL are told apart only by quoting,
# which Python's csv module (3.11) cannot express per value.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:  # by far the most common: checked first, escaped only when needed
        return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE(value) else value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).translate(_COPY_ESCAPES)


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

    # --- public ------------------------------------------------------------------------
    def load(self, entity: str, records: list[dict]) -> LoadCounts:
        if not records:
            return LoadCounts()
        target = entity_table(entity)
        names = self._batch_fields(entity, records)
        rows, duplicates = self._keyed_rows(entity, records)
        stage = self._stage_table(entity, target, names)
        stage.create(self.conn)
        self._fill_stage(stage, names, rows)
        with self._index_lookups():
            updated = self._update_changed(target, stage, names)
            if self.touch_unchanged:
                self._touch_unchanged(target, stage)
            created_ids = self._insert_new(target, stage, names)
        # Not in a finally: after an error the caller rolls back, which drops it anyway, and a
        # DROP in an aborted PostgreSQL transaction would hide the real error.
        stage.drop(self.conn)
        created = len(created_ids)
        return LoadCounts(
            created=created,
            updated=updated,
            unchanged=len(rows) - created - updated + duplicates,
            created_ids=created_ids,
        )

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
    def _batch_fields(entity: str, records: list[dict]) -> list[str]:
        carried: set[str] = set()
        for record in records:
            carried.update(record)
        stored = [f.name for f in stored_fields(entity)]
        unknown = carried - set(stored) - {name for e, name in VIRTUAL_FIELDS if e == entity}
        if unknown:
            raise ValueError(f"{entity}: records carry unknown fields {sorted(unknown)}")
        return [name for name in stored if name in carried]

    @staticmethod
    def _keyed_rows(entity: str, records: list[dict]) -> tuple[list[tuple[str, dict]], int]:
        """(natural key, record) pairs with the last record of each key kept, and how many were dropped."""
        last: dict[str, dict] = {}
        for position, record in enumerate(records, start=1):
            key = natural_key(entity, record)
            if key is None:
                raise ValueError(
                    f"{entity} record {position} of the batch has no natural key "
                    f"({', '.join(NATURAL_KEYS[entity])}); the mapper should have rejected it"
                )
            last.pop(key, None)  # re-insert so the kept record sits at its last position
            last[key] = record
        return list(last.items()), len(records) - len(last)

    def _stage_table(self, entity: str, target: Table, names: list[str]) -> Table:
        return Table(
            f"courtfeed_stage_{entity}",
            MetaData(),
            Column("id", Text),
            Column("natural_key", Text),
            *(Column(name, target.c[name].type) for name in names),
            prefixes=["TEMPORARY"],
        )

    def _fill_stage(self, stage: Table, names: list[str], rows: list[tuple[str, dict]]) -> None:
        if self.conn.dialect.name == "postgresql" and self.conn.dialect.driver == "psycopg2":
            self._copy_into(stage, names, rows)
        else:
            params = [
                {"id": id_, "natural_key": key, **{n: record.get(n) for n in names}}
                for id_, (key, record) in zip(new_ids(len(rows)), rows, strict=True)
            ]
            self.conn.execute(insert(stage), params)
        if self.conn.dialect.name == "postgresql":
            # Temporary tables are never auto-analysed; without statistics the planner guesses
            # badly for the joins below.
            self.conn.exec_driver_sql(f"ANALYZE {stage.name}")

    def _copy_into(self, stage: Table, names: list[str], rows: list[tuple[str, dict]]) -> None:
        text = _copy_text
        lines = [
            "\t".join([id_, text(key), *[text(record.get(name)) for name in names]])
            for id_, (key, record) in zip(new_ids(len(rows)), rows, strict=True)
        ]
        lines.append("")
        buffer = io.StringIO("\n".join(lines))
        del lines
        quote = self.conn.dialect.identifier_preparer.quote
        columns = ", ".join(quote(c.name) for c in stage.columns)
        cursor = self.conn.connection.driver_connection.cursor()
        try:
            cursor.copy_expert(f"COPY {stage.name} ({columns}) FROM STDIN", buffer)
        finally:
            cursor.close()

    @contextmanager
    def _index_lookups(self):
        """On PostgreSQL, match staged keys through the (agency, natural_key) index.

        Left alone, the planner hashes the whole entity table for every batch (a full scan of a
        million-row table per 50,000 records); index lookups keep a batch's cost proportional to
        the batch. JIT compilation only adds startup time to these short statements.
        """
        if self.conn.dialect.name != "postgresql":
            yield
            return
        settings = {"enable_hashjoin": "off", "enable_mergejoin": "off", "jit": "off"}
        previous = {name: self.conn.exec_driver_sql(f"SHOW {name}").scalar() for name in settings}
        self._set(settings)
        yield
        self._set(previous)

    def _set(self, settings: dict[str, str]) -> None:
        for name, value in settings.items():
            self.conn.execute(select(func.set_config(name, value, True)))

    def _matches(self, target: Table, stage: Table):
        return and_(target.c.agency == self.agency, target.c.natural_key == stage.c.natural_key)

    def _update_changed(self, target: Table, stage: Table, names: list[str]) -> int:
        differs = or_(*(target.c[n].is_distinct_from(stage.c[n]) for n in names))
        values = {n: stage.c[n] for n in names}
        values.update(upload_id=self.upload_id, template=self.template, updated_at=utc_now())
        statement = update(target).where(self._matches(target, stage), differs).values(values)
        return self.conn.execute(statement).rowcount

    def _touch_unchanged(self, target: Table, stage: Table) -> None:
        statement = (
            update(target)
            .where(self._matches(target, stage), target.c.upload_id != self.upload_id)
            .values(upload_id=self.upload_id, template=self.template)
        )
        self.conn.execute(statement)

    def _insert_new(self, target: Table, stage: Table, names: list[str]) -> list[str]:
        now = utc_now()
        present = exists().where(self._matches(target, stage))
        source = select(
            stage.c.id,
            literal(self.agency, Text).label("agency"),
            stage.c.natural_key,
            *(stage.c[n] for n in names),
            literal(self.upload_id, Text).label("upload_id"),
            literal(self.template, Text).label("template"),
            literal(now, target.c.created_at.type).label("created_at"),
            literal(now, target.c.updated_at.type).label("updated_at"),
        ).where(~present)
        columns = ["id", "agency", "natural_key", *names, "upload_id", "template", "created_at", "updated_at"]
        statement = insert(target).from_select(columns, source).returning(target.c.id)
        return list(self.conn.execute(statement).scalars())
