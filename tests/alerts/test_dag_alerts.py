"""Alerts end to end through Airflow: dag.test() runs of the profile and monitor DAGs mail the
local SMTP server through the real SmtpNotifier, and no log or mail carries a row value or secret."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from courtfeed.target import ledger
from courtfeed.target.db import engine_for, migrate
from tests.e2e.feeds import target_connection_json

REPO = Path(__file__).resolve().parents[2]
HEARINGS = REPO / "include" / "demo" / "metro_hearings_20261128.txt"
TEMPLATE = REPO / "include" / "templates" / "metro_hearings.yaml"

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def run_dag(env: dict, dag_id: str, *options: str) -> tuple[dict, str]:
    """dag.test() in a subprocess; returns the RESULT json and everything the process printed."""
    args = [sys.executable, str(REPO / "tests" / "alerts" / "run_dag.py"), dag_id, *options]
    # generous: a loaded CI machine runs the whole DAG in dag.test() well under this
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"dag.test failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT ") :]), proc.stdout + proc.stderr


def write_include(root: Path, *profiles: dict) -> Path:
    include = root / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    (include / "templates" / "metro_hearings.yaml").write_text(TEMPLATE.read_text())
    for p in profiles:
        (include / "profiles" / f"{p['name']}.yaml").write_text(yaml.safe_dump(p))
    return include


def base_env(airflow_home: str, include: Path, staging: Path, smtp_server) -> dict:
    return {
        **os.environ,
        "AIRFLOW_HOME": airflow_home,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "COURTFEED_INCLUDE": str(include),
        "COURTFEED_STAGING": str(staging),
        "AIRFLOW_CONN_COURTFEED_SMTP": json.dumps(smtp_server.airflow_connection()),
    }


def hearings_profile(name: str, connection: str, directory: str, **extra) -> dict:
    return {
        "name": name,
        "agency": "metro-county",
        "source": {
            "connection": connection,
            "directory": directory,
            "keywords": ["hearings"],
            "min_age_seconds": 60,
            "wait_for_stable_size": False,
            "poke_interval_seconds": 1,
            "wait_timeout_seconds": 5,
        },
        "template": "metro_hearings",
        "timezone": "America/Chicago",
        "alerts": {"email": ["ops@metro.example"]},
        **extra,
    }


# --- a profile run over PII-bearing files: one loads, one is rejected -------------------------------
# Row values of the broken file: a valid header, but no row has a usable hearing date, so the file
# is rejected as a whole (over the template's reject threshold).
BROKEN_ROWS = [
    ("D900001", "Zebulon", "Quixote", "03/14/1971", "(312) 555-0142", "zebulon.quixote@mail.example"),
    ("D900002", "Philippa", "Wexford", "11/02/1988", "773-555-0188", "philippa.w@mail.example"),
    ("D900003", "Ignatius", "Thornbury", "07/30/1959", "8475550123", "ignatius.t@mail.example"),
]


def broken_file() -> bytes:
    header = HEARINGS.read_text(encoding="utf-8").splitlines()[0]
    lines = [header]
    for i, (ref, first, last, dob, phone, email) in enumerate(BROKEN_ROWS):
        lines.append(
            f"{ref}|{first}|{last}|{dob}|{phone}|{email}|26-CR-1000{i}|H99990{i}|"
            f"sometime soon|10:15 AM|Courtroom 2A|Hon. A. Rivera|TRIAL|SCHEDULED"
        )
    return ("\n".join(lines) + "\n").encode()


def pii_values() -> set[str]:
    """Names, phones (raw and E.164), dates of birth (as written and ISO) and emails of both files."""
    rows = [line.split("|") for line in HEARINGS.read_text(encoding="utf-8").splitlines()[1:]]
    rows += [list(r) for r in BROKEN_ROWS]
    values: set[str] = set()
    for r in rows:
        first, last, dob, phone, email = r[1], r[2], r[3], r[4], r[5]
        values |= {first, last, f"{first} {last}", email, phone}
        digits = re.sub(r"\D", "", phone)
        national = digits[-10:]
        values |= {national, f"+1{national}"}
        month, day, year = dob.split("/")
        values |= {dob, f"{year}-{month}-{day}"}
    return {v for v in values if v}


def leaks(text: str, secrets: set[str]) -> set[str]:
    """The values found in text; names as whole words, so "Lee" does not match "sleep"."""
    return {v for v in secrets if re.search(rf"(?<![\w@.+]){re.escape(v)}(?![\w@])", text)}


@pytest.fixture(scope="module")
def rejected_run(tmp_path_factory, sshd, postgres, smtp_server, migrated_airflow):
    """One profile DAG run over the demo hearings (PII) and a broken PII file, with the password user."""
    tmp = tmp_path_factory.mktemp("rejected_run")
    user = next(u for u, acc in sshd.users.items() if acc.password)
    drop = sshd.drop_dir(user)
    for child in drop.iterdir():
        subprocess.run(["rm", "-rf", str(child)], check=True)
    old = time.time() - 3600
    sshd.put_file(user, "in/metro_hearings_20261128.txt", HEARINGS.read_bytes(), mtime=old)
    sshd.put_file(user, "in/metro_hearings_broken.txt", broken_file(), mtime=old)
    include = write_include(tmp, hearings_profile("alert_hearings", "sftp_alerts", str(drop / "in")))
    db_url = sa.engine.make_url(postgres.create_database(f"t_alerts_{os.getpid()}"))
    env = {
        **base_env(migrated_airflow, include, tmp / "staging", smtp_server),
        "AIRFLOW_CONN_SFTP_ALERTS": sshd.airflow_connection_json(user),
        "AIRFLOW_CONN_COURTFEED_TARGET": target_connection_json(db_url.render_as_string(hide_password=False)),
    }
    logs = Path(migrated_airflow) / "logs"
    started = time.time()
    smtp_server.clear()
    result, output = run_dag(env, "courtfeed__alert_hearings")
    mails = list(smtp_server.messages)
    meta = sa.create_engine(f"sqlite:///{Path(migrated_airflow) / 'airflow.db'}")
    with meta.connect() as conn:
        xcoms = conn.execute(
            sa.text("select task_id, map_index, value from xcom where dag_id = 'courtfeed__alert_hearings'")
        ).all()
    meta.dispose()
    yield {
        "result": result,
        "output": output,
        "xcoms": {(r.task_id, r.map_index): str(r.value) for r in xcoms},
        "mails": mails,
        "logs": logs,
        "started": started,
        "secrets": {sshd.users[user].password, db_url.password},
    }
    postgres.drop_database(db_url.database)


def test_rejected_file_mails_profile_file_reason_and_log_link(rejected_run):
    result = rejected_run["result"]
    assert result["state"] == "success", result
    finalized = {t["rendered"]: t["state"] for t in result["tasks"] if t["task_id"] == "file.finalize"}
    assert finalized == {"metro_hearings_20261128.txt": "success", "metro_hearings_broken.txt": "success"}
    mails = rejected_run["mails"]
    assert [m.subject for m in mails] == [
        "[courtfeed] alert_hearings: file metro_hearings_broken.txt was rejected"
    ]
    mail = mails[0]
    assert mail.rcpt_tos == ["ops@metro.example"]
    body = mail.body_text()
    assert "alert_hearings" in body and "metro_hearings_broken.txt" in body
    assert re.search(r"Reason</th><td>[^<]*reject", body), (
        body
    )  # the ledger's reason, e.g. over the threshold
    link = re.search(r'href="([^"]+)"', body).group(1)
    assert "/dags/courtfeed__alert_hearings/runs/" in link and "/tasks/file.finalize/mapped/" in link
    assert not leaks(str(mail.message), pii_values()), "row values in the alert mail"


def test_no_row_value_or_secret_in_any_log(rejected_run):
    """Every task log file under $AIRFLOW_HOME/logs and all the run printed are clean."""
    files = [
        p
        for p in rejected_run["logs"].rglob("*")
        if p.is_file() and p.stat().st_mtime >= rejected_run["started"] - 1
    ]
    texts = {str(p): p.read_text(encoding="utf-8", errors="replace") for p in files}
    texts["dag.test output"] = rejected_run["output"]
    # what the tasks handed each other (XCom): counts and references, never a cell
    xcoms = rejected_run["xcoms"]
    assert {"file.read", "file.map", "file.load"} <= {task for task, _index in xcoms}
    texts |= {f"xcom {task}[{index}]": value for (task, index), value in xcoms.items()}
    # dag.test() runs the tasks in its own process and their logs go to its output, not to files;
    # the task logs must be in what is scanned, or a clean scan proves nothing
    everything = "".join(texts.values())
    assert "after read: status ok, read 250" in everything and "alert for alert_hearings sent" in everything
    assert leaks(f"x {BROKEN_ROWS[0][1]} y", pii_values())  # and the scan does find a value
    secrets = pii_values() | {s for s in rejected_run["secrets"] if s}
    found = {where: sorted(leaks(text, secrets)) for where, text in texts.items()}
    assert not {where: values for where, values in found.items() if values}


# --- a task that fails: the SFTP server is unreachable ------------------------------------------------
UNREACHABLE_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPtK1o9EsYUSFDGLe8ejLDvXx1AMBxKDYzFLyCnkXIwV"


def test_failing_task_mails_task_and_error(tmp_path, smtp_server, migrated_airflow):
    include = write_include(tmp_path, hearings_profile("alert_down", "sftp_down", "/in"))
    dead = {
        "conn_type": "sftp",
        "host": "127.0.0.1",
        "port": 1,
        "login": "nobody",
        "password": "not-used-123",
        # pinned (an unpinned connection is refused before connecting); nothing answers on port 1
        "extra": {"host_key": UNREACHABLE_HOST_KEY, "conn_timeout": 3},
    }
    env = {
        **base_env(migrated_airflow, include, tmp_path / "staging", smtp_server),
        "AIRFLOW_CONN_SFTP_DOWN": json.dumps(dead),
        # The tasks need the target connection (there is no fallback).
        "AIRFLOW_CONN_COURTFEED_TARGET": json.dumps(
            {"conn_type": "sqlite", "host": str(tmp_path / "target.db")}
        ),
    }
    smtp_server.clear()
    result, _ = run_dag(env, "courtfeed__alert_down", "--no-retries")
    assert result["state"] == "failed", result
    assert [t["state"] for t in result["tasks"] if t["task_id"] == "list_new_files"] == ["failed"]
    (mail,) = smtp_server.messages
    assert mail.subject == "[courtfeed] alert_down: task list_new_files failed"
    body = mail.body_text()
    assert "SourceError: SFTP connection &#x27;sftp_down&#x27;: connect" in body
    assert "/dags/courtfeed__alert_down/runs/" in body and "/tasks/list_new_files" in body
    assert "not-used-123" not in body


# --- the monitor DAG ------------------------------------------------------------------------------
def test_monitor_dag_mails_the_late_profile_only(tmp_path, smtp_server, migrated_airflow):
    late = hearings_profile("late_feed", "sftp_x", "/in")
    on_time = hearings_profile("on_time_feed", "sftp_x", "/in")
    late["alerts"]["expected_by"] = on_time["alerts"]["expected_by"] = "06:30"
    include = write_include(tmp_path, late, on_time)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    engine = engine_for(target_url)
    migrate(engine)
    with engine.begin() as conn:  # on_time_feed loaded a file at 05:10 Chicago time that day
        ledger.start_upload(
            conn,
            upload_id="u1",
            profile="on_time_feed",
            agency="a",
            template="t",
            source="s",
            path="/in/f.txt",
            size=1,
            mtime=datetime(2026, 11, 30, tzinfo=UTC),
            sha256="x",
        )
        ledger.finish_upload(conn, "u1", status="loaded", rows_read=10)
        conn.execute(sa.text("update uploads set finished_at = :t"), {"t": datetime(2026, 11, 30, 11, 10)})
    engine.dispose()
    env = {
        **base_env(migrated_airflow, include, tmp_path / "staging", smtp_server),
        "AIRFLOW_CONN_COURTFEED_TARGET": json.dumps(
            {"conn_type": "sqlite", "host": str(tmp_path / "target.db")}
        ),
    }
    smtp_server.clear()
    # the 06:30 Chicago tick (12:30 UTC): the run whose window holds the deadline
    result, _ = run_dag(env, "courtfeed_monitor", "--logical-date", "2026-11-30T12:30:00+00:00")
    assert result["state"] == "success", result
    (mail,) = smtp_server.messages
    assert mail.subject == "[courtfeed] no new file for late_feed by 06:30 America/Chicago"
    assert mail.rcpt_tos == ["ops@metro.example"]
