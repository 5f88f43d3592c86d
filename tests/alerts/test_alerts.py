"""Alert content and sending through the real SmtpNotifier to the local SMTP server (in process)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml

from courtfeed.config.profile import Profile
from courtfeed.dagfactory import alerts
from courtfeed.pipeline.work import FileWork

pytestmark = pytest.mark.integration

ROW_VALUES = (
    "Maria",
    "Clark",
    "(708) 363-0739",
    "7083630739",
    "+17083630739",
    "02/21/1990",
    "maria.clark0@mail.example",
)


def profile(**alert_cfg) -> Profile:
    return Profile(
        name="metro",
        agency="metro",
        template="t",
        source={"connection": "c", "directory": "/in"},
        alerts={"email": ["ops@example.test"], **alert_cfg},
    )


@pytest.fixture
def smtp_conn(smtp_server, monkeypatch):
    smtp_server.clear()
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_SMTP", json.dumps(smtp_server.airflow_connection()))
    return smtp_server


# --- scrubbing exception texts ------------------------------------------------------------------
@pytest.mark.parametrize(
    "exc",
    [
        ValueError("invalid literal for int() with base 10: 'Maria Clark'"),
        KeyError("maria.clark0@mail.example"),
        RuntimeError('cannot parse "02/21/1990" as a date'),
        RuntimeError("phone (708) 363-0739 has no area code, nor +17083630739 or 7083630739"),
        RuntimeError(
            "duplicate key value violates unique constraint\nDETAIL: Key (name)=(Maria Clark) exists"
        ),
        RuntimeError("Key (last_name)=(Clark) already exists"),
    ],
)
def test_describe_exception_keeps_no_row_values(exc):
    text = alerts.describe_exception(exc)
    assert text.startswith(type(exc).__name__)
    for value in ROW_VALUES:
        assert value not in text
    assert "Clark" not in text and "DETAIL" not in text


def test_describe_exception_keeps_what_helps():
    text = alerts.describe_exception(
        ConnectionRefusedError("[Errno 111] Connection refused on port 22, row 12")
    )
    assert text == "ConnectionRefusedError: [Errno 111] Connection refused on port 22, row 12"
    assert alerts.describe_exception(RuntimeError("")) == "RuntimeError"
    assert len(alerts.describe_exception(RuntimeError("x" * 5000))) < 250


def test_courtfeed_errors_are_kept_as_written():
    from courtfeed.sources.base import SourceError

    text = alerts.describe_exception(SourceError("SFTP connection 'sftp_x': list /in: permission denied"))
    assert text == "SourceError: SFTP connection 'sftp_x': list /in: permission denied"


def test_alert_html_escapes_and_text_lists_facts():
    alert = alerts.Alert("metro", "s <b>", [("File", "a<b>{{ 7*7 }}.csv")], "http://h/log?x=1&y=2")
    assert "a&lt;b&gt;" in alert.html() and "&amp;y=2" in alert.html()
    assert alert.text().splitlines()[-2:] == ["File: a<b>{{ 7*7 }}.csv", "Task log: http://h/log?x=1&y=2"]


# --- sending ------------------------------------------------------------------------------------
def test_send_mails_the_profile_recipients_through_smtp_notifier(smtp_conn):
    alert = alerts.Alert("metro", "[courtfeed] metro: hello", [("File", "{{ 7*7 }}.csv")], "http://x/log")
    assert alerts.send(profile(), alert) == ["email"]
    (mail,) = smtp_conn.messages
    assert mail.rcpt_tos == ["ops@example.test"]
    assert mail.mail_from == "courtfeed@localhost"  # the connection's from_email
    assert mail.subject == "[courtfeed] metro: hello"
    body = mail.body_text()
    assert "{{ 7*7 }}.csv" in body and "49" not in body  # data is not rendered as a template
    assert "http://x/log" in body


def test_sender_defaults_when_the_connection_has_none(smtp_server, monkeypatch):
    conn = smtp_server.airflow_connection()
    conn["extra"].pop("from_email")
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_SMTP", json.dumps(conn))
    assert alerts.smtp_sender() == alerts.DEFAULT_SENDER


def test_no_connection_or_no_recipients_sends_nothing(smtp_server, monkeypatch):
    smtp_server.clear()
    monkeypatch.delenv("AIRFLOW_CONN_COURTFEED_SMTP", raising=False)
    alert = alerts.Alert("metro", "s")
    assert alerts.send(profile(), alert) == []
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_SMTP", json.dumps(smtp_server.airflow_connection()))
    assert alerts.send(profile(email=[]), alert) == []
    assert smtp_server.messages == []


def test_send_quietly_survives_a_mail_outage(monkeypatch):
    dead = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": 1,
        "extra": {"disable_tls": True, "disable_ssl": True, "retry_limit": 0, "timeout": 2},
    }
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_SMTP", json.dumps(dead))
    assert alerts.send_quietly(profile(), alerts.Alert("metro", "s")) == []
    with pytest.raises(Exception):  # noqa: B017 - whatever the SMTP library raises
        alerts.send(profile(), alerts.Alert("metro", "s"))


# --- the entry points the DAGs call -------------------------------------------------------------
@pytest.fixture
def include(tmp_path, monkeypatch):
    (tmp_path / "profiles").mkdir()
    data = profile().model_dump(mode="json")
    (tmp_path / "profiles" / "metro.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("COURTFEED_INCLUDE", str(tmp_path))
    return tmp_path


def _bool_cast_error() -> Exception:
    import pyarrow as pa

    try:
        pa.array(["Maria Clark"]).cast(pa.bool_())  # "Failed to parse value: Maria Clark": unquoted
    except Exception as exc:
        return exc
    raise AssertionError("pyarrow cast a name to a boolean")


@pytest.mark.parametrize(
    "exc", [ValueError("bad value 'Maria Clark' for client.last_name"), _bool_cast_error()], ids=repr
)
def test_task_failure_callback_mails_the_class_of_a_foreign_error_only(smtp_conn, include, exc):
    assert "Maria Clark" in str(exc)  # the error does quote the cell
    ti = SimpleNamespace(
        dag_id="courtfeed__metro",
        task_id="file.load",
        map_index=3,
        rendered_map_index=None,
        log_url="http://airflow/dags/courtfeed__metro/runs/r1/tasks/file.load/mapped/3?try_number=1",
    )
    alerts.on_task_failure({"ti": ti, "exception": exc, "file_name": "hearings_1.txt"})
    (mail,) = smtp_conn.messages
    body = mail.body_text()
    assert mail.subject == "[courtfeed] metro: task file.load failed for hearings_1.txt"
    assert (
        f"<td>{type(exc).__name__}</td>" in body
        and "hearings_1.txt" in body
        and ti.log_url.replace("&", "&amp;") in body
    )
    assert "Maria" not in body and "Clark" not in body


def test_task_failure_callback_mails_courtfeeds_own_words(smtp_conn, include):
    from courtfeed.privacy import ValueFreeError

    ti = SimpleNamespace(dag_id="courtfeed__metro", task_id="file.map", map_index=0, log_url="http://x/log")
    exc = ValueFreeError(
        "map failed for h.txt (upload u1): mapping rows 2-9 failed: ArrowInvalid in mapping/records.py:178"
    )
    alerts.on_task_failure({"ti": ti, "exception": exc, "file_name": "h.txt"})
    (mail,) = smtp_conn.messages
    assert (
        "map failed for h.txt (upload u1): mapping rows 2-9 failed: ArrowInvalid in mapping/records.py:178"
        in mail.body_text()
    )


def test_task_failure_callback_ignores_other_dags(smtp_conn, include):
    ti = SimpleNamespace(dag_id="someone_else", task_id="t", map_index=-1, log_url="u")
    alerts.on_task_failure({"ti": ti, "exception": RuntimeError("x")})
    assert smtp_conn.messages == []


def work(**kw) -> FileWork:
    base = dict(
        upload_id="up1",
        name="hearings_2.txt",
        path="/in/hearings_2.txt",
        local_path="/tmp/x",
        workdir="/tmp/w",
        template="t",
        agency="metro",
        profile="metro",
    )
    return FileWork(**{**base, **kw})


def test_after_finalize_mails_a_rejected_file(smtp_conn):
    sent = alerts.after_finalize(
        profile(), work(status="rejected", message="missing required columns: DEF_LNAME", rows_read=2)
    )
    assert sent == ["email"]
    (mail,) = smtp_conn.messages
    assert mail.subject == "[courtfeed] metro: file hearings_2.txt was rejected"
    assert "missing required columns: DEF_LNAME" in mail.body_text()


def test_after_finalize_checks_volume_of_loaded_files(smtp_conn, monkeypatch, ledger_engine, add_upload):
    from datetime import UTC, datetime, timedelta

    from courtfeed.dagfactory import runtime

    monkeypatch.setattr(runtime, "target_engine", lambda: ledger_engine)
    for day in range(3):
        add_upload("metro", "loaded", datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=day), rows_read=500)
    assert alerts.after_finalize(profile(), work(status="loaded", rows_read=400)) == []
    assert alerts.after_finalize(profile(), work(status="duplicate", rows_read=0)) == []
    assert alerts.after_finalize(profile(), work(status="loaded", rows_read=100)) == ["email"]
    (mail,) = smtp_conn.messages
    assert "unusually small" in mail.subject and "100 rows" in mail.body_text()
