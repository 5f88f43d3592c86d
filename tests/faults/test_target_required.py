"""Without the courtfeed_target connection a deployed task fails with one
clear line, instead of loading into a SQLite file on the worker's disk that nobody reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from courtfeed.dagfactory import runtime


@pytest.fixture
def no_target(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("AIRFLOW_CONN_COURTFEED_TARGET", raising=False)
    # Even a stray quickstart setting must not stand in for the connection in Airflow.
    monkeypatch.setenv("COURTFEED_TARGET_URL", f"sqlite:///{tmp_path / 'worker.db'}")
    monkeypatch.setattr(runtime, "_engines", {})
    return tmp_path / "worker.db"


def test_missing_target_connection_fails_with_one_clear_line(no_target: Path):
    with pytest.raises(runtime.TargetNotConfigured) as caught:
        runtime.target_engine()
    message = str(caught.value)
    assert "\n" not in message
    assert "courtfeed_target" in message and "connection" in message
    assert not no_target.exists()


def test_the_connection_names_the_target(monkeypatch, tmp_path: Path):
    db = tmp_path / "target.db"
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_TARGET", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    assert runtime.target_url() == f"sqlite:///{db}"


def test_quickstart_sets_its_sqlite_target_explicitly():
    import yaml

    repo = Path(__file__).resolve().parents[2]
    settings = yaml.safe_load((repo / "airflow_settings.yaml").read_text())
    target = [c for c in settings["airflow"]["connections"] if c["conn_id"] == "courtfeed_target"]
    assert target and target[0]["conn_type"] == "sqlite"
