from __future__ import annotations

from pathlib import Path

import pytest
from airflow.models.connection import Connection
from sqlalchemy import make_url

import courtfeed
from courtfeed.target.db import default_target_url, engine_for, url_from_airflow_connection


def test_sqlite_connection_becomes_absolute_file_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conn = Connection(conn_id="courtfeed_target", conn_type="sqlite", host="data/target.db")
    url = url_from_airflow_connection(conn)
    assert url == f"sqlite:///{tmp_path / 'data' / 'target.db'}"
    assert url.startswith("sqlite:////")


def test_postgres_connection_escapes_the_password():
    password = "p@ss/w:rd%?#"
    conn = Connection(
        conn_id="courtfeed_target",
        conn_type="postgres",
        host="db.internal",
        login="loader",
        password=password,
        port=5433,
        schema="courtfeed",
    )
    url = make_url(url_from_airflow_connection(conn))
    assert url.drivername == "postgresql+psycopg2"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "loader",
        password,
        "db.internal",
        5433,
        "courtfeed",
    )


def test_other_connection_types_are_refused_without_the_password():
    conn = Connection(conn_id="x", conn_type="mysql", host="h", password="secret-pw")
    with pytest.raises(ValueError, match="sqlite or postgres") as info:
        url_from_airflow_connection(conn)
    assert "secret-pw" not in str(info.value)


def test_default_target_url_honours_environment(monkeypatch):
    monkeypatch.setenv("COURTFEED_TARGET_URL", "postgresql://u@h/db")
    assert default_target_url() == "postgresql://u@h/db"
    monkeypatch.delenv("COURTFEED_TARGET_URL")
    root = Path(courtfeed.__file__).parents[2]
    assert default_target_url() == f"sqlite:///{root / '.run' / 'courtfeed.db'}"


def test_sqlite_engine_creates_folder_and_sets_pragmas(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path}/nested/deeper/t.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    assert (tmp_path / "nested" / "deeper" / "t.db").exists()
    engine.dispose()


def test_postgres_urls_use_psycopg2():
    engine = engine_for("postgresql://u:p@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg2"
    engine.dispose()


def test_sqlite_rollback_undoes_statements_before_the_first_write(tmp_path):
    # The sqlite3 module would run DDL outside the transaction; the engine must not.
    engine = engine_for(f"sqlite:///{tmp_path}/t.db")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE kept (x INTEGER)")
        conn.commit()
        conn.exec_driver_sql("CREATE TABLE dropped_by_rollback (x INTEGER)")
        conn.rollback()
        names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'").scalars().all()
    assert "kept" in names and "dropped_by_rollback" not in names
    engine.dispose()
