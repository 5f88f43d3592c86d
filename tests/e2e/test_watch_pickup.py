"""Event-driven pickup on a real running Airflow (scheduler, triggerer, LocalExecutor): a profile
with the default settings creates no DAG run while idle, and a file dropped at a random moment is
picked up within two minutes and loaded once; then the profile is idle again."""

from __future__ import annotations

import os
import random
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.feeds import include_with, target_connection_json
from tests.e2e.live_airflow import start_live_airflow

REPO = Path(__file__).resolve().parents[2]
HEARINGS = REPO / "include" / "demo" / "metro_hearings_20261128.txt"
DAG_ID = "courtfeed__watched_hearings"
PICKUP_SLA_SECONDS = 120

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def live(tmp_path: Path, sshd, postgres, pg_url: str):
    user = next(u for u, acc in sshd.users.items() if acc.private_key)
    drop = sshd.drop_dir(user) / "watched"
    subprocess.run(["rm", "-rf", str(drop)], check=True)
    sshd.put_file(user, "watched/.keep", b"")
    # Nothing but the connection, the folder and a keyword: pickup, ages, intervals are defaults.
    profile = {
        "name": "watched_hearings",
        "agency": "metro-county",
        "source": {"connection": "sftp_watch", "directory": str(drop), "keywords": ["hearings"]},
        "template": "metro_hearings",
        "timezone": "America/Chicago",
    }
    include = include_with(tmp_path, profile)
    meta = postgres.create_database("airflow_watch_meta")
    env = {
        "COURTFEED_INCLUDE": str(include),
        "COURTFEED_STAGING": str(tmp_path / "staging"),
        "AIRFLOW_CONN_SFTP_WATCH": sshd.airflow_connection_json(user),
        "AIRFLOW_CONN_COURTFEED_TARGET": target_connection_json(pg_url),
    }
    airflow = start_live_airflow(tmp_path / "airflow", meta, env, start_timeout=480)
    try:
        yield {"airflow": airflow, "sshd": sshd, "user": user, "pg_url": pg_url}
    finally:
        airflow.stop()
        postgres.drop_database("airflow_watch_meta")


def loaded(pg_url: str) -> list:
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("uploads"):
                return []
            return conn.execute(sa.text("select path, status, finished_at from uploads")).all()
    finally:
        engine.dispose()


def triggerer_cpu_seconds(af) -> float | None:
    """User + system CPU of the `airflow triggerer` process that `airflow standalone` started."""
    ticks = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "triggerer" not in cmd or os.getsid(int(proc.name)) != os.getsid(af.proc.pid):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ProcessLookupError):
            continue
        return (int(fields[11]) + int(fields[12])) / ticks
    return None


def test_file_dropped_at_a_random_moment_is_loaded_within_two_minutes(live):
    af, sshd, user = live["airflow"], live["sshd"], live["user"]
    dag = af.wait_for_dag(DAG_ID)
    assert dag["is_paused"] is False
    # Idle: the folder is watched by the triggerer, and nothing runs.
    idle = random.uniform(5, 25)  # a random moment within the watch's 20 s listing cycle
    cpu_before = triggerer_cpu_seconds(af)
    time.sleep(idle)
    cpu_after = triggerer_cpu_seconds(af)
    assert af.runs(DAG_ID) == []
    if cpu_before is not None and cpu_after is not None:
        print(f"\ntriggerer CPU while idle: {100 * (cpu_after - cpu_before) / idle:.1f} % of one core")

    landed = time.time()
    sshd.put_file(user, "watched/metro_hearings_20261130.txt", HEARINGS.read_bytes(), mtime=landed)
    # Picked up: the watch fires and the scheduler queues the profile's run within the SLA.
    runs: list[dict] = []
    while time.time() < landed + PICKUP_SLA_SECONDS and not runs:
        runs = af.runs(DAG_ID)
        time.sleep(1)
    assert len(runs) == 1 and runs[0]["run_type"] == "asset_triggered", runs
    started = datetime.fromisoformat(runs[0]["queued_at"].replace("Z", "+00:00")).timestamp()
    picked_up = started - landed
    # Then loaded, after its processing time (six tasks; minutes on a busy 2-core machine).
    deadline = time.time() + 900
    rows = []
    while time.time() < deadline and not rows:
        rows = [r for r in loaded(live["pg_url"]) if r.status == "loaded"]
        time.sleep(2)
    assert rows, f"not loaded; runs {af.runs(DAG_ID)}\n{af.log_tail()}"
    loaded_after = rows[0].finished_at.timestamp() - landed
    print(f"\nlanding -> run queued {picked_up:.0f} s, landing -> loaded {loaded_after:.0f} s")
    assert picked_up < PICKUP_SLA_SECONDS
    af.wait_for_runs(DAG_ID, 1)

    # Idle again: the file stays in the folder (after_load: keep) and makes no second run.
    time.sleep(45)  # two listings and more
    assert len(af.runs(DAG_ID)) == 1
