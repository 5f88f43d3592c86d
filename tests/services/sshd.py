"""A private OpenSSH sshd on a loopback port, with one password user and one key user.

The users are real local accounts (sshd authenticates through PAM and /etc/passwd). They are
created once per machine and reused: several test sessions may run at the same time, so the
password of the password user is kept in a root-only file instead of being changed per session.
Everything else (config, host keys, authorized keys, drop folders, log) lives in a temp folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import secrets
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.services._process import (
    free_port,
    make_state_dir,
    port_is_open,
    read_log_tail,
    register_cleanup,
    remove_tree,
    start_reaper,
    stop_process,
    stop_reaper,
    unregister_cleanup,
    wait_until,
)

SSHD = "/usr/sbin/sshd"
PASSWORD_USER = "cfpass"
KEY_USER = "cfkey"
# Root-only machine-wide state for the shared test accounts (not test data).
USER_STATE_DIR = Path("/var/lib/courtfeed-test-users")


@dataclass
class SshUser:
    name: str
    drop_dir: Path
    password: str | None = None
    private_key_path: Path | None = None
    private_key: str | None = None


@dataclass
class SshdService:
    host: str
    port: int
    host_key: str
    wrong_host_key: str
    users: dict[str, SshUser]
    base_dir: Path
    log_path: Path
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _reaper: subprocess.Popen | None = field(default=None, repr=False)

    def drop_dir(self, user: str) -> Path:
        """The folder the user lands in over SFTP; files put here are what tests pick up."""
        return self.users[user].drop_dir

    def chown_to(self, user: str, path: Path | str) -> None:
        """Give a file or folder (recursively) written by root to the SSH user."""
        account = pwd.getpwnam(user)
        path = Path(path)
        targets = [path, *path.rglob("*")] if path.is_dir() else [path]
        for target in targets:
            os.chown(target, account.pw_uid, account.pw_gid)

    def put_file(self, user: str, relative_path: str, data: bytes | str, mtime: float | None = None) -> Path:
        """Write a file into the user's drop folder (creating subfolders), owned by that user.

        `mtime` lets tests make a file look old enough (or too fresh) to be picked up.
        """
        drop = self.drop_dir(user)
        target = drop / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        target.write_bytes(data)
        if mtime is not None:
            os.utime(target, (mtime, mtime))
        # Chown every folder created between the drop folder and the file as well.
        current = target
        while current != drop:
            self.chown_to(user, current)
            current = current.parent
        return target

    def airflow_connection(self, user: str, *, host_key: str | None = None) -> dict:
        """The connection in Airflow's JSON form (usable as AIRFLOW_CONN_<ID>).

        The host key is pinned as "<type> <base64>", which both the sync SFTPHook and the
        async SFTPHookAsync accept. Pass `host_key=service.wrong_host_key` to get a connection
        that must be refused.
        """
        account = self.users[user]
        extra: dict = {
            "host_key": host_key or self.host_key,
            "conn_timeout": 10,
            # Never fall back to keys in root's ~/.ssh: each test user proves its own method.
            "look_for_keys": "false",
        }
        conn: dict = {"conn_type": "sftp", "host": self.host, "port": self.port, "login": user}
        if account.password is not None:
            conn["password"] = account.password
        if account.private_key is not None:
            extra["private_key"] = account.private_key
        conn["extra"] = extra
        return conn

    def airflow_connection_json(self, user: str, *, host_key: str | None = None) -> str:
        return json.dumps(self.airflow_connection(user, host_key=host_key))

    def airflow_connection_uri(self, user: str, *, host_key: str | None = None) -> str:
        """The same connection as an Airflow URI; extras travel as JSON in `__extra__`."""
        conn = self.airflow_connection(user, host_key=host_key)
        credentials = quote(conn["login"], safe="")
        if "password" in conn:
            credentials += ":" + quote(conn["password"], safe="")
        extra = quote(json.dumps(conn["extra"]), safe="")
        return f"sftp://{credentials}@{self.host}:{self.port}/?__extra__={extra}"

    def log_mark(self) -> int:
        """Where sshd's log ends now: pass it to ``auth_attempts`` to see only what follows."""
        return self.log_path.stat().st_size

    def quiet_mark(self) -> int:
        """``log_mark`` once earlier connections (the start-up probe's too) are logged."""
        self.settle()
        return self.log_mark()

    def log_since(self, mark: int) -> list[str]:
        with open(self.log_path, "rb") as log:
            log.seek(mark)
            return log.read().decode(errors="replace").splitlines()

    def auth_attempts(self, user: str, mark: int) -> list[str]:
        """sshd's log lines since ``mark`` in which a client asked to authenticate as ``user``
        (any method, "none" included: LogLevel DEBUG1 logs each userauth request) or was
        accepted or refused."""
        words = (f"userauth-request for user {user} ", f" for {user} from ", f"user {user} ")
        return [line for line in self.log_since(mark) if any(w in line for w in words)]

    def settle(self, quiet_seconds: float = 1.0, timeout: float = 15.0) -> None:
        """Wait until sshd's log has stopped growing (its children log as they finish)."""
        deadline = time.monotonic() + timeout
        size = self.log_mark()
        while time.monotonic() < deadline:
            time.sleep(quiet_seconds)
            now = self.log_mark()
            if now == size:
                return
            size = now

    def connections(self, mark: int) -> list[str]:
        """sshd's "Connection from" lines since ``mark``: a client reached the server."""
        return [line for line in self.log_since(mark) if "Connection from " in line]

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, grace_seconds=3)
            self._proc = None
        stop_reaper(self._reaper)
        unregister_cleanup(self.stop)
        remove_tree(self.base_dir)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def _ensure_user(name: str) -> str:
    """Create the local account if missing and return its (persisted) password."""
    USER_STATE_DIR.mkdir(mode=0o700, exist_ok=True)
    with open(USER_STATE_DIR / "users.lock", "w") as lock:
        # Concurrent sessions must agree on one password per user.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(name)
        except KeyError:
            # nologin: the accounts only ever run sshd's in-process internal-sftp.
            _run(
                [
                    "useradd",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    name,
                ]
            )
        password_file = USER_STATE_DIR / f"{name}.password"
        if password_file.exists():
            return password_file.read_text().strip()
        password = secrets.token_urlsafe(18)
        # A set password also keeps the account from counting as locked for key logins.
        _run(["chpasswd"], input=f"{name}:{password}\n")
        password_file.write_text(password)
        password_file.chmod(0o600)
        return password


