"""No cell value outside the records: one profile DAG run over PII-bearing
files that take every rejection path (a missing header line, header drift, a header-less jurors
file without a digit, rejected rows, a failed expectation, loads the database refuses with the
row in its error: a trigger, a CHECK constraint's DETAIL, a failed cast), then the ledger and its
rejects, the acknowledgements (local and delivered), the alert e-mails the SMTP server received,
the Slack payloads, the OpenLineage events the provider posted, the task logs, every task's XCom
and the dashboard's pages are scanned for every name, birth date, phone and e-mail of those
files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.alerts.conftest import start_webhook
from tests.alerts.test_dag_alerts import HEARINGS, base_env, hearings_profile, leaks, write_include
from tests.e2e.feeds import target_connection_json

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

HEADER = HEARINGS.read_text(encoding="utf-8").splitlines()[0]
# A last name the target refuses through a trigger whose error message quotes the row: the
# failed-load path, with a database error that carries personal data.
REFUSED_LAST_NAME = "Fairweather"
# A last name whose first name the trigger casts to a date: "invalid input syntax for type date".
CAST_LAST_NAME = "Brightwater"
# First names a CHECK constraint refuses: its DETAIL is "Failing row contains (...)".
CHECKED_FIRST_NAME = "Xanthe"
# A jurors export without its header line and with no digit in its first line.
JURORS = ["SMITH|JOHN|JUROR-A", "HALVORSEN|BRYNJOLF|JUROR-B", "OYELARAN|TEMITOPE|JUROR-C"]
TAGS = {  # file tag -> first name, last name, a phone digit
    "drift": ("Octavia", "Vandermeer", 2),
    "rows": ("Bartholomew", "Pennyworth", 3),
    "expect": ("Cordelia", "Quillfeather", 4),
    "load": ("Evander", REFUSED_LAST_NAME, 5),
    "check": (CHECKED_FIRST_NAME, "Moorcroft", 6),
    "cast": ("Ysolde", CAST_LAST_NAME, 7),
    "latin": ("Zoë", "Ångström", 8),
}


def run_dag(env: dict, dag_id: str, *options: str) -> tuple[dict, str]:
    """dag.test() in a subprocess (five files, every stage: allow for a busy machine)."""
    args = [sys.executable, str(Path(__file__).with_name("run_dag.py")), dag_id, *options]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=1200)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"dag.test failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT ") :]), proc.stdout + proc.stderr


def people(tag: str, n: int = 3) -> list[dict]:
    first, last, digit = TAGS[tag]
    out = []
    for i in range(n):
        out.append(
            {
                "ref": f"D77{tag[:2].upper()}{digit}{i}",
                "first": f"{first}{'abc'[i]}",
                "last": last,
                "dob": f"0{i + 1}/1{i}/19{60 + i}",
                "phone": f"(312) 555-{digit}{i}{i}{i}",
                "email": f"{tag}{i}@mail.example",
            }
        )
    return out


def line(p: dict, *, case_no: str, date: str = "12/24/2026", hearing: str = "H1") -> str:
    return (
        f"{p['ref']}|{p['first']}|{p['last']}|{p['dob']}|{p['phone']}|{p['email']}|{case_no}|"
        f"{hearing}{p['ref']}|{date}|10:15 AM|Courtroom 2A|Hon. A. Rivera|TRIAL|SCHEDULED"
    )


def files() -> dict[str, tuple[str | bytes, list[dict]]]:
    """name -> (content, the people in it)."""
    demo_rows = HEARINGS.read_text(encoding="utf-8").splitlines()[1:]
    demo_people = [
        dict(zip(("ref", "first", "last", "dob", "phone", "email"), r.split("|")[:6], strict=True))
        for r in demo_rows[:40]
    ]
    drift, rows, expect, load = people("drift"), people("rows"), people("expect"), people("load")
    return {
        # the header line is missing: the first line is a defendant's row
        "hearings_noheader.txt": ("\n".join(demo_rows[:40]) + "\n", demo_people),
        # a required column renamed
        "hearings_drift.txt": (
            "\n".join([HEADER.replace("DEF_LNAME", "SURNAME")] + [line(p, case_no="26-CR-1") for p in drift]),
            drift,
        ),
        # every row has an unreadable hearing date: rows rejected, over the threshold
        "hearings_rows.txt": (
            "\n".join([HEADER] + [line(p, case_no="26-CR-2", date=p["dob"] + "x") for p in rows]),
            rows,
        ),
        # case numbers break the template's expectation (regex)
        "hearings_expect.txt": (
            "\n".join([HEADER] + [line(p, case_no=f"{p['last']}-{p['phone']}") for p in expect]),
            expect,
        ),
        # valid rows the target refuses
        "hearings_load.txt": ("\n".join([HEADER] + [line(p, case_no="26-CR-3") for p in load]), load),
        # a jurors export without its header: no digit in its first line, so it reads as a header
        # that lacks the template's columns
        "hearings_jurors.txt": ("\n".join(JURORS), []),
        # valid rows a CHECK constraint refuses, and rows a trigger fails to cast
        **{
            f"hearings_{tag}.txt": ("\n".join([HEADER] + [line(p, case_no=f"26-CR-{n}") for p in who]), who)
            for n, tag in ((4, "check"), (5, "cast"))
            for who in [people(tag)]
        },
        # names in Windows-1252 where UTF-8 is the rule: decoded, and loaded
        "hearings_latin.txt": (
            "\n".join([HEADER] + [line(p, case_no="26-CR-6") for p in people("latin")]).encode("cp1252"),
            people("latin"),
        ),
    }


def pii(everyone: list[dict]) -> set[str]:
    values: set[str] = set()
    for p in everyone:
        values |= {p["first"], p["last"], f"{p['first']} {p['last']}", p["email"], p["phone"], p["ref"]}
        digits = re.sub(r"\D", "", p["phone"])[-10:]
        values |= {digits, f"+1{digits}"}
        month, day, year = p["dob"].split("/")
        values |= {p["dob"], f"{year}-{month}-{day}"}
    values |= {cell for juror in JURORS for cell in juror.split("|")}
    return {v for v in values if v}


@pytest.fixture(scope="module")
def slack_webhook():
    """A Slack incoming-webhook endpoint on loopback that records what it is sent."""
    port, received, server = start_webhook()
    yield port, received
    server.shutdown()


@pytest.fixture(scope="module")
def scanned_run(
    tmp_path_factory, sshd, postgres, smtp_server, migrated_airflow, slack_webhook, openlineage_receiver
):
    port, received = slack_webhook
    tmp = tmp_path_factory.mktemp("pii_scan")
    user = next(u for u, acc in sshd.users.items() if acc.password)
    drop = sshd.drop_dir(user)
    for child in drop.iterdir():
        os.system(f"rm -rf '{child}'")
    old = time.time() - 3600
    everyone: list[dict] = []
    for name, (content, who) in files().items():
        sshd.put_file(
            user, f"in/{name}", content + (b"\n" if isinstance(content, bytes) else "\n"), mtime=old
        )
        everyone += who
    profile = hearings_profile(
        "pii_hearings",
        "sftp_pii",
        str(drop / "in"),
        reports_directory=str(drop / "acks"),
        error_directory=str(drop / "errors"),
    )
    profile["source"]["keywords"] = ["hearings_"]
    profile["alerts"]["slack_connection"] = "slack_pii"
    include = write_include(tmp, profile)

    db_url = sa.engine.make_url(postgres.create_database(f"t_pii_{os.getpid()}"))
    from courtfeed.target.db import engine_for, migrate

    engine = engine_for(db_url.render_as_string(hide_password=False))
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"""
                create function refuse_client() returns trigger language plpgsql as $$
                begin
                  if new.last_name = '{REFUSED_LAST_NAME}' then
                    raise exception 'client % % born % (%) refused', new.first_name, new.last_name,
                      new.dob, new.phone;
                  end if;
                  return new;
                end $$;
                create trigger refuse_client before insert or update on client
                  for each row execute function refuse_client();
                create function cast_client() returns trigger language plpgsql as $$
                begin
                  if new.last_name = '{CAST_LAST_NAME}' then
                    perform new.first_name::date;
                  end if;
                  return new;
                end $$;
                create trigger cast_client before insert or update on client
                  for each row execute function cast_client();
                alter table client add constraint client_first_name_check
                  check (first_name not like '{CHECKED_FIRST_NAME}%');
                """
            )
        )
    engine.dispose()
    env = {
        **base_env(migrated_airflow, include, tmp / "staging", smtp_server),
        "AIRFLOW_CONN_SFTP_PII": sshd.airflow_connection_json(user),
        "AIRFLOW_CONN_COURTFEED_TARGET": target_connection_json(db_url.render_as_string(hide_password=False)),
        "AIRFLOW_CONN_SLACK_PII": json.dumps(
            {"conn_type": "slackwebhook", "host": f"http://127.0.0.1:{port}/services", "password": "T0/B0/X"}
        ),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": openlineage_receiver.transport(),
    }
    openlineage_receiver.clear()
    started = time.time()
    smtp_server.clear()
    result, output = run_dag(env, "courtfeed__pii_hearings", "--no-retries")
    engine = engine_for(db_url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        ledger_rows = [dict(r._mapping) for r in conn.execute(sa.text("select * from uploads"))]
        reject_rows = [dict(r._mapping) for r in conn.execute(sa.text("select * from upload_rejects"))]
    engine.dispose()
    xcoms = run_xcoms(migrated_airflow, "courtfeed__pii_hearings")
    dashboard = dashboard_pages(db_url.render_as_string(hide_password=False), include, ledger_rows)
    logs = [
        p
        for p in (Path(migrated_airflow) / "logs").rglob("*")
        if p.is_file() and p.stat().st_mtime >= started - 1
    ]
    acks = [p for p in [*(tmp / "acks").rglob("*"), *(drop / "acks").rglob("*")] if p.is_file()]
    yield {
        "result": result,
        "texts": {
            "dag.test output (task logs)": output,
            **{f"log {p}": p.read_text(encoding="utf-8", errors="replace") for p in logs},
            "ledger uploads": json.dumps(ledger_rows, default=str),
            "ledger rejects": json.dumps(reject_rows, default=str),
            **{f"ack {p.name}": p.read_text(encoding="utf-8", errors="replace") for p in acks},
            **{f"mail {m.subject}": str(m.message) for m in smtp_server.messages},
            **{f"slack {i}": json.dumps(call["json"]) for i, call in enumerate(received)},
            **{f"openlineage event {i}": json.dumps(e) for i, e in enumerate(openlineage_receiver.events)},
            **{
                f"invalid openlineage event {i}": json.dumps(e)
                for i, (e, _) in enumerate(openlineage_receiver.invalid)
            },
            **{f"xcom {task}[{index}] {key}": value for (task, index, key), value in xcoms.items()},
            **{f"dashboard {page}": text for page, text in dashboard.items()},
        },
        "lineage": list(openlineage_receiver.events),
        "invalid lineage": [problems for _, problems in openlineage_receiver.invalid],
        "xcoms": xcoms,
        "dashboard": dashboard,
        "ledger": ledger_rows,
        "acks": acks,
        "mails": list(smtp_server.messages),
        "slack": list(received),
        "pii": pii(everyone),
    }
    postgres.drop_database(db_url.database)


def run_xcoms(airflow_home: str, dag_id: str) -> dict[tuple, str]:
    """Every XCom the DAG's tasks wrote, from the metadata database dag.test() used."""
    engine = sa.create_engine(f"sqlite:///{Path(airflow_home) / 'airflow.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select task_id, map_index, key, value from xcom where dag_id = :d"), {"d": dag_id}
        ).all()
    engine.dispose()
    return {(r.task_id, r.map_index, r.key): str(r.value) for r in rows}


