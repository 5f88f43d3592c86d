"""SftpSource against a real OpenSSH sshd: listing, moves, and clear errors without secrets."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from courtfeed.sources.base import SourceError
from courtfeed.sources.hostkeys import HostKeyRefused
from courtfeed.sources.sftp import SftpSource
from tests.services import KEY_USER, PASSWORD_USER
from tests.services._process import free_port
from tests.sources.conftest import set_connection

pytestmark = pytest.mark.integration

OLD = datetime(2019, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_lists_a_folder_with_sizes_and_mtimes(sshd, sftp_conn, password_drop):
    sshd.put_file(PASSWORD_USER, "in/a.csv", b"a,b\n1,2\n", mtime=OLD.timestamp())
    sshd.put_file(PASSWORD_USER, "in/b.txt", b"x" * 5000)
    sshd.put_file(PASSWORD_USER, "in/sub/c.csv", b"c")
    with SftpSource(sftp_conn) as source:
        flat = {f.path: f for f in source.list_files(str(password_drop / "in"))}
    root = str(password_drop / "in")
    assert sorted(flat) == [f"{root}/a.csv", f"{root}/b.txt"]  # the subfolder is not a file
    assert flat[f"{root}/a.csv"].size == 8 and flat[f"{root}/a.csv"].mtime == OLD
    assert flat[f"{root}/b.txt"].size == 5000
    assert abs((flat[f"{root}/b.txt"].mtime - datetime.now(UTC)).total_seconds()) < 60


def test_recursive_listing_skips_archive_and_error_folders(sshd, sftp_conn, password_drop):
    for rel in (
        "in/a.csv",
        "in/sub/b.csv",
        "in/sub/deeper/c.csv",
        "in/processed/old.csv",
        "in/errors/bad.csv",
        "in/.hidden/d.csv",
    ):
        sshd.put_file(PASSWORD_USER, rel, b"1")
    root = str(password_drop / "in")
    with SftpSource(sftp_conn) as source:
        listed = source.list_files(root, recursive=True, skip_dirs=(f"{root}/processed", f"{root}/errors/"))
    assert sorted(f.path[len(root) + 1 :] for f in listed) == ["a.csv", "sub/b.csv", "sub/deeper/c.csv"]


def test_download_delete_upload(sshd, sftp_conn, password_drop, tmp_path: Path):
    sshd.put_file(PASSWORD_USER, "in/a.csv", b"payload")
    remote = str(password_drop / "in" / "a.csv")
    ack = tmp_path / "a.csv.ack.json"
    ack.write_text("{}")
    with SftpSource(sftp_conn) as source:
        source.download(remote, tmp_path / "dl" / "a.csv")
        source.delete(remote)
        delivered = source.upload(ack, str(password_drop / "acks" / "2026"), ack.name)
    assert (tmp_path / "dl" / "a.csv").read_bytes() == b"payload"
    assert not Path(remote).exists()
    assert delivered == str(password_drop / "acks" / "2026" / ack.name)
    assert Path(delivered).read_text() == "{}"


def test_move_creates_the_archive_folder_and_timestamps_a_collision(sshd, sftp_conn, password_drop):
    sshd.put_file(PASSWORD_USER, "in/a.csv", b"first")
    archive = str(password_drop / "archive" / "2026" / "11")  # neither level exists yet
    with SftpSource(sftp_conn) as source:
        first = source.move(str(password_drop / "in" / "a.csv"), archive)
        sshd.put_file(PASSWORD_USER, "in/a.csv", b"second")
        second = source.move(str(password_drop / "in" / "a.csv"), archive)
    assert first == f"{archive}/a.csv"
    assert re.fullmatch(re.escape(archive) + r"/a\.\d{8}T\d{12}Z\.csv", second), second
    assert Path(first).read_bytes() == b"first" and Path(second).read_bytes() == b"second"
    assert not (password_drop / "in" / "a.csv").exists()


def test_key_user_lists_with_its_key(sshd, monkeypatch, key_drop):
    sshd.put_file(KEY_USER, "k.csv", b"k")
    conn_id = set_connection(monkeypatch, "sftp_key", sshd.airflow_connection(KEY_USER))
    with SftpSource(conn_id) as source:
        assert [f.name for f in source.list_files(str(key_drop))] == ["k.csv"]


def _connect_error(conn_id: str, folder: str = "/") -> SourceError:
    with pytest.raises(SourceError) as caught, SftpSource(conn_id) as source:
        source.list_files(folder)
    return caught.value


def test_wrong_password_is_an_authentication_failure(sshd, monkeypatch):
    wrong = "Wrong-Pass-" + "z" * 12
    conn = sshd.airflow_connection(PASSWORD_USER) | {"password": wrong}
    failures_before = sshd.log_path.read_text().count(f"Failed password for {PASSWORD_USER}")
    error = _connect_error(set_connection(monkeypatch, "sftp_badpass", conn))
    assert "authentication failed" in str(error)
    assert error.transient is False
    # Tried once: repeating a wrong password only delays the error and can lock the account.
    time.sleep(0.5)  # sshd may log the failure just after the client gave up
    assert sshd.log_path.read_text().count(f"Failed password for {PASSWORD_USER}") == failures_before + 1
    assert wrong not in str(error) and sshd.users[PASSWORD_USER].password not in str(error)


def test_key_user_with_a_wrong_key_is_an_authentication_failure(sshd, monkeypatch, tmp_path: Path):
    import subprocess

    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    conn = sshd.airflow_connection(KEY_USER)
    conn["extra"] = {**conn["extra"], "private_key": other.read_text()}
    error = _connect_error(set_connection(monkeypatch, "sftp_badkey", conn))
    assert "authentication failed" in str(error)
    assert "PRIVATE KEY" not in str(error)


def test_wrong_pinned_host_key_is_refused(sshd, monkeypatch):
    conn = sshd.airflow_connection(PASSWORD_USER, host_key=sshd.wrong_host_key)
    error = _connect_error(set_connection(monkeypatch, "sftp_badhost", conn))
    assert "host key" in str(error)
    assert error.transient is False
    assert sshd.users[PASSWORD_USER].password not in str(error)


def test_closed_port_is_transient(sshd, monkeypatch):
    conn = sshd.airflow_connection(PASSWORD_USER) | {"port": free_port()}
    started = time.monotonic()
    error = _connect_error(set_connection(monkeypatch, "sftp_closed", conn))
    assert error.transient is True
    assert sshd.users[PASSWORD_USER].password not in str(error)
    assert time.monotonic() - started < 30


def test_missing_folder_says_no_such_file(sshd, sftp_conn, password_drop):
    error = _connect_error(sftp_conn, str(password_drop / "nowhere"))
    assert "no such file or directory" in str(error)
    assert error.transient is False


def test_missing_file_download_says_no_such_file(sshd, sftp_conn, password_drop, tmp_path: Path):
    with pytest.raises(SourceError) as caught, SftpSource(sftp_conn) as source:
        source.download(str(password_drop / "gone.csv"), tmp_path / "gone.csv")
    assert "no such file or directory" in str(caught.value)


def test_unreadable_folder_says_permission_denied(sshd, sftp_conn, password_drop):
    locked = password_drop / "locked"
    locked.mkdir()
    (locked / "secret.csv").write_bytes(b"1")
    os.chown(locked, 0, 0)  # owned by root, not by the SFTP user
    locked.chmod(0o000)
    try:
        error = _connect_error(sftp_conn, str(locked))
    finally:
        locked.chmod(0o755)
    assert "permission denied" in str(error)
    assert error.transient is False


# --- host keys are pinned, never trusted on first sight -----------------------


def test_a_connection_without_a_pinned_host_key_is_refused(sshd, monkeypatch):
    conn = sshd.airflow_connection(PASSWORD_USER)
    del conn["extra"]["host_key"]
    conn_id = set_connection(monkeypatch, "sftp_unpinned", conn)
    with pytest.raises(SourceError) as caught:
        SftpSource(conn_id)
    message = str(caught.value)
    assert message.startswith("SFTP connection 'sftp_unpinned': no host key pinned")
    assert "insecure_skip_host_key_check" in message and "\n" not in message
    assert caught.value.transient is False


def test_no_host_key_check_is_refused_unless_the_profile_says_insecure(sshd, monkeypatch, password_drop):
    conn = sshd.airflow_connection(PASSWORD_USER)
    del conn["extra"]["host_key"]
    conn["extra"]["no_host_key_check"] = True
    conn_id = set_connection(monkeypatch, "sftp_nocheck", conn)
    with pytest.raises(SourceError) as caught:
        SftpSource(conn_id)
    assert "no_host_key_check" in str(caught.value)
    # the profile's explicit, reported opt-out (courtfeed check warns about it)
    sshd.put_file(PASSWORD_USER, "x.csv", b"1")
    with SftpSource(conn_id, insecure_skip_host_key_check=True) as source:
        assert [f.name for f in source.list_files(str(password_drop))] == ["x.csv"]


def test_a_pinned_key_with_no_host_key_check_is_refused_in_one_line(sshd, monkeypatch):
    conn = sshd.airflow_connection(PASSWORD_USER)
    conn["extra"]["no_host_key_check"] = True
    with pytest.raises(SourceError) as caught:
        SftpSource(set_connection(monkeypatch, "sftp_both", conn))
    assert "no_host_key_check" in str(caught.value)


def test_a_pinned_key_still_counts_when_the_profile_opts_out(sshd, monkeypatch, password_drop):
    conn = sshd.airflow_connection(PASSWORD_USER, host_key=sshd.wrong_host_key)
    conn_id = set_connection(monkeypatch, "sftp_pinned_optout", conn)
    with pytest.raises(SourceError) as caught:
        with SftpSource(conn_id, insecure_skip_host_key_check=True) as source:
            source.list_files(str(password_drop))
    assert "host key does not match" in str(caught.value)


def test_no_login_attempt_reaches_a_server_whose_key_is_not_the_pinned_one(sshd, monkeypatch):
    mark = sshd.quiet_mark()
    conn = sshd.airflow_connection(PASSWORD_USER, host_key=sshd.wrong_host_key)
    error = _connect_error(set_connection(monkeypatch, "sftp_impostor", conn))
    assert "host key does not match" in str(error)
    sshd.settle()
    assert sshd.connections(mark)  # the client reached the server ...
    assert sshd.auth_attempts(PASSWORD_USER, mark) == []  # ... and asked for no login


@pytest.mark.parametrize(
    "extra",
    [
        {"host_key": None},
        {"host_key": None, "no_host_key_check": True},
        {"no_host_key_check": "true"},
        {"host_key": None, "ignore_hostkey_verification": "True"},
        {"allow_host_key_change": True},
    ],
    ids=["unpinned", "no_host_key_check", "pinned_and_no_check", "old_name", "allow_host_key_change"],
)
def test_a_refused_connection_never_reaches_the_server(sshd, monkeypatch, extra):
    conn = sshd.airflow_connection(PASSWORD_USER)
    conn["extra"] = {k: v for k, v in {**conn["extra"], **extra}.items() if v is not None}
    mark = sshd.quiet_mark()
    with pytest.raises(HostKeyRefused) as caught:
        with SftpSource(set_connection(monkeypatch, "sftp_refused", conn)) as source:
            source.list_files("/")
    assert "\n" not in str(caught.value) and sshd.users[PASSWORD_USER].password not in str(caught.value)
    sshd.settle()
    assert sshd.connections(mark) == [] and sshd.auth_attempts(PASSWORD_USER, mark) == []


# --- only regular files, never a link -----------------------------------------


def _link_as(user: str, link: Path, target: Path) -> None:
    link.symlink_to(target)
    os.lchown(link, *_ids(user))


def _ids(user: str) -> tuple[int, int]:
    import pwd

    account = pwd.getpwnam(user)
    return account.pw_uid, account.pw_gid


def test_a_symlink_in_the_folder_is_not_listed(sshd, sftp_conn, password_drop, tmp_path):
    secret = password_drop / "private" / "secret.csv"
    sshd.put_file(PASSWORD_USER, "private/secret.csv", b"other agency's rows")
    sshd.put_file(PASSWORD_USER, "in/real.csv", b"a")
    _link_as(PASSWORD_USER, password_drop / "in" / "evil.csv", secret)
    with SftpSource(sftp_conn) as source:
        listed = source.list_files(str(password_drop / "in"))
        assert [f.name for f in listed] == ["real.csv"]
        # asked for by name (a forced reprocess), the link is still refused
        with pytest.raises(SourceError) as caught:
            source.download(str(password_drop / "in" / "evil.csv"), tmp_path / "evil.csv")
    assert "not a regular file" in str(caught.value)
    assert not (tmp_path / "evil.csv").exists()


def test_a_file_swapped_for_a_link_after_listing_is_refused(sshd, sftp_conn, password_drop, tmp_path):
    secret = sshd.put_file(PASSWORD_USER, "private/secret.csv", b"other agency's rows, longer")
    sshd.put_file(PASSWORD_USER, "in/a.csv", b"a,b\n1,2\n", mtime=OLD.timestamp())
    remote = password_drop / "in" / "a.csv"
    with SftpSource(sftp_conn) as source:
        (listed,) = source.list_files(str(password_drop / "in"))
        remote.unlink()
        _link_as(PASSWORD_USER, remote, secret)
        with pytest.raises(SourceError) as caught:
            source.download(listed.path, tmp_path / "a.csv", expected=listed)
    assert "not a regular file" in str(caught.value)
    assert not (tmp_path / "a.csv").exists()


def test_a_file_changed_after_listing_is_refused(sshd, sftp_conn, password_drop, tmp_path):
    sshd.put_file(PASSWORD_USER, "in/a.csv", b"a,b\n1,2\n", mtime=OLD.timestamp())
    with SftpSource(sftp_conn) as source:
        (listed,) = source.list_files(str(password_drop / "in"))
        sshd.put_file(PASSWORD_USER, "in/a.csv", b"a,b\n1,2\n3,4\n", mtime=OLD.timestamp())
        with pytest.raises(SourceError) as caught:
            source.download(listed.path, tmp_path / "a.csv", expected=listed)
        assert "changed since it was listed" in str(caught.value)
        assert caught.value.transient is True  # the next cycle takes the new version
        sshd.put_file(PASSWORD_USER, "in/a.csv", b"a,b\n1,2\n", mtime=OLD.timestamp())
        source.download(listed.path, tmp_path / "a.csv", expected=listed)
    assert (tmp_path / "a.csv").read_bytes() == b"a,b\n1,2\n"


@pytest.mark.parametrize("after_load", ["archive", "delete"])
def test_finalize_repeated_after_the_file_was_moved_succeeds(
    sshd, sftp_conn, password_drop, tmp_path: Path, after_load
):
    """A finalize killed after it archived (or deleted) the file is retried: the retry finds the
    file gone, says so, delivers the acknowledgement again and does not fail."""
    from courtfeed.config.profile import Profile
    from courtfeed.pipeline.finalize import finalize_stage
    from courtfeed.pipeline.work import FileWork

    sshd.put_file(PASSWORD_USER, "in/metro_hearings_a.txt", b"payload")
    drop = str(password_drop / "in")
    profile = Profile(
        name="metro",
        agency="metro",
        template="metro_hearings",
        source={"connection": sftp_conn, "directory": drop},
        after_load=after_load,
        archive_directory=f"{drop}/processed",
        reports_directory=str(password_drop / "acks"),
    )

    def attempt() -> dict:
        work = FileWork(
            upload_id="0123456789abcdef",
            name="metro_hearings_a.txt",
            path=f"{drop}/metro_hearings_a.txt",
            local_path=str(tmp_path / "staging" / "file"),
            workdir=str(tmp_path / "staging"),
            template="metro_hearings",
            agency="metro",
            profile="metro",
            status="loaded",
        )
        with SftpSource(sftp_conn) as source:
            return finalize_stage([work], profile, source, tmp_path / "acks")

    first = attempt()
    retried = attempt()  # as the retry of an attempt killed right after the move

    assert first["actions"][0] in ("deleted", f"archived to {drop}/processed/metro_hearings_a.txt")
    assert retried["actions"][0] == "already moved or deleted by an earlier attempt"
    assert not Path(drop, "metro_hearings_a.txt").exists()
    archived = sorted(p.name for p in Path(drop, "processed").glob("*")) if after_load == "archive" else []
    assert archived == (["metro_hearings_a.txt"] if after_load == "archive" else [])  # not archived twice
    assert sorted(p.name for p in (password_drop / "acks").iterdir()) == [
        "metro_hearings_a.txt.01234567.ack.json",
        "metro_hearings_a.txt.01234567.rejects.csv",
    ]  # delivered by both attempts, under the same names


def test_download_returns_the_sha256_of_a_file_bigger_than_the_reads_in_flight(
    sshd, sftp_conn, password_drop, tmp_path: Path
):
    import hashlib

    # Several MiB: many reads of the server's largest size, arriving in any order.
    payload = os.urandom(9 * 1024 * 1024 + 12345)
    sshd.put_file(PASSWORD_USER, "in/big.bin", payload)
    with SftpSource(sftp_conn) as source:
        digest = source.download(str(password_drop / "in" / "big.bin"), tmp_path / "big.bin")
    assert (tmp_path / "big.bin").read_bytes() == payload
    assert digest == hashlib.sha256(payload).hexdigest()


def test_a_download_opens_one_connection_and_a_listing_opens_its_own_when_needed(
    sshd, sftp_conn, password_drop, tmp_path: Path
):
    # The fetch task only downloads: its paramiko connection is opened when something needs it.
    sshd.put_file(PASSWORD_USER, "in/one.csv", b"a,b\n1,2\n")
    mark = sshd.quiet_mark()
    with SftpSource(sftp_conn) as source:
        source.download(str(password_drop / "in" / "one.csv"), tmp_path / "one.csv")
    sshd.settle()
    assert len(sshd.connections(mark)) == 1  # the async download's, nothing else
    mark = sshd.quiet_mark()
    with SftpSource(sftp_conn) as source:
        assert [f.name for f in source.list_files(str(password_drop / "in"))] == ["one.csv"]
        source.list_files(str(password_drop / "in"))  # the same connection again
    sshd.settle()
    assert len(sshd.connections(mark)) == 1


def test_a_copy_that_differs_from_what_arrived_is_refused(
    sshd, sftp_conn, password_drop, tmp_path: Path, monkeypatch
):
    from courtfeed.sources import sftp_download

    sshd.put_file(PASSWORD_USER, "in/a.csv", b"a,b\n1,2\n" * 1000)
    real = sftp_download.download

    def corrupting(*args, **kwargs):
        received = real(*args, **kwargs)
        local = args[3]
        data = bytearray(local.read_bytes())
        data[100] ^= 0x01  # one bit flipped on its way to the disk
        local.write_bytes(bytes(data))
        return received

    monkeypatch.setattr(sftp_download, "download", corrupting)
    with pytest.raises(SourceError) as caught, SftpSource(sftp_conn) as source:
        source.download(str(password_drop / "in" / "a.csv"), tmp_path / "a.csv")
    assert "does not match what the server sent" in str(caught.value)
    assert caught.value.transient is True  # downloaded again by the retry
    assert not (tmp_path / "a.csv").exists()


def test_the_parallel_download_verifies_the_pinned_host_key(sshd, password_drop, monkeypatch, tmp_path):
    from courtfeed.sources import sftp_download

    sshd.put_file(PASSWORD_USER, "in/a.csv", b"a")
    conn = sshd.airflow_connection(PASSWORD_USER, host_key=sshd.wrong_host_key)
    conn_id = set_connection(monkeypatch, "sftp_other_key", conn)
    with pytest.raises(SourceError) as caught:
        sftp_download.download(
            conn_id, False, str(password_drop / "in" / "a.csv"), tmp_path / "a.csv", lambda *_: None
        )
    assert "host key does not match" in str(caught.value)
    assert not (tmp_path / "a.csv").exists()


def test_a_download_tries_again_when_the_server_refuses_the_connection_once(
    sshd, sftp_conn, password_drop, tmp_path: Path, monkeypatch
):
    import asyncssh
    from airflow.providers.sftp.hooks.sftp import SFTPHookAsync

    from courtfeed.sources import sftp_download

    sshd.put_file(PASSWORD_USER, "in/a.csv", b"a,b\n1,2\n" * 1000)
    real = SFTPHookAsync.get_managed_conn
    refused: list[int] = []

    def refusing_once(self):
        if not refused:
            refused.append(1)
            # what a client sees when sshd drops it at MaxStartups
            raise asyncssh.ConnectionLost("Connection lost")
        return real(self)

    monkeypatch.setattr(SFTPHookAsync, "get_managed_conn", refusing_once)
    monkeypatch.setattr(sftp_download, "CONNECT_RETRY_SECONDS", 0.01)
    with SftpSource(sftp_conn) as source:
        source.download(str(password_drop / "in" / "a.csv"), tmp_path / "a.csv")
    assert refused == [1]
    assert (tmp_path / "a.csv").read_bytes() == b"a,b\n1,2\n" * 1000
