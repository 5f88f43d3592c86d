"""uploads.member: the file inside a compressed or encrypted delivery.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("member", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("member")
