"""The production stack with real traffic (`make stack-test`): the hosted drop box, two Celery
workers, the target PostgreSQL, a worker killed mid-load, and a teardown that leaves nothing.

One `docker-compose up` serves the whole module; the tests run in file order and later ones use
what earlier ones loaded (the clean run is the reference for the killed run).
"""

from __future__ import annotations

import random
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from courtfeed.target.schema import TABLE_NAMES
from tests.deploy.stack import REPO, WATCHED_PROFILE, close_sftp, hearings_file, upload, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.integration]

DEMO = REPO / "include" / "demo" / "metro_hearings_20261128.txt"
# Big enough that its load task runs for seconds, so a worker can be killed in the middle of it.
BIG_NAME = "metro_hearings_big_20261129.txt"
BIG_ROWS = 30000
ENTITIES = ("client", "case", "event")
# Each task costs a worker process start and a DAG parse: about 10 s on an idle 2-core host,
# over a minute when other jobs load it (load average 37 measured here).
RUN_TIMEOUT = 1200
PICKUP_SLA_SECONDS = 120


def run_profile(stack, agency: str, on_running=None) -> tuple[dict, list[dict]]:
    """Trigger the agency's DAG through the REST API and wait for the run to end."""
    api = stack.api()
    dag_id = f"courtfeed__stack_{agency}"
    wait_for(f"DAG {dag_id} parsed", lambda: api.dag(dag_id), timeout=180, interval=3)
    api.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    run_id = api.trigger(dag_id, {})["dag_run_id"]

    def ended():
        if on_running is not None:
            on_running(api, dag_id, run_id)
        state = api.dag_run(dag_id, run_id)["state"]
        return state if state in ("success", "failed") else None

    state = wait_for(f"run {run_id} of {dag_id}", ended, timeout=RUN_TIMEOUT, interval=1)
    tis = api.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
    return {"state": state, "dag_id": dag_id, "run_id": run_id}, tis["task_instances"]


def rows_of(stack, agency: str, path_suffix: str) -> dict[str, list[tuple]]:
    """Each entity's rows that the agency's upload of the file wrote, without the per-load columns."""
    engine = sa.create_engine(stack.target_url())
    skip = {"id", "agency", "upload_id", "template", "created_at", "updated_at"}
    out = {}
    with engine.connect() as conn:
        uploads = [
            r[0]
            for r in conn.execute(
                sa.text("select id from uploads where agency = :a and path like :p"),
                {"a": agency, "p": f"%{path_suffix}"},
            )
        ]
        for entity in ENTITIES:
            table = TABLE_NAMES[entity]  # "case" is stored in case_record
            columns = [c["name"] for c in sa.inspect(conn).get_columns(table) if c["name"] not in skip]
            select = ", ".join(f'"{c}"' for c in columns)
            out[entity] = [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        f'select {select} from "{table}" where agency = :a and upload_id = any(:u) '
                        "order by natural_key"
                    ),
                    {"a": agency, "u": uploads},
                )
            ]
    engine.dispose()
    return out


def target_rows(stack, sql: str, **params) -> list[tuple]:
    """Rows of one query on the stack's target database."""
    engine = sa.create_engine(stack.target_url())
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql), params)]
    engine.dispose()
    return rows


def ledger_rows(stack, agency: str, name: str) -> list[tuple]:
    """(path, status, finished_at) of the agency's uploads of one file."""
    sql = "select path, status, finished_at from uploads where agency = :a and path like :p"
    return target_rows(stack, sql, a=agency, p=f"%/{name}")


def ledger(stack, agency: str) -> list[tuple]:
    sql = "select path, status, rows_loaded from uploads where agency = :a order by path"
    return target_rows(stack, sql, a=agency)


# The drop box's own guarantees (key logins, no links, agencies apart) are tested on the running
# image by tests/deploy/test_dropbox.py, in `make test`.


# -- real traffic through two workers --------------------------------------------------------


