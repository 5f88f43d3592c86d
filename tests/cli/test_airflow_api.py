"""The one Airflow REST client (courtfeed.cli.airflow_api) against an HTTP endpoint on loopback that
answers as Airflow 3's API does (the live-Airflow e2e test drives a real one)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from courtfeed.cli.airflow_api import AirflowApi, AirflowApiError


@pytest.fixture
def fake_airflow():
    calls: list[dict] = []
    busy = {"left": 2}  # courtfeed__busy: answers "Database error" this many times first
    health = {"metadatabase": {"status": "healthy"}, "scheduler": {"status": "unhealthy"}}

    class Api(BaseHTTPRequestHandler):
        def _answer(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            calls.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "body": body,
                    "auth": self.headers.get("Authorization"),
                }
            )
            if self.path == "/auth/token":
                ok = body == {"username": "admin", "password": "pw"}
                return self._answer(201 if ok else 401, {"access_token": "tok"} if ok else {})
            if self.path == "/api/v2/monitor/health":
                return self._answer(200, health)
            if self.headers.get("Authorization") != "Bearer tok":
                return self._answer(401, {"detail": "no"})
            if self.path.startswith("/api/v2/dags?"):
                return self._answer(200, {"dags": [{"dag_id": "courtfeed__a", "is_paused": True}]})
            if self.command == "PATCH" and self.path.startswith("/api/v2/dags/courtfeed__busy"):
                if busy["left"] > 0:
                    busy["left"] -= 1
                    return self._answer(500, {"detail": {"reason": "Database error", "statement": "hidden"}})
                return self._answer(200, {"dag_id": "courtfeed__busy", "is_paused": False})
            if self.command == "PATCH" and self.path.startswith("/api/v2/dags/courtfeed__broken"):
                return self._answer(500, {"detail": "Internal Server Error"})
            if self.path.startswith("/api/v2/dags/courtfeed__a/dagRuns") and self.command == "POST":
                return self._answer(200, {"dag_run_id": "manual__1"})
            return self._answer(404, {"detail": "not found"})

        do_GET = do_POST = do_PATCH = _handle  # noqa: N815 - http.server's naming

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls, health
    server.shutdown()


def test_login_once_then_bearer_calls(fake_airflow):
    url, calls, health = fake_airflow
    api = AirflowApi(url, user="admin", password="pw")
    assert api.unhealthy() == ["scheduler"]
    health["scheduler"]["status"] = "healthy"
    assert api.unhealthy() == []
    assert list(api.dags("courtfeed__")) == ["courtfeed__a"]
    assert api.trigger("courtfeed__a", {"force_files": ["x.txt"]}, note="why")["dag_run_id"] == "manual__1"
    assert [c["path"] for c in calls if c["path"] == "/auth/token"] == ["/auth/token"]  # one login
    (trigger,) = [c for c in calls if c["method"] == "POST" and "dagRuns" in c["path"]]
    assert trigger["auth"] == "Bearer tok"
    assert trigger["body"] == {"logical_date": None, "conf": {"force_files": ["x.txt"]}, "note": "why"}
    with pytest.raises(AirflowApiError) as missing:
        api.dag("nope")
    assert missing.value.status_code == 404


def test_refused_login_and_unreachable_airflow_are_one_clear_error(fake_airflow):
    url, _, _ = fake_airflow
    with pytest.raises(AirflowApiError, match="refused the login of user 'admin'"):
        AirflowApi(url, user="admin", password="wrong").dag("courtfeed__a")
    with pytest.raises(AirflowApiError, match="cannot reach Airflow"):
        AirflowApi("http://127.0.0.1:9", user="admin", password="pw").unhealthy()


def test_a_call_the_metadata_database_refused_is_sent_again(fake_airflow, monkeypatch):
    url, calls, _ = fake_airflow
    monkeypatch.setattr("courtfeed.cli.airflow_api.time.sleep", lambda _s: None)
    api = AirflowApi(url, user="admin", password="pw")
    assert api.request("PATCH", "/dags/courtfeed__busy", json={"is_paused": False})["is_paused"] is False
    assert [c["method"] for c in calls if c["path"].startswith("/api/v2/dags/courtfeed__busy")] == [
        "PATCH"
    ] * 3


def test_any_other_server_error_is_reported_at_once(fake_airflow, monkeypatch):
    url, calls, _ = fake_airflow
    monkeypatch.setattr("courtfeed.cli.airflow_api.time.sleep", lambda _s: None)
    api = AirflowApi(url, user="admin", password="pw")
    with pytest.raises(AirflowApiError) as caught:
        api.request("PATCH", "/dags/courtfeed__broken", json={"is_paused": False})
    assert caught.value.status_code == 500
    assert len([c for c in calls if c["path"].startswith("/api/v2/dags/courtfeed__broken")]) == 1
