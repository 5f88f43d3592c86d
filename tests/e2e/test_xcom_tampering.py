"""XCom edited through Airflow's REST API, then tasks cleared, on a real running Airflow.

A user who may edit a DAG's XComs and clear its tasks (no more: not its files, not the target)
rewrites what feed A's tasks hand each other after a run loaded A's file, and clears the next
tasks: the listing to name B's file, the load's payload to point finalize at B's file and at a
folder on the worker, the map's payload to load A's rows as agency B with replace_all. Each
cleared task fails with courtfeed's refusal in its log; nothing of B moves, nothing of B is
deleted, nothing outside the staging root is removed.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from courtfeed.cli.airflow_api import AirflowApiError
from tests.e2e.conftest import SHARED_SFTP_CONN

REPO = Path(__file__).resolve().parents[2]
HEARINGS = (
    (REPO / "include" / "demo" / "metro_hearings_20261128.txt").read_text(encoding="utf-8").splitlines()
)
DAG_ID = "courtfeed__tamper_a"

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def part(first: int, last: int) -> bytes:
    return ("\n".join([HEARINGS[0], *HEARINGS[first:last]]) + "\n").encode()


@pytest.fixture
def live(shared_airflow, tmp_path: Path):
    from courtfeed.config.template import Template
    from courtfeed.pipeline.run import ingest

    sshd, user = shared_airflow.sshd, shared_airflow.user
    base = shared_airflow.drop("tamper")
    old = time.time() - 3600
    sshd.put_file(user, "tamper/a/metro_hearings_a.txt", part(1, 31), mtime=old)
    b_file = sshd.put_file(user, "tamper/b/metro_hearings_b.txt", part(101, 131), mtime=old)
    template = yaml.safe_load((REPO / "include" / "templates" / "metro_hearings.yaml").read_text())
    template.update(name="hearings_all", method="replace_all")
    profile = {
        "name": "tamper_a",
        "agency": "agency-a",
        "source": {
            "connection": SHARED_SFTP_CONN,
            "directory": str(base / "a"),
            "keywords": ["hearings"],
            "min_age_seconds": 0,
            "wait_for_stable_size": False,
            "poke_interval_seconds": 2,
            "wait_timeout_seconds": 30,
        },
        "template": "hearings_all",
        "timezone": "America/Chicago",
        "pickup": "schedule",
        "schedule": None,  # runs only when triggered
        "after_load": "archive",
        "archive_directory": str(base / "a" / "archive"),
        "retries": 0,
    }
    shared_airflow.add_profile(profile, {"hearings_all": template})
    pg_url = shared_airflow.target_url
    # agency-b's records, loaded by its own feed from its own folder
    ingest(b_file, Template.model_validate(template), pg_url, agency="agency-b", profile="tamper_b")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("a worker's file")
    yield {
        "airflow": shared_airflow.airflow,
        "base": base,
        "b_file": b_file,
        "pg_url": pg_url,
        "precious": precious,
        "staging": shared_airflow.staging,
    }
    shared_airflow.pause(DAG_ID)


def mtime_of(path: Path) -> str:
    from courtfeed.sources.base import utc_from_timestamp

    return utc_from_timestamp(path.stat().st_mtime).isoformat()


def agency_b(pg_url: str) -> tuple:
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        counts = tuple(
            conn.execute(sa.text(f"select count(*) from {table} where agency = 'agency-b'")).scalar()
            for table in ("client", "event", "uploads")
        )
    engine.dispose()
    return counts


def xcom(af, run_id: str, task_id: str, map_index: int = -1):
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
    value = af.api("GET", path, params={"map_index": map_index})["value"]
    return json.loads(value) if isinstance(value, str) else value


def edit_xcom(af, run_id: str, task_id: str, value, map_index: int = -1) -> None:
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
    af.api("PATCH", path, json={"value": value, "map_index": map_index})


def wait_for_end(af, run_id: str, timeout: float = 300) -> str:
    """The run's state once it ended (a busy api-server missing a poll is asked again)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(3)
        try:
            state = af.client.dag_run(DAG_ID, run_id)["state"]
        except AirflowApiError:
            continue
        if state in ("success", "failed"):
            return state
    raise AssertionError(f"run {run_id} did not end within {timeout:.0f} s:\n{af.log_tail()}")


