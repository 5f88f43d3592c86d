"""Fixtures for the quickstart tests: a running demo SFTP server over a temporary root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class RunningSFTP:
    root: Path
    port: int
    user: str
    password: str
    host_key_line: str
    pid_file: Path
    process: subprocess.Popen

    def airflow_conn_json(self, password: str | None = None) -> str:
        """The connection in Airflow's JSON form, for an AIRFLOW_CONN_<ID> environment variable."""
        return json.dumps(
            {
                "conn_type": "sftp",
                "host": "127.0.0.1",
                "port": self.port,
                "login": self.user,
                "password": self.password if password is None else password,
                "extra": {"host_key": self.host_key_line},
            }
        )


@pytest.fixture
def demo_sftp(tmp_path: Path):
    root = tmp_path / "sftp-root"
    (root / "drop").mkdir(parents=True)
    pid_file = tmp_path / "sftp.pid"
    password = "s3cret-demo-pw"
    env = dict(os.environ, COURTFEED_DEMO_SFTP_PASSWORD=password)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "courtfeed.demo.sftp_server",
            "--root",
            str(root),
            "--port",
            "0",
            "--user",
            "demo",
            "--host-key-file",
            str(tmp_path / "host_key"),
            "--pid-file",
            str(pid_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        if not first.startswith("listening on 127.0.0.1:"):
            process.kill()
            raise RuntimeError(f"demo SFTP server did not start: {first!r} {process.stderr.read()}")
        port = int(first.strip().rsplit(":", 1)[1])
        host_key_line = second.strip().removeprefix("host key ")
        yield RunningSFTP(root, port, "demo", password, host_key_line, pid_file, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
