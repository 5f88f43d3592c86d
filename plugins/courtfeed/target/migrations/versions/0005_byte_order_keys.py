"""Entity keys compared byte by byte on PostgreSQL: id, agency, natural_key, upload_id COLLATE "C".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Uniqueness is unchanged (equality is the same under every deterministic collation), so every
record stays as it is; PostgreSQL rebuilds the indexes on these columns, and rewrites no table.
SQLite compares bytes already: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("client", "contact", "case_record", "event", "payment")
KEYS = ("id", "agency", "natural_key", "upload_id")


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        changes = ", ".join(f"ALTER COLUMN {key} TYPE text COLLATE {collation}" for key in KEYS)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')