def dashboard_pages(target_url: str, include: Path, ledger_rows: list[dict]) -> dict[str, str]:
    """The dashboard's pages and JSON over the run's ledger, as a user who may read the DAG sees them."""
    from fastapi.testclient import TestClient

    from courtfeed.web.app import create_app

    paths = [
        "/",
        "/api/summary",
        "/search?status=rejected",
        "/search?status=failed",
        "/api/search?q=hearings",
    ]
    paths += ["/profiles/pii_hearings/recent.svg"]
    for row in ledger_rows:
        paths += [f"/uploads/{row['id']}", f"/api/uploads/{row['id']}"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURTFEED_INCLUDE", str(include))
        client = TestClient(create_app(target_url=target_url))
        pages = {}
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            pages[path] = response.text
    return pages


def test_every_rejection_path_was_taken(scanned_run):
    status = {
        row["path"].rsplit("/", 1)[-1]: (row["status"], row["message"]) for row in scanned_run["ledger"]
    }
    assert status["hearings_noheader.txt"][0] == "rejected"
    assert status["hearings_noheader.txt"][1].startswith(
        "the first line looks like data: the header line is missing"
    )
    assert status["hearings_drift.txt"][0] == "rejected" and "DEF_LNAME" in status["hearings_drift.txt"][1]
    assert status["hearings_rows.txt"][0] == "rejected"
    assert status["hearings_expect.txt"][0] == "rejected"
    assert status["hearings_load.txt"][0] == "failed" and "load failed" in status["hearings_load.txt"][1]
    assert status["hearings_jurors.txt"][0] == "rejected"
    assert status["hearings_jurors.txt"][1].startswith("missing required column(s) 'DEF_ID'")
    assert status["hearings_check.txt"] == (
        "failed",
        "load failed: IntegrityError (SQLSTATE 23514, table client, constraint client_first_name_check);"
        " parked after 1 attempt(s): not fetched again until reprocessed",
    )
    assert status["hearings_cast.txt"][0] == "failed"
    # Named by its standard class whether a load branch's driver cursor (psycopg2's
    # InvalidDatetimeFormat) or SQLAlchemy raised it: the SQLSTATE, no value.
    assert status["hearings_cast.txt"][1].startswith("load failed: DataError (SQLSTATE 22007)")
    assert status["hearings_latin.txt"][0] == "loaded"
    # the scan reads every task's XCom, and the dashboard's page of every upload
    tasks = {task for task, _index, _key in scanned_run["xcoms"]}
    assert {"list_new_files", "file.fetch", "file.read", "file.load", "file.finalize"} <= tasks, tasks
    assert sum(p.startswith("/uploads/") for p in scanned_run["dashboard"]) == len(scanned_run["ledger"]) >= 9
    # what is scanned is there: acknowledgements, a mail and a Slack message per rejected file,
    # and the failed load's task-failure alert
    assert len([p for p in scanned_run["acks"] if p.name.endswith(".ack.json")]) >= 8
    subjects = {m.subject for m in scanned_run["mails"]}
    assert "[courtfeed] pii_hearings: file hearings_noheader.txt was rejected" in subjects
    assert any("task" in s and "failed" in s for s in subjects), subjects
    assert len(scanned_run["slack"]) >= 4
    # each file's outcome went to the lineage backend: a FAIL with the ledger's reason
    assert scanned_run["invalid lineage"] == []
    reasons = {
        e["run"]["runId"]: e["run"]["facets"]["errorMessage"]["message"]
        for e in scanned_run["lineage"]
        if e["job"]["name"] == "courtfeed__pii_hearings.file" and e["eventType"] == "FAIL"
    }
    failed = [row for row in scanned_run["ledger"] if row["status"] in ("rejected", "failed")]
    assert {row["id"]: f"{row['status']}: {row['message']}" for row in failed} == reasons
    load_failures = [
        e
        for e in scanned_run["lineage"]
        if e["job"]["name"].endswith(".file.load") and e["eventType"] == "FAIL"
    ]
    assert load_failures and all(
        e["run"]["facets"]["errorMessage"]["message"].startswith("load failed for hearings_")
        for e in load_failures
    )


def test_no_cell_value_anywhere(scanned_run):
    values = scanned_run["pii"]
    texts = scanned_run["texts"]
    assert leaks(f"x {REFUSED_LAST_NAME} y", values)  # the scan does find a value
    assert leaks('["SMITH", "JOHN", "JUROR-A"]', values)  # the header-less jurors' first line too
    assert "after read: status rejected" in texts["dag.test output (task logs)"]  # task logs are in it
    found = {where: sorted(leaks(text, values)) for where, text in texts.items()}
    shown = {}
    for where, leaked in found.items():
        if leaked:  # where each value is, with a little context, to find the code that wrote it
            text = texts[where]
            shown[where] = [text[max(0, text.index(v) - 120) : text.index(v) + 40] for v in leaked[:3]]
    assert not shown
