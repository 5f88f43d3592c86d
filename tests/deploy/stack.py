"""The production stack, started for real: Docker engine, images, `docker-compose up`, teardown.

scripts/stack/ does the engine (engine.sh), the local Debian base (base.sh) and the images
(build.sh); this module drives docker-compose with a generated .env, SSH keys and an include/
folder under .run/stack/, and talks to the stack only through published loopback ports: the
Airflow REST API, the hosted SFTP drop box and the target PostgreSQL.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "stack"
COMPOSE_FILE = REPO / "docker-compose.yaml"
STACK_OVERRIDE = Path(__file__).with_name("compose.stack.yaml")
PROJECT = "courtfeedstack"
AGENCIES = ("agencya", "agencyb")
WATCHED_PROFILE = "stack_watched"
WORKERS = 2


def stack_env() -> dict[str, str]:
    """The environment scripts/stack/env.sh sets up (DOCKER_HOST, STACK_RUN, base image)."""
    out = subprocess.run(
        ["bash", "-c", f"source {SCRIPTS / 'env.sh'} && env -0"], capture_output=True, check=True
    ).stdout
    env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    return {
        **os.environ,
        **{k: env[k] for k in ("DOCKER_HOST", "STACK_RUN", "STACK_EXEC_ROOT", "STACK_BASE_IMAGE")},
    }


def run_script(name: str, *args: str, env: dict, timeout: float) -> str:
    proc = subprocess.run(
        ["bash", str(SCRIPTS / name), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"{name} {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ed25519_keypair(path: Path) -> tuple[Path, str]:
    """(private key file, public key line) made by ssh-keygen."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True
    )
    return path, Path(f"{path}.pub").read_text().strip()


