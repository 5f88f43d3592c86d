"""uploads.rejects_more: per rule, the rejects of an upload not stored in full.

An upload stores its first rejects (the template's rejects_kept) in upload_rejects and counts
the rest here, as JSON {rule: count}. Existing rows keep every value; their rejects_more is
empty (they stored at most 10,000 and said how many more in their message).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("rejects_more", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("rejects_more")
