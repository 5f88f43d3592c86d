"""courtfeed doctor against the real services: sshd (password and key users), SeaweedFS,
PostgreSQL and an SMTP server; one failing case per check, each named in its one line."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import paramiko
import pytest
import yaml

from courtfeed.doctor import run_doctor
from courtfeed.target.db import engine_for, migrate
from tests.cli import run_cli
from tests.e2e.feeds import target_connection_json
from tests.services._process import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def make_include(tmp_path: Path, **profile) -> Path:
    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True, exist_ok=True)
    (include / "templates").mkdir(exist_ok=True)
    (include / "templates" / "metro_hearings.yaml").write_text(
        (REPO / "include" / "templates" / "metro_hearings.yaml").read_text()
    )
    data = {"name": "agency", "agency": "metro", "template": "metro_hearings", **profile}
    (include / "profiles" / "agency.yaml").write_text(yaml.safe_dump(data))
    return include


@pytest.fixture
def sftp_feed(sshd, tmp_path, monkeypatch):
    """A password-login SFTP profile with archive, error and report folders, a migrated
    PostgreSQL target and mail alerts; everything in place."""
    drop = sshd.drop_dir("cfpass") / f"feed-{tmp_path.name}"
    sshd.put_file("cfpass", f"{drop.name}/in/hearings_1.txt", "x")
    include = make_include(
        tmp_path,
        source={"connection": "agency_sftp", "directory": str(drop / "in")},
        after_load="archive",
        archive_directory=str(drop / "in" / "processed"),
        error_directory=str(drop / "errors"),
        reports_directory=str(drop / "acks"),
        alerts={"email": ["ops@agency.example"]},
    )
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_SFTP", sshd.airflow_connection_json("cfpass"))
    return include, drop


@pytest.fixture
def target(pg_url, monkeypatch):
    migrate(engine_for(pg_url))
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_TARGET", target_connection_json(pg_url))
    return pg_url


@pytest.fixture
def mail(smtp_server, monkeypatch):
    smtp_server.clear()
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_SMTP", json.dumps(smtp_server.airflow_connection()))
    return smtp_server


def lines(checks) -> dict[str, object]:
    return {f"{c.scope}: {c.name}": c for c in checks}


def failing(checks) -> list[str]:
    return [c.line() for c in checks if not c.passed]


def test_everything_in_place_passes_and_sends_no_mail(sftp_feed, target, mail):
    include, drop = sftp_feed
    checks = run_doctor()
    assert failing(checks) == []
    got = lines(checks)
    for name in (
        "connection",
        "server reachable",
        "host key",
        "login",
        "directory",
        "archive folder",
        "error folder",
        "reports folder",
        "template",
    ):
        assert got[f"agency: {name}"].passed, name
    assert got["target: schema"].passed and got["alerts: smtp"].passed
    assert mail.messages == []  # answering is checked with a NOOP, nothing is sent
    # the probes are gone, the folders the DAG would create exist
    assert [p.name for p in (drop / "acks").iterdir()] == []
    assert (drop / "in" / "processed").is_dir()


def test_send_test_alert_mails_the_profile_recipients(sftp_feed, target, mail):
    checks = run_doctor(send_test_alert=True)
    assert lines(checks)["alerts: test alert"].passed
    (message,) = mail.messages
    assert message.rcpt_tos == ["ops@agency.example"] and "test alert" in message.subject


def test_key_login_passes(sshd, tmp_path, monkeypatch, target):
    include = make_include(
        tmp_path, source={"connection": "agency_key", "directory": str(sshd.drop_dir("cfkey"))}
    )
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_KEY", sshd.airflow_connection_json("cfkey"))
    checks = run_doctor()
    assert failing(checks) == []
    assert "key login of 'cfkey' works" in lines(checks)["agency: login"].detail


def test_wrong_host_key_shows_the_servers_fingerprint_and_does_not_log_in(
    sshd, sftp_feed, target, mail, monkeypatch
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_AGENCY_SFTP", sshd.airflow_connection_json("cfpass", host_key=sshd.wrong_host_key)
    )
    mark = sshd.quiet_mark()
    checks = run_doctor()
    host_key = lines(checks)["agency: host key"]
    kind, data = sshd.host_key.split()
    served = paramiko.PKey.from_type_string(kind, __import__("base64").b64decode(data)).fingerprint
    assert not host_key.passed and "MISMATCH" in host_key.detail and served in host_key.line()
    assert "fix:" in host_key.line()
    assert lines(checks)["agency: login"].status == "skip"
    assert failing(checks) == [host_key.line(), lines(checks)["agency: login"].line()]
    sshd.settle()
    assert sshd.connections(mark) and sshd.auth_attempts("cfpass", mark) == []


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "unpinned"])
def test_no_host_key_check_is_refused_before_any_login(sshd, sftp_feed, target, mail, monkeypatch, pinned):
    conn = sshd.airflow_connection("cfpass")
    conn["extra"]["no_host_key_check"] = True
    if not pinned:
        del conn["extra"]["host_key"]
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_SFTP", json.dumps(conn))
    mark = sshd.quiet_mark()
    checks = run_doctor()
    host_key = lines(checks)["agency: host key"]
    assert not host_key.passed and "'agency_sftp' sets no_host_key_check" in host_key.detail
    assert "SHA256:" in host_key.detail and "remove no_host_key_check" in host_key.line()
    assert lines(checks)["agency: login"].status == "skip"
    sshd.settle()
    assert sshd.auth_attempts("cfpass", mark) == []  # only the handshake that reads the key


def test_the_profiles_opt_out_logs_in_unverified_and_says_so(sshd, sftp_feed, target, mail, monkeypatch):
    include, drop = sftp_feed
    profile = include / "profiles" / "agency.yaml"
    data = yaml.safe_load(profile.read_text())
    data["source"]["insecure_skip_host_key_check"] = True
    profile.write_text(yaml.safe_dump(data))
    conn = sshd.airflow_connection("cfpass")
    del conn["extra"]["host_key"]
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_SFTP", json.dumps(conn))
    checks = run_doctor()
    assert failing(checks) == []
    assert lines(checks)["agency: host key"].detail.startswith("NOT VERIFIED: the profile sets")


def test_unpinned_host_key_fails_without_sending_credentials(sshd, sftp_feed, target, mail, monkeypatch):
    conn = sshd.airflow_connection("cfpass")
    del conn["extra"]["host_key"]
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_SFTP", json.dumps(conn))
    checks = run_doctor()
    host_key = lines(checks)["agency: host key"]
    assert not host_key.passed and "no host key pinned" in host_key.detail and "SHA256:" in host_key.detail
    assert lines(checks)["agency: login"].status == "skip"


def test_wrong_password(sshd, sftp_feed, target, mail, monkeypatch):
    conn = sshd.airflow_connection("cfpass")
    conn["password"] = "not-the-password"
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_SFTP", json.dumps(conn))
    checks = run_doctor()
    assert lines(checks)["agency: host key"].passed
    (line,) = failing(checks)
    assert line.startswith("[FAIL] agency: login: password login of 'cfpass' refused -- fix:")
    assert "not-the-password" not in line


def test_missing_directory(sshd, tmp_path, monkeypatch, target):
    include = make_include(
        tmp_path,
        source={"connection": "agency_sftp", "directory": str(sshd.drop_dir("cfpass") / "no-such-folder")},
    )
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_SFTP", sshd.airflow_connection_json("cfpass"))
    (line,) = failing(run_doctor())
    assert line.startswith("[FAIL] agency: directory:") and "does not exist" in line


def test_read_only_archive_folder(sshd, sftp_feed, target, mail):
    include, drop = sftp_feed
    archive = drop / "in" / "processed"
    archive.mkdir(parents=True, exist_ok=True)
    os.chown(archive, 0, 0)  # owned by root, 0755: cfpass may list it but not write
    archive.chmod(0o755)
    assert pwd.getpwnam("cfpass").pw_uid != 0
    (line,) = failing(run_doctor())
    assert line.startswith(f"[FAIL] agency: archive folder: {archive}: permission denied for 'cfpass'")
    assert list(archive.iterdir()) == []


def test_s3_bucket_list_put_and_a_missing_bucket(seaweedfs, tmp_path, monkeypatch, target):
    bucket = seaweedfs.create_bucket(f"doctor-{tmp_path.name[-12:].lower().replace('_', '-')}")
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_S3", seaweedfs.airflow_connection_json())
    include = make_include(
        tmp_path,
        source={"connection": "agency_s3", "bucket": bucket, "prefix": "exports/"},
        after_load="archive",
        archive_directory="exports/processed",
        reports_directory="acks",
    )
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    checks = run_doctor()
    assert failing(checks) == []
    assert {c.name for c in checks if c.scope == "agency"} >= {"bucket", "list", "put", "archive prefix"}
    assert seaweedfs.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # probes removed

    make_include(tmp_path, source={"connection": "agency_s3", "bucket": "no-such-bucket-here", "prefix": ""})
    checks = run_doctor()
    assert failing(checks) == [lines(checks)["agency: bucket"].line(), lines(checks)["agency: list"].line()]
    assert "bucket 'no-such-bucket-here' does not exist" in lines(checks)["agency: bucket"].line()


def test_unmigrated_target(sftp_feed, pg_url, mail, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_TARGET", target_connection_json(pg_url))
    checks = run_doctor()
    (line,) = failing(checks)
    assert line.startswith("[FAIL] target: schema: at revision none (empty database), head is ")
    assert "courtfeed migrate" in line


def test_smtp_down(sftp_feed, target, monkeypatch):
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": free_port(),
        "extra": {"disable_tls": True, "disable_ssl": True},
    }
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_SMTP", json.dumps(conn))
    (line,) = failing(run_doctor())
    assert line.startswith("[FAIL] alerts: smtp: 'courtfeed_smtp' (127.0.0.1:") and "does not answer" in line


def test_cli_exit_codes_and_json(sshd, sftp_feed, target, mail):
    env = {k: os.environ[k] for k in os.environ if k.startswith(("AIRFLOW_CONN_", "COURTFEED_"))}
    ok = run_cli("doctor", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1].startswith("all ") and "[ok  ] agency: host key:" in ok.stdout
    conn = sshd.airflow_connection("cfpass")
    conn["password"] = "wrong"
    bad = run_cli(
        "doctor", "--profile", "agency", "--json", env={**env, "AIRFLOW_CONN_AGENCY_SFTP": json.dumps(conn)}
    )
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["login"]