@dataclass
class Stack:
    env: dict[str, str]
    run_dir: Path
    timings: dict[str, float] = field(default_factory=dict)
    keys: dict[str, Path] = field(default_factory=dict)
    host_key_public: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    engine_started_here: bool = False
    torn_down: bool = False
    # the compose files, in order (the burst bench adds its own override)
    compose_files: ClassVar[tuple[Path, ...]] = (COMPOSE_FILE, STACK_OVERRIDE)

    # -- docker / compose ----------------------------------------------------------------------
    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        proc = subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check:
            assert proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr[-2000:]}"
        return proc.stdout

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [
            "docker-compose",
            "--project-name",
            PROJECT,
            "--env-file",
            str(self.run_dir / "stack.env"),
            *(arg for file in self.compose_files for arg in ("-f", str(file))),
            *args,
        ]
        proc = subprocess.run(cmd, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"docker-compose {' '.join(args)}:\n{proc.stderr[-4000:]}"
        return proc

    def containers(self, service: str | None = None, all_states: bool = False) -> list[str]:
        args = ["ps", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"]
        if service:
            args += ["--filter", f"label=com.docker.compose.service={service}"]
        if all_states:
            args.append("-a")
        return self.docker(*args).split()

    def hostname_of(self, container: str) -> str:
        return self.docker("inspect", "-f", "{{.Config.Hostname}}", container).strip()

    def worker_hostnames(self) -> dict[str, str]:
        """hostname -> container id of each running Celery worker."""
        return {self.hostname_of(c): c for c in self.containers("airflow-worker")}

    def container_log(self, container: str) -> str:
        proc = subprocess.run(
            ["docker", "logs", container], env=self.env, capture_output=True, text=True, timeout=60
        )
        return proc.stdout + proc.stderr

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "200", service, check=False).stdout

    def teardown(self) -> list[str]:
        """docker-compose down with volumes, then stop the engine if this session started it.

        Returns what is left: the project's containers, volumes and networks, and processes
        still running from the engine's data or exec root. Safe to call twice.
        """
        if self.torn_down:
            return []
        self.torn_down = True
        left: list[str] = []
        try:
            self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)
            label = f"label=com.docker.compose.project={PROJECT}"
            left += [f"container {c}" for c in self.docker("ps", "-aq", "--filter", label).split()]
            left += [f"volume {v}" for v in self.docker("volume", "ls", "-q", "--filter", label).split()]
            left += [f"network {n}" for n in self.docker("network", "ls", "-q", "--filter", label).split()]
        finally:
            run_script("engine.sh", "stop", env=self.env, timeout=120)
        if self.engine_started_here:
            roots = (self.env["STACK_RUN"], self.env["STACK_EXEC_ROOT"])
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit():
                    continue
                try:
                    cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if any(root in cmdline for root in roots):
                    left.append(f"process {proc.name}: {cmdline[:120]}")
        return left

    # -- files the stack mounts -----------------------------------------------------------------
    def prepare(self) -> None:
        """Secrets, keys, the drop box's users and host key, and an include/ with two profiles."""
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)
        (self.run_dir / "keys").mkdir(parents=True)
        users = self.run_dir / "sftp-users"
        users.mkdir()
        for user in ("courtfeed", *AGENCIES):
            key, public = ed25519_keypair(self.run_dir / "keys" / user)
            self.keys[user] = key
            (users / f"{user}.pub").write_text(public + "\n")
        host_key, host_public = ed25519_keypair(self.run_dir / "keys" / "ssh_host_ed25519_key")
        self.host_key_public = " ".join(host_public.split()[:2])
        host_key.chmod(0o644)  # read by the container's root through a read-only bind mount

        include = self.run_dir / "include"
        shutil.copytree(REPO / "include" / "templates", include / "templates")
        shutil.copytree(REPO / "include" / "expectations", include / "expectations")
        (include / "profiles").mkdir()
        for agency in AGENCIES:
            (include / "profiles" / f"stack_{agency}.yaml").write_text(yaml.safe_dump(profile_for(agency)))
        (include / "profiles" / f"{WATCHED_PROFILE}.yaml").write_text(yaml.safe_dump(watched_profile()))
        logs = self.run_dir / "logs"
        logs.mkdir()
        for path in (self.run_dir, include, logs, users):
            path.chmod(0o777 if path == logs else 0o755)
        for path in include.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)

        self.ports = {"api": free_port(), "sftp": free_port()}
        self.secrets = {
            "AIRFLOW_FERNET_KEY": fernet_key(),
            "AIRFLOW_JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW_API_SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW_ADMIN_PASSWORD": secrets.token_hex(12),
            "AIRFLOW_DB_PASSWORD": secrets.token_hex(12),
            "COURTFEED_TARGET_PASSWORD": secrets.token_hex(12),
            "COURTFEED_DASHBOARD_DB_PASSWORD": secrets.token_hex(12),
            "REDIS_PASSWORD": secrets.token_hex(12),
            "STAGING_S3_ACCESS_KEY": "courtfeed" + secrets.token_hex(4),
            "STAGING_S3_SECRET_KEY": secrets.token_hex(16),
        }
        settings = {
            **self.secrets,
            "AIRFLOW_UID": "50000",
            "COURTFEED_AIRFLOW_IMAGE": "courtfeed-airflow:stack",
            "COURTFEED_SFTP_IMAGE": "courtfeed-sftp:stack",
            "COURTFEED_POSTGRES_IMAGE": "courtfeed-local/postgres:15",
            "COURTFEED_REDIS_IMAGE": "courtfeed-local/redis:7",
            "COURTFEED_INCLUDE_DIR": str(include),
            "AIRFLOW_LOGS_DIR": str(logs),
            "COURTFEED_SFTP_USERS_DIR": str(users),
            "COURTFEED_SFTP_HOST_KEY": str(host_key),
            "COURTFEED_SFTP_BIND": "127.0.0.1",
            "COURTFEED_SFTP_PORT": str(self.ports["sftp"]),
            "AIRFLOW_API_BIND": "127.0.0.1",
            "AIRFLOW_API_PORT": str(self.ports["api"]),
            "AIRFLOW_WORKER_CONCURRENCY": "2",
            # A killed worker's task is declared dead after this long (production: 300 s); not
            # shorter, or a live task on a busy host is taken for dead.
            "AIRFLOW_TASK_HEARTBEAT_TIMEOUT": "60",
        }
        env_file = self.run_dir / "stack.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        env_file.chmod(0o600)

    # -- Airflow REST API -----------------------------------------------------------------------
    def api(self):
        from courtfeed.cli.airflow_api import AirflowApi

        return AirflowApi(
            f"http://127.0.0.1:{self.ports['api']}",
            "admin",
            self.secrets["AIRFLOW_ADMIN_PASSWORD"],
            timeout=60,
        )

    # -- SFTP ---------------------------------------------------------------------------------
    def sftp(self, user: str):
        """A paramiko SFTP session as user, logging in with its key and pinning the host key."""
        return key_sftp(self.ports["sftp"], self.host_key_public, user, self.keys[user])

    def sftp_connection(self) -> dict:
        """The Airflow connection the profiles read the drop box with (inside the compose network)."""
        extra = {
            "private_key": self.keys["courtfeed"].read_text(),
            "host_key": self.host_key_public,
            "conn_timeout": 20,
        }
        return {
            "connection_id": "sftp_dropbox",
            "conn_type": "sftp",
            "host": "sftp",
            "port": 22,
            "login": "courtfeed",
            "extra": json.dumps(extra),
        }

    # -- target PostgreSQL --------------------------------------------------------------------
    def target_url(self) -> str:
        port = self.compose("port", "courtfeed-target", "5432").stdout.strip().rsplit(":", 1)[1]
        password = self.secrets["COURTFEED_TARGET_PASSWORD"]
        return f"postgresql+psycopg2://courtfeed:{password}@127.0.0.1:{port}/courtfeed"


