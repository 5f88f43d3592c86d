"""Proof that each real test service works the way the rest of the suite relies on."""

from __future__ import annotations

import io
import smtplib
from email.message import EmailMessage

import pytest

from tests.services import KEY_USER, PASSWORD_USER

pytestmark = pytest.mark.integration


def _sftp_hook(monkeypatch, conn_id: str, conn_value: str, **hook_kwargs):
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    # Airflow 3 reads connections from AIRFLOW_CONN_<ID>, JSON or URI.
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn_value)
    return SFTPHook(ssh_conn_id=conn_id, **hook_kwargs)


# --- sshd / SFTP -------------------------------------------------------------------------------


def test_sftp_password_login_lists_and_reads_a_dropped_file(sshd, monkeypatch, tmp_path):
    sshd.put_file(PASSWORD_USER, "exports/hearings_0101.csv", "DEF_ID,CASE_NO\n1,24-CR-1\n")
    hook = _sftp_hook(monkeypatch, "cf_pass_json", sshd.airflow_connection_json(PASSWORD_USER))

    # The SFTP session starts in the user's drop folder, so relative paths work.
    assert hook.list_directory("exports") == ["hearings_0101.csv"]
    local = tmp_path / "got.csv"
    hook.retrieve_file("exports/hearings_0101.csv", str(local))
    assert local.read_text() == "DEF_ID,CASE_NO\n1,24-CR-1\n"
    # Absolute paths reach the same folder.
    absolute = str(sshd.drop_dir(PASSWORD_USER) / "exports")
    assert hook.list_directory(absolute) == ["hearings_0101.csv"]


def test_sftp_key_login_from_uri_connection(sshd, monkeypatch):
    assert sshd.users[KEY_USER].password is None
    assert "PRIVATE KEY" in sshd.users[KEY_USER].private_key
    sshd.put_file(KEY_USER, "services_key/payments.txt", b"A|B\n1|2\n")
    hook = _sftp_hook(monkeypatch, "cf_key_uri", sshd.airflow_connection_uri(KEY_USER))

    assert hook.list_directory("services_key") == ["payments.txt"]
    with hook.get_managed_conn() as sftp:
        buffer = io.BytesIO()
        sftp.getfo("services_key/payments.txt", buffer)
    assert buffer.getvalue() == b"A|B\n1|2\n"


def test_sftp_key_user_can_delete_and_move_its_files(sshd, monkeypatch):
    # finalize() deletes or archives remote files: the drop folder must be the user's own.
    sshd.put_file(KEY_USER, "work/done.csv", "x\n")
    sshd.put_file(KEY_USER, "work/gone.csv", "x\n")
    hook = _sftp_hook(monkeypatch, "cf_key_json", sshd.airflow_connection_json(KEY_USER))
    hook.create_directory("work/archive")
    with hook.get_managed_conn() as sftp:
        sftp.rename("work/done.csv", "work/archive/done.csv")
    hook.delete_file("work/gone.csv")

    assert sorted(hook.list_directory("work")) == ["archive"]
    assert (sshd.drop_dir(KEY_USER) / "work/archive/done.csv").exists()


def test_sftp_key_user_cannot_log_in_with_a_password(sshd, monkeypatch):
    import paramiko

    conn = sshd.airflow_connection(PASSWORD_USER)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            sshd.host,
            port=sshd.port,
            username=KEY_USER,
            password=conn["password"],
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
    client.close()


def test_sftp_connection_pinning_a_different_host_key_is_refused(sshd, monkeypatch):
    import paramiko

    assert sshd.wrong_host_key != sshd.host_key
    hook = _sftp_hook(
        monkeypatch,
        "cf_wrong_key",
        sshd.airflow_connection_json(PASSWORD_USER, host_key=sshd.wrong_host_key),
        conn_retry_attempts=1,
    )
    with pytest.raises(paramiko.SSHException) as excinfo:
        hook.list_directory(".")
    assert "host key" in str(excinfo.value).lower()


def test_sshd_host_key_matches_what_the_server_presents(sshd):
    import paramiko

    transport = paramiko.Transport((sshd.host, sshd.port))
    try:
        transport.start_client(timeout=10)
        presented = transport.get_remote_server_key()
    finally:
        transport.close()
    assert f"{presented.get_name()} {presented.get_base64()}" == sshd.host_key


# --- PostgreSQL --------------------------------------------------------------------------------


