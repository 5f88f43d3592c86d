"""A small client of Airflow's REST API (v2), for `courtfeed reprocess`.

Authentication: Airflow 3 issues a JWT from POST /auth/token for a user and password. The user
and password come from COURTFEED_AIRFLOW_USER / COURTFEED_AIRFLOW_PASSWORD, else the quickstart's
admin and the password `airflow standalone` generated in $AIRFLOW_HOME.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class AirflowApiError(Exception):
    pass


def default_password(user: str) -> str | None:
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    generated = home / "simple_auth_manager_passwords.json.generated"
    if generated.is_file():
        return json.loads(generated.read_text()).get(user)
    return None


class AirflowApi:
    def __init__(
        self,
        base_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ):
        import httpx

        self.base_url = (
            base_url or os.environ.get("COURTFEED_AIRFLOW_URL") or "http://localhost:8080"
        ).rstrip("/")
        self.user = user or os.environ.get("COURTFEED_AIRFLOW_USER") or "admin"
        self.password = (
            password or os.environ.get("COURTFEED_AIRFLOW_PASSWORD") or default_password(self.user)
        )
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def _auth(self) -> dict:
        if self._token is None:
            body = {"username": self.user, "password": self.password or ""}
            try:
                r = self.http.post("/auth/token", json=body)
            except Exception as exc:
                raise AirflowApiError(
                    f"cannot reach Airflow at {self.base_url}: {type(exc).__name__}"
                ) from None
            if r.status_code >= 400:
                raise AirflowApiError(
                    f"Airflow refused the login of user '{self.user}' (HTTP {r.status_code})"
                )
            self._token = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs) -> dict:
        r = self.http.request(method, f"/api/v2{path}", headers=self._auth(), **kwargs)
        if r.status_code >= 400:
            detail = r.text[:300]
            raise AirflowApiError(f"{method} {path}: HTTP {r.status_code}: {detail}")
        return r.json() if r.content else {}

    def dag(self, dag_id: str) -> dict:
        return self.request("GET", f"/dags/{dag_id}")

    def trigger(self, dag_id: str, conf: dict, note: str | None = None) -> dict:
        return self.request(
            "POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf, "note": note}
        )

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