def _keygen(path: Path, comment: str) -> None:
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def _public_key(path: Path) -> str:
    """ "ssh-ed25519 AAAA..." without the comment, as ssh-keyscan prints it."""
    kind, data = Path(f"{path}.pub").read_text().split()[:2]
    return f"{kind} {data}"


def _config(base: Path, port: int) -> str:
    return f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {base}/host_key
PidFile {base}/sshd.pid
AuthorizedKeysFile {base}/authorized_keys/%u
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
StrictModes no
PermitRootLogin no
AllowUsers {PASSWORD_USER} {KEY_USER}
DisableForwarding yes
# DEBUG1: every userauth request is logged (method "none" too), so a test can show that a client
# refused before authenticating sent nothing; VERBOSE logs only some methods' outcomes.
LogLevel DEBUG1
Subsystem sftp internal-sftp -d {base}/home/%u

Match User {KEY_USER}
    PasswordAuthentication no
"""


def start_sshd(start_timeout: float = 10.0) -> SshdService:
    if not Path(SSHD).exists():
        raise RuntimeError(f"{SSHD} is missing: run scripts/install-system-deps.sh (openssh-server)")
    if os.geteuid() != 0:
        raise RuntimeError("the test sshd needs root (it runs PAM logins for real local users)")

    base = make_state_dir("courtfeed-sshd-")
    try:
        # sshd's privilege separation folder; Debian's unit file normally creates it.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        _keygen(base / "host_key", "courtfeed-test-host")
        _keygen(base / "wrong_host_key", "courtfeed-test-other-host")
        (base / "authorized_keys").mkdir(mode=0o755)
        (base / "home").mkdir(mode=0o755)
        keys_dir = base / "client_keys"
        keys_dir.mkdir(mode=0o700)

        users: dict[str, SshUser] = {}
        for name in (PASSWORD_USER, KEY_USER):
            password = _ensure_user(name)
            drop = base / "home" / name
            drop.mkdir(mode=0o755)
            account = pwd.getpwnam(name)
            os.chown(drop, account.pw_uid, account.pw_gid)
            users[name] = SshUser(name=name, drop_dir=drop)
            if name == PASSWORD_USER:
                users[name].password = password

        key_path = keys_dir / KEY_USER
        _keygen(key_path, "courtfeed-test-client")
        (base / "authorized_keys" / KEY_USER).write_text(Path(f"{key_path}.pub").read_text())
        users[KEY_USER].private_key_path = key_path
        users[KEY_USER].private_key = key_path.read_text()
    except (OSError, subprocess.CalledProcessError) as exc:
        remove_tree(base)
        detail = getattr(exc, "stderr", "") or ""
        raise RuntimeError(f"could not prepare the test sshd: {exc} {detail}".strip()) from exc

    log_path = base / "sshd.log"
    config_path = base / "sshd_config"
    last_error = ""
    # A free port can be taken between choosing it and sshd binding it: try a few.
    for _attempt in range(3):
        port = free_port()
        config_path.write_text(_config(base, port))
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        service = SshdService(
            host="127.0.0.1",
            port=port,
            host_key=_public_key(base / "host_key"),
            wrong_host_key=_public_key(base / "wrong_host_key"),
            users=users,
            base_dir=base,
            log_path=log_path,
            _proc=proc,
        )
        register_cleanup(service.stop)
        if wait_until(lambda p=proc, n=port: p.poll() is not None or port_is_open(n), start_timeout):
            if proc.poll() is None:
                service._reaper = start_reaper(f"kill -9 -{proc.pid}; rm -rf {shlex.quote(str(base))}")
                return service
        last_error = read_log_tail(log_path)
        stop_process(proc, grace_seconds=1)
        unregister_cleanup(service.stop)
    remove_tree(base)
    raise RuntimeError(f"the test sshd did not start; its log ends with:\n{last_error}")
