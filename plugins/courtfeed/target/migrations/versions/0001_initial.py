"""Initial schema: entity tables, the upload ledger, upload rejects and file observations.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Written by hand and frozen: it must not import courtfeed.target.schema, whose tables will move on
with later revisions. tests/target/test_migrations.py checks the result matches schema.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Text()) for name in names]


def _date(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Date()) for name in names]


def _entity_table(name: str, fields: list[sa.Column]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("agency", sa.Text(), nullable=False),
        sa.Column("natural_key", sa.Text(), nullable=False),
        *fields,
        sa.Column("upload_id", sa.Text(), nullable=False),
        sa.Column("template", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.UniqueConstraint("agency", "natural_key", name=f"uq_{name}_agency_natural_key"),
    )
    op.create_index(f"ix_{name}_upload_id", name, ["upload_id"])


def upgrade() -> None:
    _entity_table(
        "client",
        [
            *_text("reference", "first_name", "middle_name", "last_name", "suffix", "type"),
            *_date("dob"),
            *_text(
                "phone",
                "email",
                "language",
                "address_line1",
                "address_line2",
                "city",
                "state",
                "postal_code",
                "notes",
            ),
        ],
    )
    _entity_table(
        "contact", [*_text("client_reference", "channel", "value"), sa.Column("opt_in", sa.Boolean())]
    )
    _entity_table(
        "case_record",
        [
            *_text("number", "client_reference", "type", "status", "court", "judge"),
            *_date("filed_date"),
            *_text("charges", "notes"),
        ],
    )
    _entity_table(
        "event",
        [
            *_text("reference", "case_number", "client_reference"),
            *_date("date"),
            sa.Column("time", sa.Time()),
            sa.Column("starts_at", sa.DateTime(timezone=True)),
            *_text("location", "room", "judge", "type", "status", "virtual_url", "notes"),
        ],
    )
    _entity_table(
        "payment",
        [
            *_text("reference", "client_reference", "case_number"),
            sa.Column("amount", sa.Numeric(14, 2)),
            sa.Column("balance", sa.Numeric(14, 2)),
            *_date("due_date", "paid_date"),
            *_text("status", "description"),
        ],
    )

    op.create_table(
        "uploads",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("profile", sa.Text()),
        sa.Column("agency", sa.Text(), nullable=False),
        sa.Column("template", sa.Text()),
        sa.Column("source", sa.Text()),
        sa.Column("path", sa.Text()),
        sa.Column("size", sa.BigInteger()),
        sa.Column("mtime", sa.DateTime(timezone=True)),
        sa.Column("sha256", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("message", sa.Text()),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_excluded", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text()),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("run_id", sa.Text()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("ack_path", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_uploads"),
    )
    op.create_index("ix_uploads_profile_path", "uploads", ["profile", "path"])
    op.create_index("ix_uploads_profile_sha256", "uploads", ["profile", "sha256"])
    op.create_index("ix_uploads_status", "uploads", ["status"])
    op.create_index("ix_uploads_finished_at", "uploads", ["finished_at"])

    op.create_table(
        "upload_rejects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("upload_id", sa.Text(), nullable=False),
        sa.Column("row", sa.Integer()),
        sa.Column("column_name", sa.Text()),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_upload_rejects"),
    )
    op.create_index("ix_upload_rejects_upload_id", "upload_rejects", ["upload_id"])

    op.create_table(
        "file_observations",
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger()),
        sa.Column("mtime", sa.DateTime(timezone=True)),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile", "path", name="pk_file_observations"),
    )


def downgrade() -> None:
    for table in ("file_observations", "upload_rejects", "uploads"):
        op.drop_table(table)
    for table in ("payment", "event", "case_record", "contact", "client"):
        op.drop_table(table)