def key_sftp(port: int, host_key_public: str, user: str, key: Path):
    """A paramiko SFTP session on 127.0.0.1:port as user, logging in with its key file and
    accepting only the pinned host key ("ssh-ed25519 AAAA..."); close it with close_sftp."""
    import paramiko

    client = paramiko.SSHClient()
    kind, blob = host_key_public.split()
    client.get_host_keys().add(f"[127.0.0.1]:{port}", kind, paramiko.Ed25519Key(data=_b64(blob)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=port,
        username=user,
        key_filename=str(key),
        allow_agent=False,
        look_for_keys=False,
        timeout=20,
    )
    session = client.open_sftp()
    session._courtfeed_client = client  # closed with the session by close_sftp
    return session


def upload(box, user: str, files: dict[str, bytes]) -> None:
    """Upload files into user's /drop the way a careful agency does: as .part, then renamed.
    ``box`` is anything with ``sftp(user)`` (the stack, or the drop box alone)."""
    sftp = box.sftp(user)
    try:
        for name, data in files.items():
            with sftp.open(f"/drop/{name}.part", "wb") as handle:
                handle.write(data)
            sftp.rename(f"/drop/{name}.part", f"/drop/{name}")
    finally:
        close_sftp(sftp)


def close_sftp(session) -> None:
    session.close()
    session._courtfeed_client.close()


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


def fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def profile_for(agency: str) -> dict:
    """A hosted agency's profile: its own folders on the drop box, read by the shared connection."""
    return {
        "name": f"stack_{agency}",
        "agency": agency,
        "source": {
            "connection": "sftp_dropbox",
            "directory": f"/{agency}/drop",
            "keywords": ["hearings"],
            "min_age_seconds": 0,
            "poke_interval_seconds": 5,
            "wait_timeout_seconds": 120,
            "pool": "sftp_dropbox",
        },
        "template": "metro_hearings",
        "timezone": "America/Chicago",
        # Runs only when the test triggers them; the watched profile below covers pickup.
        "pickup": "schedule",
        "schedule": None,
        "enabled": True,
        "after_load": "archive",
        "archive_directory": f"/{agency}/processed",
        "error_directory": f"/{agency}/errors",
        "reports_directory": f"/{agency}/acks",
    }


def watched_profile() -> dict:
    """Agency A's calendar files, with nothing but the folder, a keyword and the template set:
    pickup, ages, intervals and retries are the defaults a new profile gets."""
    return {
        "name": WATCHED_PROFILE,
        "agency": "agencya",
        "source": {"connection": "sftp_dropbox", "directory": "/agencya/drop", "keywords": ["calendar"]},
        "template": "metro_hearings",
        "timezone": "America/Chicago",
    }


def hearings_file(rows: int, first_id: int) -> bytes:
    """A hearings export in the metro_hearings layout, made-up people with distinct ids."""
    header = (
        "DEF_ID|DEF_FNAME|DEF_LNAME|DOB|PHONE|EMAIL|CASE_NO|HEARING_ID|HEARING_DATE|HEARING_TIME|"
        "COURTROOM|JUDGE|HEARING_TYPE|STATUS\n"
    )
    out = io.StringIO()
    out.write(header)
    for i in range(first_id, first_id + rows):
        out.write(
            f"D{i}|Name{i % 97}|Family{i % 89}|0{1 + i % 9}/1{i % 9}/19{50 + i % 40}|312-{200 + i % 700}-{i % 10000:04d}|"
            f"p{i}@mail.example|26-CR-{i % 100000:05d}|H{i}|12/{10 + i % 18}/2026|09:{i % 6}0 AM|"
            f"Courtroom {1 + i % 5}A|Hon. A. Rivera|PRETRIAL|SCHEDULED\n"
        )
    return out.getvalue().encode()


def wait_for(what: str, check, timeout: float, interval: float = 2.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - a service still starting answers with errors
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: last {last!r}")
