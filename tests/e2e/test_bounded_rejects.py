"""A file of 3,000,000 ragged lines through a profile DAG (dag.test(), every task in one process):
the ledger keeps the first 10,000 rejects in full and counts the other 2,990,000 by rule, the
acknowledgement delivered back says so, and the run's peak RSS stays under 400 MiB."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
import uuid

import pytest
import sqlalchemy as sa
import yaml

from bench.generate import generate_ragged
from tests.e2e.feeds import dag_env, run_dag

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

LINES = 3_000_000
KEPT = 10_000  # the template's rejects_kept default
PEAK_LIMIT_MIB = 400

TEMPLATE = """\
name: ragged
format: {delimiter: "|"}
fields:
  client.reference: {column: A}
"""


@pytest.fixture(scope="module")
def ragged_run(tmp_path_factory, sshd, postgres, migrated_airflow: str):
    """One DAG run over the 3,000,000-line file (a few minutes): its result and the target's URL."""
    user = next(u for u, acc in sshd.users.items() if acc.private_key)
    drop = sshd.drop_dir(user) / "ragged"
    subprocess.run(["rm", "-rf", str(drop)], check=True)
    generate_ragged(drop / "ragged_export.txt", LINES)
    old = time.time() - 3600
    os.utime(drop / "ragged_export.txt", (old, old))
    sshd.chown_to(user, drop)
    tmp_path = tmp_path_factory.mktemp("ragged-dag")
    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    (include / "templates" / "ragged.yaml").write_text(TEMPLATE)
    profile = {
        "name": "e2e_ragged",
        "agency": "metro-county",
        "source": {
            "connection": "sftp_e2e",
            "directory": str(drop),
            "min_age_seconds": 0,
            "wait_for_stable_size": False,
            "poke_interval_seconds": 1,
            "wait_timeout_seconds": 8,
        },
        "template": "ragged",
        "after_load": "keep",
        "reports_directory": str(drop / "acks"),
    }
    (include / "profiles" / "e2e_ragged.yaml").write_text(yaml.safe_dump(profile))
    database = f"t_ragged_{uuid.uuid4().hex[:12]}"
    pg_url = postgres.create_database(database)
    env = dag_env(
        migrated_airflow, include, tmp_path, pg_url, {"sftp_e2e": sshd.airflow_connection_json(user)}
    )
    try:
        yield {"result": run_dag(env, "courtfeed__e2e_ragged"), "pg_url": pg_url, "acks": drop / "acks"}
    finally:
        postgres.drop_database(database)
        subprocess.run(["rm", "-rf", str(drop)], check=True)


def test_the_ledger_and_the_acknowledgement_keep_10000_and_count_the_rest(ragged_run):
    assert ragged_run["result"]["state"] == "success", ragged_run["result"]
    engine = sa.create_engine(ragged_run["pg_url"])
    with engine.connect() as conn:
        upload = conn.execute(
            sa.text("select id, status, rows_read, rows_rejected, rejects_more from uploads")
        ).one()
        stored = conn.execute(
            sa.text("select row, rule from upload_rejects where upload_id = :u order by id"), {"u": upload.id}
        ).all()
    engine.dispose()
    assert (upload.status, upload.rows_read, upload.rows_rejected) == ("rejected", LINES, LINES)
    assert [r.row for r in stored] == list(range(2, KEPT + 2))  # the first rows of the file, in order
    assert {r.rule for r in stored} == {"ragged_row"}
    assert json.loads(upload.rejects_more) == {"ragged_row": LINES - KEPT}
    assert len(stored) + sum(json.loads(upload.rejects_more).values()) == upload.rows_rejected

    (ack_json,) = ragged_run["acks"].glob("*.ack.json")
    ack = json.loads(ack_json.read_text())
    assert len(ack["rejects"]) == KEPT and ack["rejects_total"] == LINES
    assert ack["rejects_more"] == {"ragged_row": LINES - KEPT}
    (ack_csv,) = ragged_run["acks"].glob("*.rejects.csv")
    with ack_csv.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + KEPT + 1  # the header, the kept rejects, one line for the rest
    assert rows[-1] == ["", "", "", "and 2,990,000 more ragged_row"]


def test_the_dag_run_peaks_under_400_mib(ragged_run):
    """dag.test() runs every task in its one process, so its peak is the run's."""
    assert ragged_run["result"]["state"] == "success", ragged_run["result"]
    assert ragged_run["result"]["peak_mib"] < PEAK_LIMIT_MIB, (
        f"dag.test peaked at {ragged_run['result']['peak_mib']} MiB"
    )
