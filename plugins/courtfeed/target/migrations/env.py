"""Alembic environment for the courtfeed target database.

Run through courtfeed.target.db.migrate(), which hands over an open connection; the version
table has its own name so courtfeed can share a database with other applications.
"""

from alembic import context

VERSION_TABLE = "courtfeed_alembic_version"


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run courtfeed migrations through courtfeed.target.db.migrate()")
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("courtfeed migrations run online only, through courtfeed.target.db.migrate()")
run_migrations()