def test_uploads_are_loaded_through_both_workers(stack):
    # Two files, six stages each: twelve tasks for two workers with two slots each.
    files = {DEMO.name: DEMO.read_bytes(), BIG_NAME: hearings_file(BIG_ROWS, 500000)}
    upload(stack, "agencya", files)
    started = time.monotonic()
    run, tis = run_profile(stack, "agencya")
    stack.timings["clean run"] = time.monotonic() - started
    assert run["state"] == "success", [(t["task_id"], t["rendered_map_index"], t["state"]) for t in tis]

    loaded = {path.rsplit("/", 1)[-1]: (status, count) for path, status, count in ledger(stack, "agencya")}
    assert set(loaded) == set(files)
    assert all(status == "loaded" for status, _ in loaded.values()), loaded
    assert loaded[BIG_NAME][1] == BIG_ROWS

    sftp = stack.sftp("agencya")
    try:
        assert sftp.listdir("/drop") == []
        assert set(sftp.listdir("/processed")) >= set(files)
        acks = sftp.listdir("/acks")
    finally:
        close_sftp(sftp)
    for name in files:
        assert any(ack.startswith(name.rsplit(".", 1)[0]) for ack in acks), (name, acks)

    workers = stack.worker_hostnames()
    per_file: dict[str, set[str]] = {}
    for ti in tis:
        assert ti["hostname"], ti
        if ti["task_id"].startswith("file."):
            per_file.setdefault(ti["rendered_map_index"], set()).add(ti["hostname"])
    used = {ti["hostname"] for ti in tis}
    assert used == set(workers), (used, workers)
    assert any(len(hosts) >= 2 for hosts in per_file.values()), per_file


def test_a_worker_killed_mid_load_loses_and_duplicates_nothing(stack):
    upload(stack, "agencyb", {BIG_NAME: hearings_file(BIG_ROWS, 500000)})
    killed = {}

    def kill_during_load(api, dag_id, run_id):
        if killed:
            return
        tis = api.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
        for ti in tis["task_instances"]:
            if ti["task_id"] == "file.load" and ti["state"] == "running" and ti["hostname"]:
                container = stack.worker_hostnames()[ti["hostname"]]
                stack.docker("kill", container)
                killed.update(hostname=ti["hostname"], container=container, at=time.monotonic())

    started = time.monotonic()
    run, tis = run_profile(stack, "agencyb", on_running=kill_during_load)
    stack.timings["killed run"] = time.monotonic() - started
    assert killed, "the load never ran while the test watched"
    assert run["state"] == "success", [(t["task_id"], t["state"], t["try_number"]) for t in tis]
    load = next(t for t in tis if t["task_id"] == "file.load")
    assert load["try_number"] >= 2, load  # the killed try, then the one that loaded

    # Exactly once: one ledger row, loaded, every row; the tables equal agency A's clean run.
    assert [(p.rsplit("/", 1)[-1], s, n) for p, s, n in ledger(stack, "agencyb")] == [
        (BIG_NAME, "loaded", BIG_ROWS)
    ]
    clean, after_kill = rows_of(stack, "agencya", BIG_NAME), rows_of(stack, "agencyb", BIG_NAME)
    for entity in ENTITIES:
        assert len(after_kill[entity]) == len(clean[entity]) > 0, entity
        assert after_kill[entity] == clean[entity], entity


# -- pickup: loaded within two minutes of landing, with the default profile settings ----------


def test_a_file_dropped_at_a_random_moment_is_picked_up_within_two_minutes(stack):
    api = stack.api()
    dag_id = f"courtfeed__{WATCHED_PROFILE}"
    wait_for(f"DAG {dag_id} parsed", lambda: api.dag(dag_id), timeout=180, interval=3)
    api.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    time.sleep(random.uniform(5, 25))  # a random moment within the watch's 20 s listing cycle
    assert api.request("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"] == []  # idle: no runs

    name = "metro_calendar_20261130.txt"
    landed = time.time()
    upload(stack, "agencya", {name: DEMO.read_bytes()})

    def queued():
        runs = api.request("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]
        return runs[0] if runs else None

    run = wait_for(f"a run of {dag_id}", queued, timeout=PICKUP_SLA_SECONDS + 60, interval=1)
    picked_up = datetime.fromisoformat(run["queued_at"].replace("Z", "+00:00")).timestamp() - landed

    def loaded():
        return [r for r in ledger_rows(stack, "agencya", name) if r[1] == "loaded"] or None

    ((_, _, finished_at),) = wait_for(f"{name} loaded", loaded, timeout=RUN_TIMEOUT, interval=2)
    stack.timings["landing -> run queued"] = picked_up
    stack.timings["landing -> loaded"] = finished_at.timestamp() - landed
    assert run["run_type"] == "asset_triggered", run
    assert picked_up < PICKUP_SLA_SECONDS, picked_up


# -- teardown ----------------------------------------------------------------------------------


def test_teardown_removes_everything(stack):
    leftovers = stack.teardown()
    assert leftovers == [], leftovers
