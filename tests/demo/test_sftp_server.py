"""The demo SFTP server, driven through the Airflow SFTP provider's own hook (host key pinned)."""

from __future__ import annotations

import io
import signal
import stat
import subprocess
import sys
from pathlib import Path

import paramiko
import pytest
from airflow.providers.sftp.hooks.sftp import SFTPHook

from courtfeed.demo.host_key import load_or_create_host_key, public_key_line


@pytest.fixture
def hook(demo_sftp, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DEMO_SFTP", demo_sftp.airflow_conn_json())
    h = SFTPHook(ssh_conn_id="demo_sftp")
    return h


def test_list_with_attributes_shows_files_sizes_and_folders(demo_sftp, hook):
    (demo_sftp.root / "drop" / "hearings.txt").write_bytes(b"A|B\n1|2\n")
    (demo_sftp.root / "drop" / "archive").mkdir()

    entries = {e.filename: e for e in hook.list_directory_with_attr("/drop")}

    assert set(entries) == {"hearings.txt", "archive"}
    assert entries["hearings.txt"].st_size == 8
    assert stat.S_ISREG(entries["hearings.txt"].st_mode)
    assert stat.S_ISDIR(entries["archive"].st_mode)
    assert hook.isfile("/drop/hearings.txt") and hook.isdir("/drop/archive")
    assert hook.describe_directory("/drop")["hearings.txt"]["size"] == 8


def test_retrieve_returns_the_exact_bytes(demo_sftp, hook, tmp_path):
    payload = bytes(range(256)) * 4096  # 1 MiB of every byte value: no text-mode mangling
    (demo_sftp.root / "drop" / "big.bin").write_bytes(payload)

    hook.retrieve_file("/drop/big.bin", str(tmp_path / "got.bin"))

    assert (tmp_path / "got.bin").read_bytes() == payload


def test_store_writes_into_the_root(demo_sftp, hook, tmp_path):
    local = tmp_path / "ack.json"
    local.write_text('{"status": "loaded"}')

    hook.store_file("/drop/ack.json", str(local))

    assert (demo_sftp.root / "drop" / "ack.json").read_text() == '{"status": "loaded"}'


def test_rename_into_subfolder_then_delete(demo_sftp, hook):
    (demo_sftp.root / "drop" / "payments.csv").write_text("id,amount\n1,5\n")
    hook.create_directory("/drop/processed")

    with hook.get_managed_conn() as conn:
        conn.rename("/drop/payments.csv", "/drop/processed/payments.csv")

    assert not (demo_sftp.root / "drop" / "payments.csv").exists()
    assert (demo_sftp.root / "drop" / "processed" / "payments.csv").read_text() == "id,amount\n1,5\n"
    assert hook.list_directory("/drop/processed") == ["payments.csv"]

    hook.delete_file("/drop/processed/payments.csv")
    hook.delete_directory("/drop/processed")

    assert not (demo_sftp.root / "drop" / "processed").exists()


def test_relative_paths_start_at_the_root(demo_sftp, hook):
    (demo_sftp.root / "drop" / "x.csv").write_text("a\n")

    assert hook.list_directory("drop") == ["x.csv"]
    with hook.get_managed_conn() as conn:
        assert conn.normalize(".") == "/"


def test_path_escape_with_dotdot_is_refused(demo_sftp, hook, tmp_path):
    secret = tmp_path / "outside.txt"  # beside the root, reachable as /../outside.txt if unconfined
    secret.write_text("not served")

    with hook.get_managed_conn() as conn:
        with pytest.raises(PermissionError):
            conn.stat("/../outside.txt")
        with pytest.raises(PermissionError):
            conn.open("/drop/../../outside.txt").read()
        with pytest.raises(PermissionError):
            conn.listdir("..")
        with pytest.raises(PermissionError):
            conn.open("/../planted.txt", "w").write(b"x")
        with pytest.raises(PermissionError):
            conn.rename("/drop", "/../drop-moved")
    assert not (tmp_path / "planted.txt").exists()


def test_symlink_out_of_the_root_is_refused(demo_sftp, hook, tmp_path):
    (tmp_path / "outside.txt").write_text("not served")
    (demo_sftp.root / "drop" / "link.txt").symlink_to(tmp_path / "outside.txt")

    with hook.get_managed_conn() as conn, pytest.raises(PermissionError):
        conn.open("/drop/link.txt").read()


def test_wrong_password_is_refused(demo_sftp, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BAD_SFTP", demo_sftp.airflow_conn_json(password="wrong"))

    with pytest.raises(paramiko.AuthenticationException):
        with SFTPHook(ssh_conn_id="bad_sftp").get_managed_conn():
            pass


def test_a_different_pinned_host_key_is_refused(demo_sftp, monkeypatch, tmp_path):
    other = public_key_line(load_or_create_host_key(tmp_path / "other_key"))
    conn = demo_sftp.airflow_conn_json().replace(demo_sftp.host_key_line, other)
    monkeypatch.setenv("AIRFLOW_CONN_PINNED_SFTP", conn)

    with pytest.raises(paramiko.BadHostKeyException):
        with SFTPHook(ssh_conn_id="pinned_sftp").get_managed_conn():
            pass


def test_many_connections_at_once(demo_sftp):
    (demo_sftp.root / "drop" / "f.txt").write_text("same")
    clients = []
    try:
        for _ in range(5):
            transport = paramiko.Transport(("127.0.0.1", demo_sftp.port))
            transport.connect(username=demo_sftp.user, password=demo_sftp.password)
            clients.append(paramiko.SFTPClient.from_transport(transport))
        assert [c.open("/drop/f.txt").read() for c in clients] == [b"same"] * 5
    finally:
        for c in clients:
            c.get_channel().get_transport().close()


def test_host_key_is_kept_between_starts(tmp_path):
    first = public_key_line(load_or_create_host_key(tmp_path / "hk"))
    second = public_key_line(load_or_create_host_key(tmp_path / "hk"))

    assert first == second
    assert first.startswith("ssh-ed25519 ")
    assert (tmp_path / "hk.pub").read_text().strip() == first
    assert stat.S_IMODE((tmp_path / "hk").stat().st_mode) == 0o600


def test_pid_file_written_and_removed_on_sigterm(demo_sftp):
    assert int(demo_sftp.pid_file.read_text()) == demo_sftp.process.pid

    demo_sftp.process.send_signal(signal.SIGTERM)
    assert demo_sftp.process.wait(timeout=10) == 0
    assert not demo_sftp.pid_file.exists()


def test_busy_port_fails_clearly(demo_sftp, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "courtfeed.demo.sftp_server", "--root", str(demo_sftp.root)]
        + ["--port", str(demo_sftp.port), "--password", "x", "--host-key-file", str(tmp_path / "k")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{demo_sftp.port}" in result.stderr


def test_log_has_no_file_contents_or_password(demo_sftp, hook, tmp_path):
    (demo_sftp.root / "drop" / "people.csv").write_text("name\nJane Roe-Unique\n")
    hook.retrieve_file("/drop/people.csv", io.BytesIO())
    with pytest.raises(paramiko.AuthenticationException):
        t = paramiko.Transport(("127.0.0.1", demo_sftp.port))
        try:
            t.connect(username="demo", password="Wrong-Pw-Unique")
        finally:
            t.close()

    demo_sftp.process.terminate()
    _out, err = demo_sftp.process.communicate(timeout=10)

    assert "refused a password login" in err
    assert "Jane Roe-Unique" not in err and "Wrong-Pw-Unique" not in err
    assert demo_sftp.password not in err


def test_bad_root_fails_clearly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "courtfeed.demo.sftp_server", "--root", str(tmp_path / "missing")]
        + ["--port", "0", "--password", "x", "--host-key-file", str(tmp_path / "k")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert Path(tmp_path / "k").exists() is True  # the key is still made, ready for the next start
