"""A file of 3,000,000 ragged lines through a profile DAG (dag.test(), every task in one process):
the run's peak RSS stays under 400 MiB, the ledger keeps the first 10,000 rejects in full and
counts the other 2,990,000 by rule, and the acknowledgement delivered back says so."""

from __future__ import annotations

import csv
import json
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

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


@pytest.fixture
def ragged_feed(tmp_path: Path, sshd, pg_url: str, migrated_airflow: str):
    user = next(u for u, acc in sshd.users.items() if acc.private_key)
    drop = sshd.drop_dir(user)
    subprocess.run(["rm", "-rf", str(drop / "ragged")], check=True)
    (drop / "ragged").mkdir()
    generate_ragged(drop / "ragged" / "ragged_export.txt", LINES)
    sshd.chown_to(user, drop / "ragged")
    old = time.time() - 3600
    import os

    os.utime(drop / "ragged" / "ragged_export.txt", (old, old))
    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    (include / "templates" / "ragged.yaml").write_text(TEMPLATE)
    profile = {
        "name": "e2e_ragged",
        "agency": "metro-county",
        "source": {
            "connection": "sftp_e2e",
            "directory": str(drop / "ragged"),
            "min_age_seconds": 0,
            "wait_for_stable_size": False,
            "poke_interval_seconds": 1,
            "wait_timeout_seconds": 8,
        },
        "template": "ragged",
        "after_load": "keep",
        "reports_directory": str(drop / "ragged" / "acks"),
    }
    import yaml

    (include / "profiles" / "e2e_ragged.yaml").write_text(yaml.safe_dump(profile))
    env = dag_env(
        migrated_airflow, include, tmp_path, pg_url, {"sftp_e2e": sshd.airflow_connection_json(user)}
    )
    yield {"env": env, "drop": drop / "ragged", "pg_url": pg_url}
    subprocess.run(["rm", "-rf", str(drop / "ragged")], check=True)


def test_3_million_ragged_lines_through_a_dag_stay_bounded(ragged_feed):
    result = run_dag(ragged_feed["env"], "courtfeed__e2e_ragged")

    assert result["state"] == "success", result
    assert result["peak_mib"] < PEAK_LIMIT_MIB, f"dag.test peaked at {result['peak_mib']} MiB"
    engine = sa.create_engine(ragged_feed["pg_url"])
    with engine.connect() as conn:
        upload = conn.execute(
            sa.text("select id, status, rows_read, rows_rejected, rejects_more from uploads")
        ).one()
        stored = conn.execute(
            sa.text("select row, rule from upload_rejects where upload_id = :u order by row"),
            {"u": upload.id},
        ).all()
    engine.dispose()
    assert (upload.status, upload.rows_read, upload.rows_rejected) == ("rejected", LINES, LINES)
    assert len(stored) == KEPT
    assert [r.row for r in stored] == list(range(2, KEPT + 2))  # the first rows of the file, in order
    assert {r.rule for r in stored} == {"ragged_row"}
    assert json.loads(upload.rejects_more) == {"ragged_row": LINES - KEPT}

    (ack_json,) = (ragged_feed["drop"] / "acks").glob("*.ack.json")
    ack = json.loads(ack_json.read_text())
    assert len(ack["rejects"]) == KEPT and ack["rejects_total"] == LINES
    assert ack["rejects_more"] == {"ragged_row": LINES - KEPT}
    (ack_csv,) = (ragged_feed["drop"] / "acks").glob("*.rejects.csv")
    with ack_csv.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + KEPT + 1  # header, the kept rejects, one line for the rest
    assert rows[-1][3] == "and 2,990,000 more ragged_row"
