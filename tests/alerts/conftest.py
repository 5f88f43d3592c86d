"""Fixtures for the alert tests: a migrated SQLite ledger, and a migrated Airflow home for dag.test."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import update

from courtfeed.target import ledger
from courtfeed.target.db import engine_for, migrate
from courtfeed.target.schema import uploads


@pytest.fixture
def ledger_engine(tmp_path):
    """A fresh, migrated SQLite target database."""
    engine = engine_for(f"sqlite:///{tmp_path / 'target.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def add_upload(ledger_engine):
    """Write one finished ledger row with a chosen status, row count and finish time."""
    counter = iter(range(1_000_000))

    def add(profile: str, status: str, finished_at: datetime, rows_read: int = 100) -> str:
        upload_id = f"u{next(counter)}"
        with ledger_engine.begin() as conn:
            ledger.start_upload(
                conn,
                upload_id=upload_id,
                profile=profile,
                agency="a",
                template="t",
                source="s",
                path=f"/in/{upload_id}.csv",
                size=1,
                mtime=datetime(2026, 1, 1, tzinfo=UTC),
                sha256=upload_id,
            )
            ledger.finish_upload(conn, upload_id, status=status, rows_read=rows_read)
            conn.execute(update(uploads).where(uploads.c.id == upload_id).values(finished_at=finished_at))
        return upload_id

    return add


def start_webhook():
    """A Slack incoming-webhook endpoint on loopback that records what it is sent:
    (port, received list of {path, json}, server to shut down)."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "json": json.loads(body)})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], received, server
