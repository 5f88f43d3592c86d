"""Least privilege in a real Airflow: the api-server with the FAB auth manager serves the
dashboard, a user whose role may read one profile's DAG sees only that profile's uploads, in
every page, search, chart and card, and a client without a login gets 401 on every route
."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.live_airflow import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
ALLOWED = "metro_hearings"  # the restricted user's one profile
PASSWORD = "Courtfeed-test-" + "7" * 8  # a local test account on loopback

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _airflow(env: dict, *args: str) -> str:
    proc = subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"airflow {' '.join(args)}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def fab_airflow(tmp_path_factory, demo_ledger):
    """`airflow api-server` with the FAB auth manager over the demo ledger; users `admin` (Admin)
    and `metro` (a role that may read only courtfeed__metro_hearings)."""
    home = tmp_path_factory.mktemp("fab-airflow")
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__AUTH_MANAGER": FAB,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-jwt-secret-" + "x" * 16,
        "COURTFEED_INCLUDE": str(demo_ledger.include),
        # The dashboard reads the ledger through the courtfeed_target connection, as deployed.
        "AIRFLOW_CONN_COURTFEED_TARGET": json.dumps(
            {"conn_type": "sqlite", "host": demo_ledger.target_url.removeprefix("sqlite:///")}
        ),
    }
    _airflow(env, "db", "migrate")
    _airflow(env, "dags", "reserialize")  # the profile DAGs, so FAB knows their DAG:<id> resources
    _airflow(env, "sync-perm", "--include-dags")
    _airflow(env, "roles", "create", "metro_only")
    _airflow(env, "roles", "add-perms", "metro_only", "-r", f"DAG:courtfeed__{ALLOWED}", "-a", "can_read")
    for user, role in (("admin", "Admin"), ("metro", "metro_only")):
        _airflow(
            env, "users", "create", "--username", user, "--role", role, "--password", PASSWORD,
            "--email", f"{user}@courts.example", "--firstname", user, "--lastname", "test",
        )  # fmt: skip
    log_path = home / "api-server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(BIN / "airflow"), "api-server", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            assert proc.poll() is None, log_path.read_text()[-4000:]
            try:
                if httpx.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, log_path.read_text()[-4000:]
            time.sleep(2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def client_for(url: str, user: str) -> httpx.Client:
    r = httpx.post(f"{url}/auth/token", json={"username": user, "password": PASSWORD}, timeout=60)
    assert r.status_code in (200, 201), r.text
    token = r.json()["access_token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def routes(demo_ledger) -> list[str]:
    any_upload = next(iter(demo_ledger.results.values()))["upload_id"]
    return [
        "/courtfeed/",
        "/courtfeed/search",
        f"/courtfeed/uploads/{any_upload}",
        f"/courtfeed/profiles/{ALLOWED}/recent.svg",
        "/courtfeed/api/summary",
        "/courtfeed/api/search",
        f"/courtfeed/api/uploads/{any_upload}",
        "/courtfeed/static/dashboard.css",
        "/courtfeed/static/icon.svg",
        "/courtfeed/openapi.json",
        "/courtfeed/docs",
    ]


def test_anonymous_gets_401_on_every_route(fab_airflow, demo_ledger):
    got = {path: httpx.get(fab_airflow + path, timeout=60).status_code for path in routes(demo_ledger)}
    assert got == {path: 401 for path in got}


def test_a_user_allowed_one_profile_sees_only_its_uploads(fab_airflow, demo_ledger):
    mine = {name for name, profile in demo_ledger.profile_of.items() if profile == ALLOWED}
    others = {name for name, profile in demo_ledger.profile_of.items() if profile != ALLOWED}
    assert mine and others
    upload_of = {name: result["upload_id"] for name, result in demo_ledger.results.items()}
    with client_for(fab_airflow, "metro") as metro, client_for(fab_airflow, "admin") as admin:
        summary = metro.get("/courtfeed/api/summary").json()
        assert {p["name"] for p in summary["profiles"]} == {ALLOWED}
        assert {u["file_name"] for u in summary["recent"]} == mine
        assert summary["problems"] == []
        # the chart counts only its own rows
        loaded = sum(d["loaded"] for d in summary["daily"])
        assert loaded == sum(demo_ledger.results[n]["rows_loaded"] for n in mine)

        found = metro.get("/courtfeed/api/search").json()
        assert {u["file_name"] for u in found["uploads"]} == mine
        assert found["profiles"] == [ALLOWED]
        for name in others:  # not by search text or profile filter either
            assert metro.get("/courtfeed/api/search", params={"q": name}).json()["uploads"] == []
        assert (
            metro.get("/courtfeed/api/search", params={"profile": "county_payments"}).json()["uploads"] == []
        )

        for name in mine:
            assert metro.get(f"/courtfeed/api/uploads/{upload_of[name]}").status_code == 200
            assert metro.get(f"/courtfeed/uploads/{upload_of[name]}").status_code == 200
        for name in others:
            assert metro.get(f"/courtfeed/api/uploads/{upload_of[name]}").status_code == 404
            page = metro.get(f"/courtfeed/uploads/{upload_of[name]}")
            assert page.status_code == 404 and name not in page.text

        pages = metro.get("/courtfeed/").text + metro.get("/courtfeed/search").text
        assert all(name in pages for name in mine)
        assert not [name for name in others if name in pages]
        assert "county_payments" not in pages and "jury_summons" not in pages

        assert metro.get(f"/courtfeed/profiles/{ALLOWED}/recent.svg").status_code == 200
        assert metro.get("/courtfeed/profiles/county_payments/recent.svg").status_code == 404

        # and the admin, who may read every DAG, sees every profile and upload
        everything = admin.get("/courtfeed/api/summary").json()
        assert {p["name"] for p in everything["profiles"]} == set(demo_ledger.profile_of.values())
        assert {u["file_name"] for u in admin.get("/courtfeed/api/search").json()["uploads"]} == mine | others
        assert admin.get("/courtfeed/profiles/county_payments/recent.svg").status_code == 200
