"""Opening the target database: a SQLite file (quickstart) or PostgreSQL (tests, production).

The target URL comes from an Airflow connection in the DAGs, from --target on the command line,
or from COURTFEED_TARGET_URL; without any, a SQLite file under the project's .run/ folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event, make_url

# Seconds a SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 60_000

# Execution option: begin SQLite transactions with BEGIN IMMEDIATE (take the write lock up front)
# instead of BEGIN. A transaction that reads and then writes should use it, or a concurrent
# writer can make its first write fail at once with "database is locked".
SQLITE_BEGIN_IMMEDIATE = "courtfeed_sqlite_begin_immediate"


def project_root() -> Path:
    import courtfeed

    return Path(courtfeed.__file__).resolve().parents[2]


DEFAULT_SQLITE_PATH = project_root() / ".run" / "courtfeed.db"


def default_target_url() -> str:
    """COURTFEED_TARGET_URL if set, else the quickstart SQLite file .run/courtfeed.db."""
    return os.environ.get("COURTFEED_TARGET_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def engine_for(url: str | URL) -> Engine:
    """An engine for a target URL, set up for courtfeed's transactions.

    SQLite paths are made absolute (a relative path would depend on the worker's current
    folder) and their folder is created. postgresql:// URLs use psycopg2, which the COPY fast
    path of the loader needs.
    """
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg2")
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser().absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy decide where transactions begin: the sqlite3 module would otherwise
        # start them only at the first INSERT/UPDATE, leaving earlier statements (temporary
        # staging tables, reads) outside the transaction and out of reach of a rollback.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed data
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(SQLITE_BEGIN_IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def url_from_airflow_connection(conn) -> str:
    """The SQLAlchemy URL for an Airflow Connection of type sqlite (host = file path) or postgres."""
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite":
        if not conn.host:
            raise ValueError(f"connection {conn.conn_id!r}: a sqlite connection needs the file path as host")
        return f"sqlite:///{Path(conn.host).expanduser().absolute()}"
    if conn_type in ("postgres", "postgresql"):
        url = URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        )
        return url.render_as_string(hide_password=False)
    raise ValueError(
        f"connection {conn.conn_id!r} has type {conn.conn_type!r}; the target must be sqlite or postgres"
    )


MIGRATIONS_FOLDER = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "courtfeed_alembic_version"
# Any constant: it only has to be the same for every courtfeed process on one PostgreSQL server.
_PG_MIGRATION_LOCK = 0x636F7572  # "cour"


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    return config


def schema_revisions(engine: Engine) -> tuple[str | None, str | None]:
    """(the database's Alembic revision, the newest revision in target/migrations)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
    return current, head


def migrate(engine_or_url: Engine | str | URL) -> None:
    """Bring the target database to the newest schema (alembic upgrade head).

    Safe to call at the start of every task: when the database is already at head it costs one
    small query. Concurrent callers are serialised (an advisory lock on PostgreSQL, the write
    lock on SQLite), so two tasks starting together on an empty database do not collide.
    """
    from alembic import command

    engine = engine_or_url if isinstance(engine_or_url, Engine) else engine_for(engine_or_url)
    current, head = schema_revisions(engine)
    if current == head:
        return
    if current is not None:
        from courtfeed.target.branches import settle_prepared

        # Branches a killed load left prepared hold locks an ALTER TABLE would wait on forever.
        settle_prepared(engine)
    config = _alembic_config()

    with engine.connect().execution_options(**{SQLITE_BEGIN_IMMEDIATE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