def test_postgres_fresh_database_insert_select_and_copy(pg_url):
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            assert (
                conn.execute(sa.text("select count(*) from pg_tables where schemaname='public'")).scalar()
                == 0
            )
            conn.execute(sa.text("create table client (reference text primary key, last_name text)"))
            conn.execute(sa.text("insert into client values ('C1', 'Alpha')"))
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                cursor.copy_expert(
                    "COPY client FROM STDIN WITH (FORMAT csv, DELIMITER '|')",
                    io.StringIO("C2|Beta\nC3|Gamma\n"),
                )
            raw.commit()
        finally:
            raw.close()
        with engine.connect() as conn:
            rows = conn.execute(sa.text("select reference, last_name from client order by 1")).all()
        assert [tuple(r) for r in rows] == [("C1", "Alpha"), ("C2", "Beta"), ("C3", "Gamma")]
    finally:
        engine.dispose()


def test_pg_url_gives_each_test_its_own_database(pg_url, postgres):
    import sqlalchemy as sa

    database = pg_url.rsplit("/", 1)[1]
    assert database not in ("postgres", "courtfeed")
    listed = postgres.psql("select datname from pg_database")
    assert database in listed.split()
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select current_database()")).scalar() == database
    engine.dispose()


def test_postgres_psycopg3_and_wrong_password(postgres):
    import psycopg

    with psycopg.connect(postgres.dsn(), connect_timeout=10) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    bad = postgres.dsn().replace(f"password={postgres.password}", "password=not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bad, connect_timeout=10)


def test_postgres_admin_url_and_psql_path(postgres):
    import subprocess

    import sqlalchemy as sa

    engine = sa.create_engine(postgres.admin_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select current_database()")).scalar() == "postgres"
        assert conn.execute(sa.text("select rolsuper from pg_roles where rolname=current_user")).scalar()
    engine.dispose()
    out = subprocess.run(
        [postgres.psql_path, "-At", "-c", "select 40+2", postgres.dsn()],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "42"


# --- SeaweedFS (S3) ----------------------------------------------------------------------------


def test_seaweedfs_put_list_get_with_the_right_keys(seaweedfs):
    bucket = seaweedfs.create_bucket("courtfeed-test-putlistget")
    s3 = seaweedfs.client()
    s3.put_object(Bucket=bucket, Key="exports/a.csv", Body=b"A,B\n1,2\n")
    s3.put_object(Bucket=bucket, Key="exports/b.csv", Body=b"A,B\n3,4\n")
    s3.put_object(Bucket=bucket, Key="other/c.csv", Body=b"x")

    listed = s3.list_objects_v2(Bucket=bucket, Prefix="exports/")
    assert sorted(item["Key"] for item in listed["Contents"]) == ["exports/a.csv", "exports/b.csv"]
    assert s3.get_object(Bucket=bucket, Key="exports/b.csv")["Body"].read() == b"A,B\n3,4\n"


@pytest.mark.parametrize(
    ("access_key", "secret_key", "expected_codes"),
    [
        (None, "wrong-secret", {"SignatureDoesNotMatch"}),
        ("UNKNOWNKEY0000000000", None, {"InvalidAccessKeyId"}),
    ],
)
def test_seaweedfs_refuses_wrong_keys(seaweedfs, access_key, secret_key, expected_codes):
    from botocore.exceptions import ClientError

    bucket = "courtfeed-test-refusal"
    existing = [b["Name"] for b in seaweedfs.client().list_buckets().get("Buckets", [])]
    if bucket not in existing:
        seaweedfs.create_bucket(bucket)
    bad = seaweedfs.client(access_key=access_key, secret_key=secret_key)
    with pytest.raises(ClientError) as excinfo:
        bad.list_objects_v2(Bucket=bucket)
    assert excinfo.value.response["Error"]["Code"] in expected_codes
    with pytest.raises(ClientError):
        bad.put_object(Bucket=bucket, Key="sneaky.csv", Body=b"x")


def test_seaweedfs_airflow_connection_works_with_s3hook(seaweedfs, monkeypatch):
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    bucket = seaweedfs.create_bucket("courtfeed-test-s3hook")
    seaweedfs.client().put_object(Bucket=bucket, Key="in/x.csv", Body=b"x")
    monkeypatch.setenv("AIRFLOW_CONN_CF_S3", seaweedfs.airflow_connection_json())
    hook = S3Hook(aws_conn_id="cf_s3")
    assert hook.list_keys(bucket_name=bucket, prefix="in/") == ["in/x.csv"]


# --- SMTP --------------------------------------------------------------------------------------


def test_smtp_server_keeps_sent_mail(smtp_server):
    smtp_server.clear()
    message = EmailMessage()
    message["From"] = "courtfeed@localhost"
    message["To"] = "ops@metro.example"
    message["Subject"] = "courtfeed: metro_hearings failed"
    message.set_content("Upload 42 failed: row 7, column PHONE, rule phone.")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.send_message(message)

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received.rcpt_tos == ["ops@metro.example"]
    assert received.subject == "courtfeed: metro_hearings failed"
    assert "row 7, column PHONE" in received.body_text()
