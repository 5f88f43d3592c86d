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
