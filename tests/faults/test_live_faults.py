"""Faults in a real Airflow run (`airflow standalone`, LocalExecutor, PostgreSQL metadata):
seven files in one run, hit by nine faults, must end exactly like a clean run.

- six files: the task process is SIGKILLed once in fetch, read, validate, map, load (with the
  COPY sent and uncommitted) and finalize (after the remote side was done); two of them once
  more in load, between the two phases of its commit: with every entity's branch prepared and
  the ledger row not committed, and with the ledger row committed and the branches not yet;
- the target PostgreSQL server is restarted (immediate mode) in the middle of one file's load
  (the file killed at fetch);
- the SFTP server (sshd) is stopped when one file's download starts (the file killed at read),
  and back a few seconds later;
- one file: its load fails every time (no retry cures it);
- one file: its fetch is SIGKILLed on every attempt, so no task records how it ended.

After the retries the target's tables equal, row for row, those of a clean `courtfeed ingest`
of the six good files, and the ledger holds one settled (loaded) row per file: nothing lost,
nothing doubled. The last two are parked: `failed` with their attempts, one alert mail each (the
killed one by the file group's teardown, pipeline/settle.py), the remote files left in place,
and the next run does not fetch them again. The faults come from
courtfeed.faults (test-only environment variables).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from courtfeed.config.files import resolve_template
from courtfeed.pipeline.run import ingest
from tests.e2e.feeds import include_with, target_connection_json
from tests.e2e.live_airflow import start_live_airflow
from tests.services import start_postgres, start_sshd

REPO = Path(__file__).resolve().parents[2]
HEARINGS = (
    (REPO / "include" / "demo" / "metro_hearings_20261128.txt").read_text(encoding="utf-8").splitlines()
)
DAG_ID = "courtfeed__fault_matrix"
KILLED = {"fetch": "f1", "read": "f2", "validate": "f3", "map": "f4", "load": "f5", "finalize": "f6"}
# And between the phases of the load's commit (target/branches.py): f3 with its branches
# prepared, f4 after its ledger row committed.
KILLED |= {"prepared": "f3", "committed": "f4"}
PG_RESTART, SSHD_STOP, BROKEN, ALWAYS_KILLED = "f1", "f2", "f9", "f7"  # f1 and f2 take two faults each
PARKED = (BROKEN, ALWAYS_KILLED)
VOLATILE = {"id", "upload_id", "created_at", "updated_at"}

# Part of `make test`; `make fault-test` runs it alone.
pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.fault_matrix]


def name(stem: str) -> str:
    return f"metro_hearings_{stem}.txt"


def content(index: int) -> bytes:
    rows = HEARINGS[1 + index * 30 : 1 + (index + 1) * 30]
    return ("\n".join([HEARINGS[0], *rows]) + "\n").encode()


def restart_postgres(pg) -> None:
    # The restarted server inherits pg_ctl's output: give it the server log, not a pipe that
    # would keep this call waiting for as long as the server runs.
    with open(pg.log_path, "ab") as log:
        out = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(pg.bin_dir / "pg_ctl"), "-D", str(pg.data_dir)]
            + ["-m", "immediate", "-w", "-t", "60", "restart"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
    assert out.returncode == 0, pg.log_path.read_text()[-2000:]


def stop_sshd(sshd) -> None:
    from tests.services._process import stop_process

    stop_process(sshd._proc, grace_seconds=1)  # the server and, in its process group, its sessions


def start_sshd_again(sshd) -> None:
    """The same sshd (same config, port and host key) back up."""
    from tests.services.sshd import SSHD

    with open(sshd.log_path, "ab") as log:
        sshd._proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(sshd.base_dir / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def wait_for(path: Path, timeout: float) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert time.time() < deadline, f"{path.name} not reached within {timeout}s"
        time.sleep(0.5)


def entity_rows(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in ("client", "contact", "case_record", "event", "payment"):
                columns = [
                    c["name"]
                    for c in sa.inspect(conn).get_columns(table)
                    if c["name"] not in VOLATILE and not c["name"].endswith("_id")
                ]
                select = ", ".join(f'"{c}"' for c in columns)
                out[table] = sorted(
                    tuple(map(str, row)) for row in conn.execute(sa.text(f"select {select} from {table}"))
                )
            return out
    finally:
        engine.dispose()


@pytest.fixture
def faults_env(tmp_path: Path, postgres, pg_url: str, smtp_server):
    # Its own server, restarted mid-load: durable, as in production (see start_postgres).
    target_pg = start_postgres(durable=True)
    sshd = start_sshd()  # likewise: this one gets stopped
    try:
        user = next(u for u, acc in sshd.users.items() if acc.private_key)
        drop = sshd.drop_dir(user) / "in"
        old = time.time() - 3600
        stems = [*dict.fromkeys(KILLED.values()), ALWAYS_KILLED, BROKEN]
        for index, stem in enumerate(stems):
            sshd.put_file(user, f"in/{name(stem)}", content(index), mtime=old)
        profile = {
            "name": "fault_matrix",
            "agency": "metro-county",
            "source": {
                "connection": "sftp_faults",
                "directory": str(drop),
                "keywords": ["hearings"],
                "min_age_seconds": 0,
                "wait_for_stable_size": False,
                "poke_interval_seconds": 2,
                "wait_timeout_seconds": 30,
            },
            "template": "metro_hearings",
            "timezone": "America/Chicago",
            # Manual runs only: a watched folder (the default pickup) would start its own run for
            # the same files beside the one the test triggers.
            "pickup": "schedule",
            "schedule": None,
            "after_load": "keep",
            "retries": 3,
            "retry_delay_seconds": 1,
            "execution_timeout_minutes": 10,
            "alerts": {"email": ["ops@metro.example"]},
        }
        include = include_with(tmp_path, profile)
        faults = tmp_path / "faults"
        faults.mkdir()
        target_url = target_pg.create_database("target")
        env = {
            "COURTFEED_INCLUDE": str(include),
            "COURTFEED_STAGING": str(tmp_path / "staging"),
            "AIRFLOW_CONN_SFTP_FAULTS": sshd.airflow_connection_json(user),
            "AIRFLOW_CONN_COURTFEED_TARGET": target_connection_json(target_url),
            "COURTFEED_FAULT_KILL": ",".join(f"{stage}:{name(stem)}" for stage, stem in KILLED.items()),
            "COURTFEED_FAULT_PAUSE": f"load:{name(PG_RESTART)},download:{name(SSHD_STOP)}",
            "COURTFEED_FAULT_FAIL": f"load:{name(BROKEN)}",
            "COURTFEED_FAULT_KILL_ALWAYS": f"fetch:{name(ALWAYS_KILLED)}",
            "COURTFEED_FAULT_DIR": str(faults),
            "AIRFLOW_CONN_COURTFEED_SMTP": json.dumps(smtp_server.airflow_connection()),
            # Eight task processes parse the DAG file at once on a small shared machine.
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
        }
        smtp_server.clear()
        meta = postgres.create_database("airflow_faults_meta")
        airflow = start_live_airflow(tmp_path / "airflow", meta, env)
        try:
            yield {
                "airflow": airflow,
                "faults": faults,
                "target_pg": target_pg,
                "target_url": target_url,
                "sshd": sshd,
                "files": {stem: drop / name(stem) for stem in stems},
                "clean_url": pg_url,
                "smtp": smtp_server,
            }
        finally:
            airflow.stop()
            postgres.drop_database("airflow_faults_meta")
    finally:
        sshd.stop()
        target_pg.stop()


def test_every_fault_ends_like_a_clean_run(faults_env, tmp_path: Path):
    af, faults = faults_env["airflow"], faults_env["faults"]
    af.wait_for_dag(DAG_ID)
    af.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    af.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {}})

    # The SFTP server goes away as one download starts, and comes back a few seconds later.
    wait_for(faults / f"download.{name(SSHD_STOP)}.paused", 900)
    stop_sshd(faults_env["sshd"])
    (faults / f"download.{name(SSHD_STOP)}.go").touch()
    time.sleep(4)
    start_sshd_again(faults_env["sshd"])

    # The target database restarts while one file's COPY is sent and not committed.
    wait_for(faults / f"load.{name(PG_RESTART)}.paused", 900)
    restart_postgres(faults_env["target_pg"])
    (faults / f"load.{name(PG_RESTART)}.go").touch()

    (run,) = af.wait_for_runs(DAG_ID, 1, timeout=1500)
    # The run fails: one file could not be loaded. Every other file went through.
    assert run["state"] == "failed", af.log_tail()
    for stage, stem in KILLED.items():  # each fault really happened
        assert (faults / f"{stage}.{name(stem)}.killed").exists(), stage

    # A clean run of the same files, outside Airflow, into another database.
    clean = tmp_path / "clean"
    clean.mkdir()
    template = resolve_template(str(REPO / "include" / "templates" / "metro_hearings.yaml"))
    for stem, remote in faults_env["files"].items():
        if stem in PARKED:
            continue
        local = clean / remote.name
        local.write_bytes(remote.read_bytes())
        out = ingest(
            local, template, faults_env["clean_url"], agency="metro-county", timezone="America/Chicago"
        )
        assert out["status"] == "loaded", (stem, out["message"])

    faulted, expected = entity_rows(faults_env["target_url"]), entity_rows(faults_env["clean_url"])
    differences = {
        table: {
            "rows": (len(faulted[table]), len(expected[table])),
            "only_after_faults": sorted(set(faulted[table]) - set(expected[table]))[:3],
            "only_in_clean_run": sorted(set(expected[table]) - set(faulted[table]))[:3],
        }
        for table in expected
        if faulted[table] != expected[table]
    }
    assert not differences, json.dumps(differences, indent=1)
    engine = sa.create_engine(faults_env["target_url"])
    try:
        with engine.connect() as conn:
            ledger = conn.execute(sa.text("select path, status, attempts from uploads order by path")).all()
    finally:
        engine.dispose()
    retries = 3
    assert [(Path(p).name, s, a if s == "failed" else None) for p, s, a in ledger] == [
        (name(stem), "failed", retries + 1) if stem in PARKED else (name(stem), "loaded", None)
        for stem in sorted(faults_env["files"])
    ], json.dumps([list(map(str, r)) for r in ledger])
    assert all(faults_env["files"][stem].exists() for stem in PARKED)  # left there, for a reprocess
    alerts = [m.subject for m in faults_env["smtp"].messages]
    assert [s for s in alerts if "load failed" in s] == [
        f"[courtfeed] fault_matrix: task file.load failed for {name(BROKEN)}"
    ]
    # The killed fetch never ran its failure callback: the teardown parked the file and told us.
    # (It also parks, and tells, the broken file when its last failure could not be recorded:
    # the target is restarted during this run, and may be down at that very moment.)
    parked = [s for s in alerts if "parked" in s]
    assert parked.count(f"[courtfeed] fault_matrix: file {name(ALWAYS_KILLED)} was parked") == 1, alerts
    assert set(parked) <= {f"[courtfeed] fault_matrix: file {name(stem)} was parked" for stem in PARKED}, (
        alerts
    )
    assert not [s for s in alerts if "clean_staging" in s], alerts

    # The next run finds nothing new: the parked file is not fetched, failed and alerted again.
    af.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {}})
    runs = af.wait_for_runs(DAG_ID, 2, timeout=300)
    assert all(r["state"] == "success" for r in runs if r["dag_run_id"] != run["dag_run_id"]), runs
    engine = sa.create_engine(faults_env["target_url"])
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from uploads")).scalar() == len(ledger)
    finally:
        engine.dispose()
    assert [m.subject for m in faults_env["smtp"].messages] == alerts
