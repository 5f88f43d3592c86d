"""A private PostgreSQL 15 server on a loopback port, run by the postgres user from a temp folder.

PostgreSQL refuses to run as root, so initdb and pg_ctl run through `runuser -u postgres` on a data
folder that user owns. TCP logins need the password (scram), as in production; the local socket
is trusted so the helpers can administer the server without one.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.services._process import (
    free_port,
    make_state_dir,
    read_log_tail,
    register_cleanup,
    remove_tree,
    start_reaper,
    stop_reaper,
    unregister_cleanup,
)

ADMIN_USER = "courtfeed"
DEFAULT_DATABASE = "courtfeed"
MAX_PREPARED_TRANSACTIONS = 100


def find_pg_bin() -> Path:
    """Debian's versioned bin folder, newest first (pg_ctl on PATH is a Debian wrapper)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries are missing: run scripts/install-system-deps.sh (postgresql)"
        )
    return Path(candidates[0]).parent


@dataclass
class PostgresService:
    host: str
    port: int
    user: str
    password: str
    socket_dir: Path
    data_dir: Path
    base_dir: Path
    bin_dir: Path
    log_path: Path
    _reaper: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def psql_path(self) -> str:
        return str(self.bin_dir / "psql")

    def url_for(self, database: str, driver: str = "psycopg2") -> str:
        """SQLAlchemy URL of a database on this server (driver "psycopg" for psycopg 3)."""
        return f"postgresql+{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for(DEFAULT_DATABASE)

    @property
    def admin_url(self) -> str:
        return self.url_for("postgres")

    def dsn(self, database: str = DEFAULT_DATABASE) -> str:
        """libpq form, for psycopg/psycopg2.connect and psql."""
        return (
            f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={database}"
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through psql over the trusted socket; raises RuntimeError on error."""
        result = subprocess.run(
            [
                self.psql_path,
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name must be letters, digits and underscores: {name!r}")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        # Prepared transactions keep a database in use, and only a session in that database
        # can end them (a test that fails halfway through a two-phase load leaves some).
        try:
            gids = self.psql("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()", name)
        except RuntimeError:
            gids = ""  # no such database
        for gid in filter(None, gids.splitlines()):
            self.psql("ROLLBACK PREPARED '{}'".format(gid.replace("'", "''")), name)
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        unregister_cleanup(self.stop)
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                [
                    "runuser",
                    "-u",
                    "postgres",
                    "--",
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "-w",
                    "-t",
                    "20",
                    "stop",
                ],
                capture_output=True,
            )
            self._kill_leftover()
        stop_reaper(self._reaper)
        remove_tree(self.base_dir)

    def _kill_leftover(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def _as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, **kwargs)


def start_postgres(start_timeout: int = 30, durable: bool = False) -> PostgresService:
    bin_dir = find_pg_bin()
    try:
        account = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("the postgres system user is missing: install the postgresql package") from exc
    if shutil.which("runuser") is None:
        raise RuntimeError("runuser is missing (util-linux)")

    base = make_state_dir("courtfeed-postgres-")
    data_dir, socket_dir = base / "data", base / "socket"
    password = secrets.token_urlsafe(18)
    for folder in (data_dir, socket_dir):
        folder.mkdir(mode=0o700)
        os.chown(folder, account.pw_uid, account.pw_gid)
    password_file = base / "password"
    password_file.write_text(password + "\n")
    os.chown(password_file, account.pw_uid, account.pw_gid)
    password_file.chmod(0o600)
    log_path = base / "postgres.log"
    log_path.touch()
    os.chown(log_path, account.pw_uid, account.pw_gid)

    service = PostgresService(
        host="127.0.0.1",
        port=0,
        user=ADMIN_USER,
        password=password,
        socket_dir=socket_dir,
        data_dir=data_dir,
        base_dir=base,
        bin_dir=bin_dir,
        log_path=log_path,
    )
    initdb = _as_postgres(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            ADMIN_USER,
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        ]
    )
    password_file.unlink()
    if initdb.returncode != 0:
        remove_tree(base)
        raise RuntimeError(f"initdb failed: {initdb.stderr.strip()[-2000:]}")

    register_cleanup(service.stop)
    pg_ctl, data = shlex.quote(str(bin_dir / "pg_ctl")), shlex.quote(str(data_dir))
    service._reaper = start_reaper(
        f"runuser -u postgres -- {pg_ctl} -D {data} -m immediate -w stop; rm -rf {shlex.quote(str(base))}"
    )
    last_error = ""
    # A free port can be taken before the server binds it: try a few.
    for _attempt in range(3):
        service.port = free_port()
        # Durability is pointless for throwaway test data and costs seconds per test, except for
        # a server a test crashes on purpose: with synchronous_commit=off an immediate shutdown
        # loses commits the client was already told about, as no production server would.
        # max_prepared_transactions: the loader's parallel path prepares one transaction per
        # entity connection (target/parallel.py); 0, PostgreSQL's default, turns it off.
        options = (
            f"-p {service.port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
            f" -c max_prepared_transactions={MAX_PREPARED_TRANSACTIONS}"
        )
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        started = _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(log_path),
                "-o",
                options,
                "-w",
                "-t",
                str(start_timeout),
                "start",
            ],
            stdin=subprocess.DEVNULL,
        )
        if started.returncode == 0:
            try:
                service.psql(f'CREATE DATABASE "{DEFAULT_DATABASE}"')
            except RuntimeError:
                service.stop()
                raise
            return service
        last_error = read_log_tail(log_path)
        service._kill_leftover()
    service.stop()
    raise RuntimeError(f"PostgreSQL did not start; its log ends with:\n{last_error}")