def clear_and_wait(af, run_id: str, *task_ids: str, timeout: float = 300) -> dict[str, str]:
    """Clear the tasks (map index 0, nothing downstream), wait for the run to end; their states."""
    af.api(
        "POST",
        f"/dags/{DAG_ID}/clearTaskInstances",
        json={
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": [[t, 0] for t in task_ids],
            "only_failed": False,
            "include_downstream": False,
            "reset_dag_runs": True,
        },
    )
    wait_for_end(af, run_id, timeout)
    tis = af.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
    return {ti["task_id"]: ti["state"] for ti in tis["task_instances"] if ti["task_id"] in task_ids}


def task_log(af, run_id: str, task_id: str) -> str:
    tis = af.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/0")
    log = af.api(
        "GET",
        f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{tis['try_number']}",
        params={"map_index": 0, "full_content": True},
    )
    return json.dumps(log.get("content"))


def test_edited_xcoms_move_load_and_remove_nothing_outside_the_profile(live):
    af, base, b_file, pg_url = live["airflow"], live["base"], live["b_file"], live["pg_url"]
    af.wait_for_dag(DAG_ID)
    af.client.set_paused(DAG_ID, False)
    run_id = af.client.trigger(DAG_ID)["dag_run_id"]
    assert wait_for_end(af, run_id, timeout=600) == "success", af.log_tail()
    assert [p.name for p in (base / "a" / "archive").iterdir()] == ["metro_hearings_a.txt"]
    before = agency_b(pg_url)
    assert before[0] > 0 and before[2] == 1

    # The listing names B's file; the load's payload points finalize at B's file and at a folder
    # on the worker. fetch and finalize cleared.
    listed = xcom(af, run_id, "list_new_files")
    b_listed = {**listed[0], "path": str(b_file), "size": b_file.stat().st_size, "mtime": mtime_of(b_file)}
    edit_xcom(af, run_id, "list_new_files", [b_listed])
    loaded = xcom(af, run_id, "file.load", 0)
    precious = str(live["precious"])
    edit_xcom(
        af, run_id, "file.load", [{**w, "path": str(b_file), "delivery_dir": precious} for w in loaded], 0
    )
    states = clear_and_wait(af, run_id, "file.fetch", "file.finalize")
    assert b_file.exists() and (live["precious"] / "keep.txt").exists()
    assert not list(live["staging"].rglob(b_file.name))  # B's file was not even downloaded
    assert states == {"file.fetch": "failed", "file.finalize": "failed"}
    assert [p.name for p in (base / "a" / "archive").iterdir()] == ["metro_hearings_a.txt"]
    assert "is not in the profile's source folder" in task_log(af, run_id, "file.fetch")
    # finalize looks at the staging folder first: that is what it names
    assert f"refused: its staging folder '{precious}' is not one of the profile's" in task_log(
        af, run_id, "file.finalize"
    )

    # The map's payload: agency B, forced past the duplicate check, a fresh upload id. load cleared.
    mapped = xcom(af, run_id, "file.map", 0)
    tampered = [{**w, "agency": "agency-b", "forced": True, "upload_id": str(uuid.uuid4())} for w in mapped]
    edit_xcom(af, run_id, "file.map", tampered, 0)
    assert clear_and_wait(af, run_id, "file.load") == {"file.load": "failed"}
    assert agency_b(pg_url) == before  # no record of B deleted or added, no ledger row of B's
    assert "its agency is not the profile's" in task_log(af, run_id, "file.load")
