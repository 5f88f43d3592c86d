"""The dashboard reads the ledger through a read-only role (deploy/sql/dashboard-readonly.sql,
applied by courtfeed.target.grants as the compose stack's init does), against the real
PostgreSQL; and no page or API answer names the database, its host or its user."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from courtfeed.target.db import engine_for, migrate
from courtfeed.target.grants import DASHBOARD_ROLE, apply_dashboard_role
from courtfeed.web.app import create_app

pytestmark = pytest.mark.integration

GRANT_SQL = (Path(__file__).resolve().parents[2] / "deploy" / "sql" / "dashboard-readonly.sql").read_text()
WRITES = [
    "INSERT INTO uploads (id) VALUES ('x')",
    "UPDATE uploads SET status = 'loaded'",
    "DELETE FROM uploads",
    "TRUNCATE uploads",
    "CREATE TABLE planted (x int)",
    "DROP TABLE uploads",
    "ALTER TABLE uploads ADD COLUMN planted int",
]


@pytest.fixture
def dashboard(pg_url):
    """A migrated target, the role applied by its owner; (owner engine, dashboard URL)."""
    owner = engine_for(pg_url)
    migrate(owner)
    password = "p%" + secrets.token_hex(8) + "'"  # a quote and a percent sign survive the quoting
    apply_dashboard_role(owner, GRANT_SQL, password)
    apply_dashboard_role(owner, GRANT_SQL, password)  # idempotent: the stack applies it each start
    url = sa.engine.make_url(pg_url).set(username=DASHBOARD_ROLE, password=password)
    yield owner, url.render_as_string(hide_password=False)
    owner.dispose()


def test_the_dashboard_role_reads_the_ledger(dashboard):
    owner, url = dashboard
    with owner.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE later_migration (x int)")  # a table added after the grant
    reader = sa.create_engine(url)
    with reader.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM uploads").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM later_migration").scalar() == 0
    reader.dispose()


@pytest.mark.parametrize("statement", WRITES)
def test_the_dashboard_role_cannot_write(dashboard, statement):
    _, url = dashboard
    reader = sa.create_engine(url)
    for read_write in (False, True):  # even a session that turns read-only mode off may not
        with reader.connect() as conn:
            if read_write:
                conn.exec_driver_sql("SET default_transaction_read_only = off")
                conn.commit()
            with pytest.raises(sa.exc.DBAPIError) as caught:
                conn.exec_driver_sql(statement)
            assert caught.value.orig.pgcode in ("42501", "25006", "42P01"), caught.value.orig.pgcode
    reader.dispose()


def test_the_dashboard_uses_its_own_connection_and_names_no_database(dashboard, web_include, monkeypatch):
    _, url = dashboard
    parts = sa.engine.make_url(url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_COURTFEED_DASHBOARD",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": parts.host,
                "port": parts.port,
                "login": parts.username,
                "password": parts.password,
                "schema": parts.database,
            }
        ),
    )
    monkeypatch.delenv("AIRFLOW_CONN_COURTFEED_TARGET", raising=False)  # not needed: not used
    client = TestClient(create_app())
    summary = client.get("/api/summary")
    page = client.get("/")
    assert summary.status_code == 200 and page.status_code == 200
    assert summary.json()["has_ledger"] is True
    for text in (summary.text, page.text):
        for detail in (parts.username, parts.database, f"{parts.host}:{parts.port}", "postgresql"):
            assert detail not in text, detail
