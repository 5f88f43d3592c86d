"""End to end through Airflow: a profile DAG takes files from a real sshd into a real PostgreSQL,
archives them, delivers acknowledgements, and a second run loads nothing new."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.feeds import dag_env, include_with, run_dag

REPO = Path(__file__).resolve().parents[2]
HEARINGS = REPO / "include" / "demo" / "metro_hearings_20261128.txt"

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def feed(tmp_path: Path, sshd, pg_url: str, postgres, migrated_airflow: str):
    """A profile over the key user's drop folder, loading into a fresh PostgreSQL database."""
    user = next(u for u, acc in sshd.users.items() if acc.private_key)
    drop = sshd.drop_dir(user)
    for child in drop.iterdir():
        subprocess.run(["rm", "-rf", str(child)], check=True)
    old = time.time() - 3600
    sshd.put_file(user, "in/metro_hearings_20261128.txt", HEARINGS.read_bytes(), mtime=old)
    sshd.put_file(user, "in/metro_hearings_broken.txt", b"DEF_ID|WHATEVER\nD1|x\n", mtime=old)
    sshd.put_file(user, "in/payments_other_feed.csv", b"a,b\n1,2\n", mtime=old)
    profile = {
        "name": "e2e_hearings",
        "agency": "metro-county",
        "source": {
            "connection": "sftp_e2e",
            "directory": str(drop / "in"),
            "keywords": ["hearings"],
            "min_age_seconds": 60,
            "poke_interval_seconds": 1,
            "wait_timeout_seconds": 8,
        },
        "template": "metro_hearings",
        "timezone": "America/Chicago",
        "after_load": "archive",
        "archive_directory": str(drop / "in" / "processed"),
        "error_directory": str(drop / "in" / "errors"),
        "reports_directory": str(drop / "acks"),
    }
    include = include_with(tmp_path, profile)
    env = dag_env(
        migrated_airflow, include, tmp_path, pg_url, {"sftp_e2e": sshd.airflow_connection_json(user)}
    )
    return {"env": env, "drop": drop, "pg_url": pg_url}


def test_profile_dag_end_to_end(feed):
    result = run_dag(feed["env"], "courtfeed__e2e_hearings")
    assert result["state"] == "success", result
    finalized = sorted(t["rendered"] for t in result["tasks"] if t["task_id"] == "file.finalize")
    assert finalized == ["metro_hearings_20261128.txt", "metro_hearings_broken.txt"]

    # Asset events (read by whoever may read assets) carry upload ids and counts, no file names.
    written = [e for e in result["asset_events"] if e["extra"]]  # the rejected file's are empty
    events = {e["asset"]: e["extra"] for e in written}
    assert len(events) == len(written)  # one per entity the loaded file wrote
    loaded = events["courtfeed.metro-county.event"]
    assert loaded["created"] == 220 and loaded["status"] == "loaded"
    assert events["courtfeed.metro-county.client"]["created"] == 220
    assert "metro_hearings" not in json.dumps(result["asset_events"])

    engine = sa.create_engine(feed["pg_url"])
    with engine.connect() as conn:
        uploads = conn.execute(
            sa.text("select path, status, rows_read, rows_loaded, rows_excluded from uploads")
        ).all()
        by_name = {Path(u.path).name: u for u in uploads}
        assert by_name["metro_hearings_20261128.txt"].status == "loaded"
        assert by_name["metro_hearings_20261128.txt"].rows_read == 250
        assert by_name["metro_hearings_20261128.txt"].rows_loaded == 220
        assert by_name["metro_hearings_broken.txt"].status == "rejected"
        assert conn.execute(sa.text("select count(*) from event")).scalar() == 220
        assert conn.execute(sa.text("select count(distinct upload_id) from event")).scalar() == 1
        upload_id = conn.execute(sa.text("select distinct upload_id from event")).scalar()
        assert loaded["uploads"] == [str(upload_id)]

    drop = feed["drop"]
    assert not (drop / "in" / "metro_hearings_20261128.txt").exists()
    assert (drop / "in" / "processed" / "metro_hearings_20261128.txt").exists()
    assert (drop / "in" / "errors" / "metro_hearings_broken.txt").exists()
    assert (drop / "in" / "payments_other_feed.csv").exists()  # not this feed's file: untouched
    acks = sorted(p.name for p in (drop / "acks").glob("*.ack.json"))
    assert len(acks) == 2
    ack = json.loads(next((drop / "acks").glob("metro_hearings_2026*.ack.json")).read_text())
    assert ack["status"] == "loaded" and ack["rows_loaded"] == 220
    assert ack["counts"]["event"]["created"] == 220

    # A second cycle finds nothing new: the run ends without loading anything.
    again = run_dag(feed["env"], "courtfeed__e2e_hearings")
    assert again["state"] == "success"
    assert [t["state"] for t in again["tasks"] if t["task_id"] == "list_new_files"] == ["skipped"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from uploads")).scalar() == 2
        assert conn.execute(sa.text("select count(*) from event")).scalar() == 220
