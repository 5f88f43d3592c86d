"""A missed night, backfilled, and re-ingests by hand, on a real running Airflow.

Files land while the profile's DAG is paused; `airflow backfill create` over that night loads
exactly those files, once (a file that arrived later is left to the regular runs); running the
backfill again loads nothing; `courtfeed reprocess` re-ingests a named file and a window.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import SHARED_SFTP_CONN

REPO = Path(__file__).resolve().parents[2]
HEARINGS = (
    (REPO / "include" / "demo" / "metro_hearings_20261128.txt").read_text(encoding="utf-8").splitlines()
)
TZ = ZoneInfo("America/Chicago")
DAG_ID = "courtfeed__nightly_hearings"

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def part(first: int, last: int) -> bytes:
    return ("\n".join([HEARINGS[0], *HEARINGS[first:last]]) + "\n").encode()


@pytest.fixture
def live(shared_airflow):
    drop = shared_airflow.drop("nightly")
    profile = {
        "name": "nightly_hearings",
        "agency": "metro-county",
        "source": {
            "connection": SHARED_SFTP_CONN,
            "directory": str(drop),
            "keywords": ["hearings"],
            "min_age_seconds": 0,
            "wait_for_stable_size": False,
            "poke_interval_seconds": 2,
            "wait_timeout_seconds": 15,
        },
        "template": "metro_hearings",
        "timezone": "America/Chicago",
        "pickup": "schedule",  # backfills need a periodic schedule
        "schedule": "@daily",
        "enabled": False,
        "after_load": "keep",
    }
    shared_airflow.add_profile(profile)
    yield {
        "airflow": shared_airflow.airflow,
        "sshd": shared_airflow.sshd,
        "user": shared_airflow.user,
        "drop": drop,
        "pg_url": shared_airflow.target_url,
    }
    shared_airflow.pause(DAG_ID)


def uploads(pg_url: str) -> list:
    """This profile's uploads (the target is shared with the other tests of the live Airflow)."""
    with sa.create_engine(pg_url).connect() as conn:
        return conn.execute(
            sa.text(
                "select path, status, run_id, forced from uploads where profile = 'nightly_hearings'"
                " order by started_at"
            )
        ).all()


def test_missed_night_backfilled_exactly_once_then_reprocessed(live):
    af, sshd, user = live["airflow"], live["sshd"], live["user"]
    af.wait_for_dag(DAG_ID)

    # Normal operation: the feed runs once (nothing there yet), then is paused for the night.
    af.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    # Only that it ends matters here, however it ends. Under heavy load Airflow's execution API
    # once answered the sensor's reschedule with "Task Instance not found" (404), and the
    # sensor's retries then took the run past 300 s (CI, 2026-11-30): give them the time.
    af.wait_for_runs(DAG_ID, 1, timeout=900, run_type="scheduled")
    af.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": True})

    # While paused: two files arrive in a night two days ago, one file arrives today.
    night = (datetime.now(TZ) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    arrived = (night + timedelta(hours=3)).timestamp()
    sshd.put_file(user, "nightly/metro_hearings_a.txt", part(1, 101), mtime=arrived)
    sshd.put_file(user, "nightly/metro_hearings_b.txt", part(101, 201), mtime=arrived + 60)
    sshd.put_file(user, "nightly/metro_hearings_today.txt", part(201, 251), mtime=time.time() - 600)

    day = night.isoformat()
    created = af.cli("backfill", "create", "--dag-id", DAG_ID, "--from-date", day, "--to-date", day)
    assert created.returncode == 0, created.stderr[-3000:]
    af.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    backfill_runs = af.wait_for_runs(DAG_ID, 1, run_type="backfill")
    assert [r["state"] for r in backfill_runs] == ["success"]

    rows = uploads(live["pg_url"])
    loaded = sorted(Path(r.path).name for r in rows if r.status == "loaded")
    assert loaded == ["metro_hearings_a.txt", "metro_hearings_b.txt"]  # not today's: outside the night
    assert all(r.run_id.startswith("backfill") for r in rows)
    with sa.create_engine(live["pg_url"]).connect() as conn:
        events_after_backfill = conn.execute(
            sa.text("select count(*) from event where agency = 'metro-county'")
        ).scalar()
    assert events_after_backfill > 0

    # The same backfill again loads nothing new.
    af.wait_for_backfills_completed(DAG_ID)
    again = af.cli(
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        day,
        "--to-date",
        day,
        "--reprocess-behavior",
        "completed",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    # Reprocessing a completed date clears and re-runs that date's run rather than adding one.
    af.wait_for_backfills_completed(DAG_ID)
    assert [r["state"] for r in af.wait_for_runs(DAG_ID, 1, run_type="backfill")] == ["success"]
    assert len(uploads(live["pg_url"])) == len(rows)

    # courtfeed reprocess: a named file, then a window, through Airflow's REST API.
    env = {**os.environ, "COURTFEED_AIRFLOW_URL": af.url, "COURTFEED_AIRFLOW_PASSWORD": af.password}
    cli = [sys.executable, "-m", "courtfeed.cli", "reprocess", "--profile", "nightly_hearings", "--json"]
    out = subprocess.run([*cli, "--file", "metro_hearings_a.txt"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["conf"] == {"force_files": ["metro_hearings_a.txt"]}
    af.wait_for_runs(DAG_ID, 1, run_type="manual")
    since = (datetime.now(TZ) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    out = subprocess.run([*cli, "--since", since], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    af.wait_for_runs(DAG_ID, 2, run_type="manual")

    rows = uploads(live["pg_url"])
    by_name: dict[str, list] = {}
    for r in rows:
        by_name.setdefault(Path(r.path).name, []).append(r)
    assert [(r.status, r.forced) for r in by_name["metro_hearings_a.txt"]] == [
        ("loaded", False),
        ("loaded", True),
    ]
    assert [(r.status, r.forced) for r in by_name["metro_hearings_b.txt"]] == [("loaded", False)]
    assert [(r.status, r.forced) for r in by_name["metro_hearings_today.txt"]] == [("loaded", True)]
