"""Doctor checks of an SFTP profile, through the SFTP provider's hook the DAG's tasks use:
the connection, the server's port, its host key against the pinned one (the host key rule of
``courtfeed.sources.hostkeys``, as the workers and the watcher apply it), the login, the
directory, and write access to the archive, error and report folders."""

from __future__ import annotations

import io
import posixpath
import uuid

from courtfeed.config.profile import Profile
from courtfeed.doctor.connections import get_connection, missing_connection_hint, reachable
from courtfeed.doctor.report import Recorder
from courtfeed.sources.hostkeys import HostKeyCheck, HostKeyRefused, host_key_check

DEFAULT_PORT = 22


def server_key(host: str, port: int, timeout: float = 10.0):
    """The key the server presents, read from the SSH handshake alone (no login, no trust): only
    shown to the engineer, who confirms it with the agency before pinning it."""
    import paramiko

    sock = __import__("socket").create_connection((host, port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    finally:
        transport.close()


def fingerprint(key) -> str:
    return f"{key.get_name()} {key.fingerprint}"


def _keyscan(host: str, port: int) -> str:
    return f"`ssh-keyscan -p {port} {host}`" if port != DEFAULT_PORT else f"`ssh-keyscan {host}`"


def probe_folder(sftp, folder: str) -> tuple[bool, str]:
    """Create the folder if missing (the DAG's move/upload would), then write and remove a
    zero-byte probe file. (passed, what happened)."""
    created = False
    try:
        sftp.stat(folder)
    except FileNotFoundError:
        current = "/" if folder.startswith("/") else ""
        for part in filter(None, posixpath.normpath(folder).split("/")):
            current = posixpath.join(current, part)
            try:
                sftp.stat(current)
            except FileNotFoundError:
                sftp.mkdir(current)
                created = True
    probe = posixpath.join(folder, f".courtfeed-doctor-{uuid.uuid4().hex[:12]}.probe")
    sftp.putfo(io.BytesIO(b""), probe, confirm=False)
    sftp.remove(probe)
    return True, ("created, " if created else "") + "writable (zero-byte probe written and removed)"


def check_sftp(profile: Profile, rec: Recorder) -> None:
    conn_id = profile.source.connection
    conn = get_connection(conn_id)
    if conn is None:
        rec.fail(
            "connection",
            f"Airflow connection '{conn_id}' is not defined",
            missing_connection_hint(conn_id, "sftp"),
        )
        return
    if (conn.conn_type or "").lower() not in ("sftp", "ssh"):
        rec.fail(
            "connection",
            f"'{conn_id}' has type {conn.conn_type!r}, a directory source needs sftp",
            "set the connection type to sftp, or use source.bucket for an S3 connection",
        )
        return
    extra = conn.extra_dejson or {}
    host, port = conn.host or "", int(conn.port or DEFAULT_PORT)
    method = "key" if (extra.get("private_key") or extra.get("key_file")) else "password"
    rec.ok("connection", f"'{conn_id}': sftp {host}:{port}, login {conn.login}, {method}")

    problem = reachable(host, port)
    if problem:
        rec.fail(
            "server reachable",
            problem,
            f"check host and port of '{conn_id}', and that this machine may reach the server "
            "(firewall, the agency's IP allow-list)",
        )
        for name in ("host key", "login", "directory"):
            rec.skip(name, "not tried: the server is not reachable")
        return
    rec.ok("server reachable", f"{host}:{port} accepts connections")

    try:
        check = host_key_check(
            conn_id, extra, insecure_skip_host_key_check=profile.source.insecure_skip_host_key_check
        )
    except HostKeyRefused as refused:
        _refused_host_key(rec, conn_id, host, port, refused.skip)
        return
    _log_in(profile, rec, conn, check)


def _refused_host_key(rec: Recorder, conn_id: str, host: str, port: int, skip: str | None) -> None:
    """The host key rule refused the connection: say why, and show the key the server presents
    (read from the handshake alone: no login, no credentials sent)."""
    try:
        shown = fingerprint(server_key(host, port))
    except Exception as exc:
        shown = f"(could not read it: {type(exc).__name__})"
    why = f"'{conn_id}' sets {skip}" if skip else f"no host key pinned in '{conn_id}' (extra 'host_key')"
    rec.fail(
        "host key",
        f"{why}; the server presents {shown}",
        f"confirm that fingerprint with the agency, then pin the key {_keyscan(host, port)} prints "
        f"in the connection's extra 'host_key'{f' and remove {skip}' if skip else ''}; never connect "
        "unverified (source.insecure_skip_host_key_check: true is for a throw-away test server only)",
    )
    rec.skip("login", "not tried: no credentials are sent to an unverified server")


def _log_in(profile: Profile, rec: Recorder, conn, check: HostKeyCheck) -> None:
    import paramiko
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    conn_id, extra = conn.conn_id, conn.extra_dejson or {}
    host, port = conn.host or "", int(conn.port or DEFAULT_PORT)
    method = "key" if (extra.get("private_key") or extra.get("key_file")) else "password"
    verified = (
        f"matches the key pinned in '{conn_id}'"
        if check.pinned
        else "NOT VERIFIED: the profile sets source.insecure_skip_host_key_check (a test server only)"
    )
    hook = SFTPHook(ssh_conn_id=conn_id, conn_retry_attempts=1, no_host_key_check=check.no_host_key_check)
    try:
        managed = hook.get_managed_conn()
        sftp = managed.__enter__()
    except paramiko.BadHostKeyException as exc:
        rec.fail(
            "host key",
            f"MISMATCH: the server presents {fingerprint(exc.key)}, not the key pinned in '{conn_id}' "
            f"({fingerprint(exc.expected_key)})",
            "do not re-pin blindly: ask the agency whether the server was re-keyed and to confirm the "
            f"new fingerprint; only then pin what {_keyscan(host, port)} prints",
            server_fingerprint=exc.key.fingerprint,
        )
        rec.skip("login", "not tried: the host key does not match")
        return
    except paramiko.AuthenticationException:
        rec.ok("host key", verified)
        rec.fail(
            "login",
            f"{method} login of '{conn.login}' refused",
            f"check login and {'private key (extra private_key)' if method == 'key' else 'password'} "
            f"of '{conn_id}' with the agency",
        )
        return
    except Exception as exc:
        rec.fail(
            "login",
            f"SSH session failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            f"check '{conn_id}' (host, port, extras) and the server's SSH settings",
        )
        return
    try:
        rec.ok("host key", verified)
        rec.ok("login", f"{method} login of '{conn.login}' works")
        _check_folders(profile, sftp, rec, conn.login)
    finally:
        managed.__exit__(None, None, None)


def _check_folders(profile: Profile, sftp, rec: Recorder, login: str) -> None:
    directory = profile.source.directory or ""
    try:
        entries = sftp.listdir_attr(directory)
        rec.ok("directory", f"{directory} exists and is listable ({len(entries)} entries)")
    except FileNotFoundError:
        rec.fail(
            "directory",
            f"{directory} does not exist on the server",
            f"ask the agency for the folder their exports land in and set source.directory, "
            f"or create {directory}",
        )
    except PermissionError:
        rec.fail(
            "directory",
            f"{directory} exists but '{login}' may not list it",
            f"ask the agency to grant '{login}' read and list rights on {directory}",
        )
    for name, folder in (
        ("archive folder", profile.archive_directory if profile.after_load == "archive" else None),
        ("error folder", profile.error_directory),
        ("reports folder", profile.reports_directory),
    ):
        if not folder:
            continue
        try:
            _, what = probe_folder(sftp, folder)
            rec.ok(name, f"{folder} {what}")
        except PermissionError:
            rec.fail(
                name,
                f"{folder}: permission denied for '{login}' (cannot create or write a file)",
                f"ask the agency to make {folder} writable for '{login}', or point the profile elsewhere",
            )
        except OSError as exc:
            rec.fail(
                name,
                f"{folder}: {exc.strerror or type(exc).__name__}",
                f"check that {folder} is a folder '{login}' may write to",
            )
