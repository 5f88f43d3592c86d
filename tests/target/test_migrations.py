from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from courtfeed.target.db import VERSION_TABLE, engine_for, migrate
from courtfeed.target.schema import metadata


def test_migrate_creates_every_table_and_is_idempotent(target_url):
    engine = engine_for(target_url)
    migrate(target_url)  # from a URL
    migrate(engine)  # and again, from an engine: nothing to do, nothing breaks
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"client", "contact", "case_record", "event", "payment"} <= tables
    assert {"uploads", "upload_rejects", "file_observations", VERSION_TABLE} <= tables
    assert "alembic_version" not in tables  # never clashes with another application's alembic
    with engine.connect() as conn:
        versions = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars().all()
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import courtfeed.target

    config = Config()
    config.set_main_option("script_location", str(Path(courtfeed.target.__file__).parent / "migrations"))
    assert versions == [ScriptDirectory.from_config(config).get_current_head()]
    engine.dispose()


def test_hand_written_migrations_match_schema_module(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_entity_tables_have_key_and_upload_indexes(engine):
    inspector = inspect(engine)
    for table in ("client", "contact", "case_record", "event", "payment"):
        uniques = [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        assert ("agency", "natural_key") in uniques
        indexed = [tuple(i["column_names"]) for i in inspector.get_indexes(table)]
        assert ("upload_id",) in indexed
    assert "full_name" not in {c["name"] for c in inspector.get_columns("client")}


def _upgrade_to(engine, revision: str) -> None:
    from alembic import command

    from courtfeed.target.db import _alembic_config

    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def test_upgrading_a_0003_ledger_keeps_every_row(target_url):
    """A database created at 0003 (before uploads.rejects_more), with uploads and their rejects,
    upgraded to head: every row is still there with every value, and the new column is empty."""
    import sqlalchemy as sa

    engine = engine_for(target_url)
    _upgrade_to(engine, "0003")
    columns = {c["name"] for c in inspect(engine).get_columns("uploads")}
    assert "rejects_more" not in columns and "attempts" in columns
    started = "2026-11-28 06:00:00+00:00"
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO uploads (id, profile, agency, path, status, message, rows_read, rows_loaded,"
                    " rows_excluded, rows_rejected, counts, forced, started_at, attempts) VALUES (:id, 'metro',"
                    " 'metro-county', :path, :status, :message, 12000, 0, 1, 11000, '{}', false, :started, :attempts)"
                ),
                {
                    "id": f"u{i}",
                    "path": f"/in/h{i}.txt",
                    "status": ("rejected", "partial", "failed")[i],
                    "message": "1000 more rejects not stored (only the first 10000 are kept)",
                    "started": started,
                    "attempts": i or None,
                },
            )
        conn.execute(
            sa.text(
                "INSERT INTO upload_rejects (upload_id, row, column_name, rule, message)"
                " VALUES (:u, :row, :col, :rule, 'row has 1 fields, the header has 3')"
            ),
            [
                {"u": f"u{i % 3}", "row": i + 2, "col": None if i % 2 else "A", "rule": "ragged_row"}
                for i in range(300)
            ],
        )
        before_uploads = conn.execute(sa.text("SELECT * FROM uploads ORDER BY id")).mappings().all()
        before_rejects = conn.execute(sa.text("SELECT * FROM upload_rejects ORDER BY id")).mappings().all()

    migrate(engine)

    with engine.connect() as conn:
        after_uploads = conn.execute(sa.text("SELECT * FROM uploads ORDER BY id")).mappings().all()
        after_rejects = conn.execute(sa.text("SELECT * FROM upload_rejects ORDER BY id")).mappings().all()
    assert [{k: v for k, v in row.items() if k != "rejects_more"} for row in after_uploads] == [
        dict(row) for row in before_uploads
    ]
    assert [row["rejects_more"] for row in after_uploads] == [None, None, None]
    assert [dict(row) for row in after_rejects] == [dict(row) for row in before_rejects]
    assert len(after_rejects) == 300
    engine.dispose()


def _entity_rows(engine) -> dict[str, list[tuple]]:
    from sqlalchemy import select

    from courtfeed.target.schema import ENTITY_TABLES

    with engine.connect() as conn:
        return {
            name: sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
            for name, table in ENTITY_TABLES.items()
        }


def test_byte_order_keys_keep_every_record_of_a_database_loaded_before_them(target_url):
    """0005 on a database loaded under 0004: every record kept, as it was, and still found."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from courtfeed.target.schema import entity_table, utc_now
    from courtfeed.target.upsert import Loader

    engine = engine_for(target_url)
    _upgrade_to(engine, "0004")
    # Keys whose byte order and locale order differ (accents, case, digits after letters).
    clients = [
        {"reference": ref, "last_name": f"n{i}"}
        for i, ref in enumerate(["Zoë", "zoe", "Éva", "eva", "D-10", "D-9"])
    ]
    contacts = [{"client_reference": "Éva", "channel": "email", "value": "eva@example.org"}]
    for agency in ("metro-county", "north-county"):
        with engine.begin() as conn:
            loader = Loader(conn, agency, f"u-{agency}", "t")
            assert loader.load("client", clients).created == len(clients)
            assert loader.load("contact", contacts).created == 1
    before = _entity_rows(engine)
    assert len(before["client"]) == 2 * len(clients)

    migrate(engine)
    assert _entity_rows(engine) == before
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            collations = conn.exec_driver_sql(
                "SELECT column_name, collation_name FROM information_schema.columns"
                " WHERE table_name = 'client' AND column_name IN ('id', 'agency', 'natural_key', 'upload_id')"
            ).all()
        assert sorted(collations) == [("agency", "C"), ("id", "C"), ("natural_key", "C"), ("upload_id", "C")]

    # The migrated records are found by their keys: loading them again changes nothing ...
    with engine.begin() as conn:
        again = Loader(conn, "metro-county", "u-again", "t").load("client", clients)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(clients))
    assert _entity_rows(engine) == before
    # ... and a key stays unique per agency.
    table = entity_table("client")
    now = utc_now()
    row = {"agency": "metro-county", "natural_key": "Zoë", "upload_id": "u", "created_at": now}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(table.insert().values(id="another", **row, updated_at=now))
    engine.dispose()
