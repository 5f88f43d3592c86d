"""The Airflow plugin: what `airflow plugins` lists, that loading it imports nothing else from
plugins/, and that the mounted app admits only logged-in Airflow users."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
AIRFLOW = Path(sys.executable).parent / "airflow"


def airflow_env(airflow_home: str) -> dict:
    return {
        **os.environ,
        "AIRFLOW_HOME": airflow_home,
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def test_airflow_plugins_lists_the_dashboard_app_and_nav_view(airflow_home):
    proc = subprocess.run(
        [str(AIRFLOW), "plugins", "--output", "json"],
        capture_output=True,
        text=True,
        env=airflow_env(airflow_home),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = json.loads(proc.stdout[proc.stdout.index("[") :])
    plugin = next(p for p in listed if p["name"] == "courtfeed")
    assert plugin["source"] == "$PLUGINS_FOLDER/courtfeed_plugin.py"
    assert plugin["fastapi_apps"] == [
        {"app": "courtfeed_plugin.LazyDashboard", "url_prefix": "/courtfeed", "name": "courtfeed"}
    ]
    [view] = plugin["external_views"]
    assert view["href"] == "/courtfeed/"
    assert view["destination"] == "nav"
    assert view["url_route"] == "courtfeed"
    # the only plugin found in plugins/: nothing from the courtfeed package was taken for one
    # (the OpenLineage provider's plugin comes from its installed package's entry point)
    assert [p["name"] for p in listed if p["source"].startswith("$PLUGINS_FOLDER")] == ["courtfeed"]


LOAD_PLUGINS = """
import json, sys
from airflow import plugins_manager
plugins, errors = plugins_manager._get_plugins()
from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse
views = [ExternalViewResponse.model_validate(v).model_dump() for p in plugins for v in p.external_views]
print(json.dumps({
    "plugins": [p.name for p in plugins],
    "errors": errors,
    "views": views,
    # modules a plugin load must not pull in: package files imported as top-level modules, and
    # the dashboard's own app (built on its first request, in the api-server only)
    "loaded": sorted(m for m in ("cli", "loader", "env", "courtfeed.web.app", "pandas") if m in sys.modules),
}))
"""


def test_loading_plugins_has_no_import_errors_and_stays_light(airflow_home):
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_PLUGINS],
        capture_output=True,
        text=True,
        env=airflow_env(airflow_home),
        timeout=300,
        cwd=str(airflow_home),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["plugins"] == ["courtfeed", "OpenLineageProviderPlugin"]  # the provider's, installed
    assert result["errors"] == {}
    assert result["loaded"] == []
    assert result["views"][0]["name"] == "courtfeed"


def test_airflowignore_keeps_the_package_out_of_plugin_discovery():
    from airflow._shared.module_loading import find_path_from_directory

    found = {
        Path(p).relative_to(PLUGINS).as_posix()
        for p in find_path_from_directory(str(PLUGINS), ".airflowignore")
    }
    python_files = {p for p in found if p.endswith(".py")}
    assert python_files == {"courtfeed_plugin.py"}


def load_plugin_module():
    spec = importlib.util.spec_from_file_location("courtfeed_plugin", PLUGINS / "courtfeed_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def plugin_client(migrated_airflow, demo_ledger, web_include, monkeypatch):
    """The app exactly as the plugin mounts it in the api-server (under /courtfeed), with Airflow's
    auth manager set up, over the demo ledger; and that auth manager."""
    from airflow.api_fastapi.app import create_auth_manager
    from fastapi import FastAPI

    host = demo_ledger.target_url.removeprefix("sqlite:///")
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_TARGET", json.dumps({"conn_type": "sqlite", "host": host}))
    auth_manager = create_auth_manager()
    auth_manager.init()
    entry = load_plugin_module().CourtfeedPlugin.fastapi_apps[0]
    api_server = FastAPI()
    api_server.mount(entry["url_prefix"], entry["app"])
    return TestClient(api_server), auth_manager


def test_mounted_dashboard_admits_only_logged_in_airflow_users(plugin_client):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    client, auth_manager = plugin_client
    token = auth_manager.generate_jwt(SimpleAuthManagerUser(username="viewer", role="viewer"))

    assert client.get("/courtfeed/").status_code == 401
    assert client.get("/courtfeed/api/summary", headers={"Authorization": "Bearer forged"}).status_code == 403

    # the Airflow UI's session cookie (what the browser sends inside the UI's frame)
    page = client.get("/courtfeed/", cookies={"_token": token})
    assert page.status_code == 200
    assert "metro_hearings" in page.text
    api = client.get("/courtfeed/api/summary", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert {p["name"] for p in api.json()["profiles"]} == {
        "county_payments",
        "jury_summons",
        "metro_hearings",
    }


def test_every_route_of_the_mounted_dashboard_needs_a_login(plugin_client, demo_ledger):
    """The OpenAPI document, the static files and the SVG card included."""
    client, _ = plugin_client
    upload_id = next(iter(demo_ledger.results.values()))["upload_id"]
    paths = [
        "/courtfeed/",
        "/courtfeed/search",
        f"/courtfeed/uploads/{upload_id}",
        "/courtfeed/profiles/metro_hearings/recent.svg",
        "/courtfeed/api/summary",
        "/courtfeed/api/search",
        f"/courtfeed/api/uploads/{upload_id}",
        "/courtfeed/static/dashboard.css",
        "/courtfeed/static/icon.svg",
        "/courtfeed/openapi.json",
        "/courtfeed/docs",
    ]
    assert {p: client.get(p).status_code for p in paths} == {p: 401 for p in paths}


def test_the_dashboard_publishes_no_openapi_document(plugin_client):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    client, auth_manager = plugin_client
    token = auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    assert client.get("/courtfeed/openapi.json", cookies={"_token": token}).status_code == 404
    css = client.get("/courtfeed/static/dashboard.css", cookies={"_token": token})
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/courtfeed/static/..%2Fapp.py", cookies={"_token": token}).status_code == 404
