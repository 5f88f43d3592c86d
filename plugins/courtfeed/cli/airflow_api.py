"""The one client of Airflow's REST API (v2) in this project: `courtfeed reprocess`, the
quickstart (scripts/run_demo.py) and the tests that drive a live Airflow all use it.

Authentication: Airflow 3 issues a JWT from POST /auth/token for a user and password. The user
and password are given, else come from COURTFEED_AIRFLOW_USER / COURTFEED_AIRFLOW_PASSWORD, else
the admin and the password `airflow standalone` generated in $AIRFLOW_HOME (the quickstart).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

GENERATED_PASSWORDS = "simple_auth_manager_passwords.json.generated"
GET_ATTEMPTS = 3

DATABASE_BUSY_ATTEMPTS = 5


class AirflowApiError(Exception):
    """Airflow could not be reached, refused the login, or answered a call with an error."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def generated_passwords(home: Path | None = None) -> dict[str, str]:
    """The users and passwords `airflow standalone` (simple auth manager) generated."""
    path = (home or airflow_home()) / GENERATED_PASSWORDS
    return json.loads(path.read_text()) if path.is_file() else {}


def default_password(user: str, home: Path | None = None) -> str | None:
    return generated_passwords(home).get(user)


class AirflowApi:
    def __init__(
        self,
        base_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        home: Path | None = None,
    ):
        import httpx

        self.base_url = (
            base_url or os.environ.get("COURTFEED_AIRFLOW_URL") or "http://localhost:8080"
        ).rstrip("/")
        self.user = user or os.environ.get("COURTFEED_AIRFLOW_USER") or "admin"
        self._password = password or os.environ.get("COURTFEED_AIRFLOW_PASSWORD")
        self._home = home
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    @property
    def password(self) -> str | None:
        # read late: standalone writes its generated password only once it has started
        return self._password or default_password(self.user, self._home)

    def _send(self, method: str, path: str, **kwargs):
        # A busy api-server can miss one timeout: reads are retried, writes are not (a trigger
        # that timed out may still have been made).
        attempts = GET_ATTEMPTS if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                return self.http.request(method, path, **kwargs)
            except Exception as exc:
                if attempt == attempts:
                    raise AirflowApiError(
                        f"cannot reach Airflow at {self.base_url}: {type(exc).__name__}"
                    ) from None
                time.sleep(attempt)

    def _auth(self) -> dict:
        if self._token is None:
            r = self._send(
                "POST", "/auth/token", json={"username": self.user, "password": self.password or ""}
            )
            if r.status_code >= 400:
                raise AirflowApiError(
                    f"Airflow refused the login of user '{self.user}' (HTTP {r.status_code})", r.status_code
                )
            self._token = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs) -> Any:
        """One authenticated call to /api/v2<path>; the decoded JSON answer."""
        for attempt in range(1, DATABASE_BUSY_ATTEMPTS + 1):
            r = self._send(method, f"/api/v2{path}", headers=self._auth(), **kwargs)
            # Airflow answers 500 "Database error" when its metadata database refused the call's
            # transaction (SQLite, as the quickstart uses, while the scheduler or dag-processor
            # holds its write lock). The transaction was rolled back, so sending it again is safe.
            if r.status_code != 500 or "Database error" not in r.text or attempt == DATABASE_BUSY_ATTEMPTS:
                break
            time.sleep(attempt)
        if r.status_code >= 400:
            raise AirflowApiError(f"{method} {path}: HTTP {r.status_code}: {r.text[:300]}", r.status_code)
        return r.json() if r.content else {}

    def health(self) -> dict:
        """/monitor/health (no login needed): each component's status."""
        r = self._send("GET", "/api/v2/monitor/health")
        if r.status_code >= 400:
            raise AirflowApiError(f"health: HTTP {r.status_code}", r.status_code)
        try:
            return r.json()
        except ValueError:
            raise AirflowApiError("health: not a JSON answer") from None

    def unhealthy(self) -> list[str]:
        """The components not (yet) healthy; empty when Airflow is ready."""
        return sorted(name for name, part in self.health().items() if (part or {}).get("status") != "healthy")

    def dag(self, dag_id: str) -> dict:
        return self.request("GET", f"/dags/{dag_id}")

    def dags(self, id_pattern: str | None = None) -> dict[str, dict]:
        params: dict = {"limit": 1000}
        if id_pattern:
            params["dag_id_pattern"] = id_pattern
        return {d["dag_id"]: d for d in self.request("GET", "/dags", params=params).get("dags", [])}

    def set_paused(self, dag_id: str, paused: bool) -> dict:
        return self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def import_errors(self, limit: int = 20) -> list[dict]:
        return self.request("GET", "/importErrors", params={"limit": limit}).get("import_errors", [])

    def trigger(self, dag_id: str, conf: dict | None = None, note: str | None = None) -> dict:
        body: dict = {"logical_date": None, "conf": conf or {}}
        if note:
            body["note"] = note
        return self.request("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def runs(self, dag_id: str, limit: int = 100, newest_first: bool = False) -> list[dict]:
        params: dict = {"limit": limit}
        if newest_first:
            params["order_by"] = "-id"
        return self.request("GET", f"/dags/{dag_id}/dagRuns", params=params).get("dag_runs", [])

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> dict:
        """Mark a run success, failed or queued (as the UI's "Mark run as" does)."""
        return self.request("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": state})

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def backfills(self, dag_id: str) -> list[dict]:
        return self.request("GET", "/backfills", params={"dag_id": dag_id}).get("backfills", [])
