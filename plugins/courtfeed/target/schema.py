"""The target database: one table per entity, the upload ledger, its rejects and file observations.

The entity columns come from the field catalogue (courtfeed.config.fields), so a field added there
gets a column here. The migrations under target/migrations/ are written by hand and must produce
exactly this schema (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from courtfeed.config.fields import ENTITY_FIELDS, stored_fields
from courtfeed.status import Status

if TYPE_CHECKING:
    import pyarrow as pa

# Stable constraint and index names, so later migrations can refer to them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

# "case" is a reserved word in SQL; the entity keeps its name everywhere else.
TABLE_NAMES = {
    "client": "client",
    "contact": "contact",
    "case": "case_record",
    "event": "event",
    "payment": "payment",
}

# Columns every entity table has besides its fields; no field may use these names.
BOOKKEEPING_COLUMNS = ("id", "agency", "natural_key", "upload_id", "template", "created_at", "updated_at")

UPLOAD_STATUSES = tuple(
    s.value for s in (Status.LOADED, Status.PARTIAL, Status.REJECTED, Status.FAILED, Status.DUPLICATE)
)


class UtcDateTime(TypeDecorator):
    """A timestamp that always goes in and comes out as an aware UTC datetime.

    SQLite has no time zone type and SQLAlchemy stores its datetimes without the offset, so
    values are normalised to UTC on the way in; that also makes the same instant written with
    two offsets compare equal on both backends. A naive value is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        # SQLite's DATETIME storage drops the offset anyway; hand it the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def column_type(kind: str) -> TypeEngine:
    """The column type for a field kind of the catalogue."""
    types: dict[str, TypeEngine] = {
        "date": Date(),
        "time": Time(),
        "datetime": UtcDateTime(),
        "decimal": Numeric(14, 2),
        "integer": BigInteger(),
        "boolean": Boolean(),
    }
    return types.get(kind, Text())


metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Keys compared byte by byte on PostgreSQL (COLLATE "C"): their indexes are filled and searched
# without the locale's comparison on every step (a database initialised with en_US or even
# C.UTF-8 compares text through strcoll). Equality, and so uniqueness, is the same under every
# deterministic collation; only the order of these keys changes, and none is shown sorted to
# anyone. SQLite compares bytes already.
KEY_TEXT = Text().with_variant(Text(collation="C"), "postgresql")


def _entity_table(entity: str) -> Table:
    name = TABLE_NAMES[entity]
    fields = stored_fields(entity)
    clash = {f.name for f in fields} & set(BOOKKEEPING_COLUMNS)
    if clash:
        raise ValueError(f"{entity}: field names {sorted(clash)} clash with bookkeeping columns")
    return Table(
        name,
        metadata,
        Column("id", KEY_TEXT, primary_key=True),
        Column("agency", KEY_TEXT, nullable=False),
        Column("natural_key", KEY_TEXT, nullable=False),
        *(Column(f.name, column_type(f.kind)) for f in fields),
        Column("upload_id", KEY_TEXT, nullable=False),
        Column("template", Text),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        UniqueConstraint("agency", "natural_key"),
        Index(None, "upload_id"),
    )


ENTITY_TABLES: dict[str, Table] = {entity: _entity_table(entity) for entity in ENTITY_FIELDS}

uploads = Table(
    "uploads",
    metadata,
    Column("id", Text, primary_key=True),
    Column("profile", Text),  # None for a command-line ingest
    Column("agency", Text, nullable=False),
    Column("template", Text),
    Column("source", Text),  # e.g. "sftp_metro:/exports/hearings"
    Column("path", Text),
    Column("member", Text),  # the file inside a .zip/.gz/.pgp delivery; None for a plain file
    Column("size", BigInteger),
    Column("mtime", UtcDateTime),
    Column("sha256", Text),
    Column("status", Text, nullable=False),
    Column("message", Text),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_loaded", Integer, nullable=False, default=0),
    Column("rows_excluded", Integer, nullable=False, default=0),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("counts", Text),  # JSON: {entity: {created, updated, unchanged, deleted}}
    Column("forced", Boolean, nullable=False, default=False),
    Column("run_id", Text),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("ack_path", Text),
    Column("attempts", Integer),  # a failed upload: the attempts made before it was parked
    Column("rejects_more", Text),  # JSON: {rule: count} of the rejects not stored in full
    Index(None, "profile", "path"),
    Index(None, "profile", "sha256"),
    Index(None, "status"),
    Index(None, "finished_at"),
)

upload_rejects = Table(
    "upload_rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", Text, nullable=False),
    Column("row", Integer),
    Column("column_name", Text),
    Column("rule", Text, nullable=False),
    Column("message", Text, nullable=False),
    Index(None, "upload_id"),
)

file_observations = Table(
    "file_observations",
    metadata,
    Column("profile", Text, primary_key=True),
    Column("path", Text, primary_key=True),
    Column("size", BigInteger),
    Column("mtime", UtcDateTime),
    Column("first_seen_at", UtcDateTime, nullable=False),  # when this size+mtime was first seen
    Column("last_seen_at", UtcDateTime, nullable=False),
)


def entity_table(entity: str) -> Table:
    try:
        return ENTITY_TABLES[entity]
    except KeyError:
        raise ValueError(f"unknown entity {entity!r} (one of {', '.join(ENTITY_TABLES)})") from None


def utc_now() -> datetime:
    return datetime.now(UTC)


def entity_schema(entity: str, names: list[str]) -> pa.Schema:
    """The Arrow types the map stage stages ``entity``'s records in, for the fields ``names``.

    Decimals travel as text so no scale is ever rounded away between stages; pyarrow is
    imported here, not with the module, so the dashboard and the DAG parse do not pay for it.
    """
    import pyarrow as pa

    types = {
        "date": pa.date32(),
        "time": pa.time64("us"),
        "datetime": pa.timestamp("us", tz="UTC"),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "decimal": pa.string(),
    }
    kinds = {f.name: f.kind for f in ENTITY_FIELDS[entity]}
    return pa.schema([(n, types.get(kinds.get(n, "text"), pa.string())) for n in names])
