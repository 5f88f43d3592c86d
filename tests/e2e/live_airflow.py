"""A real Airflow (scheduler, dag-processor, api-server, triggerer via `airflow standalone`) on
PostgreSQL metadata, for tests of what only a running Airflow does: backfills, the REST API.
REST calls go through the project's one client, courtfeed.cli.airflow_api."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from courtfeed.cli.airflow_api import AirflowApi, AirflowApiError

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveAirflow:
    home: Path
    port: int
    env: dict
    proc: subprocess.Popen
    log_path: Path
    _client: AirflowApi | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def client(self) -> AirflowApi:
        """The project's REST client, logged in as the admin standalone created."""
        if self._client is None:
            self._client = AirflowApi(self.url, user="admin", home=self.home)
        return self._client

    @property
    def password(self) -> str:
        return self.client.password or ""

    def api(self, method: str, path: str, **kwargs) -> dict:
        try:
            return self.client.request(method, path, **kwargs)
        except AirflowApiError as exc:
            raise AssertionError(str(exc)) from None

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True, timeout=300
        )

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                return self.api("GET", f"/dags/{dag_id}")
            except AssertionError:
                time.sleep(2)
        raise AssertionError(f"{dag_id} not parsed within {timeout}s; log tail:\n{self.log_tail()}")

    def runs(self, dag_id: str) -> list[dict]:
        return self.client.runs(dag_id)

    def wait_for_runs(
        self, dag_id: str, count: int, timeout: float = 300, run_type: str | None = None
    ) -> list[dict]:
        """Wait until at least `count` runs (of run_type) exist and all of them have finished."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            runs = [r for r in self.runs(dag_id) if run_type is None or r["run_type"] == run_type]
            if len(runs) >= count and all(r["state"] in ("success", "failed") for r in runs):
                return runs
            time.sleep(2)
        raise AssertionError(
            f"runs of {dag_id} not finished within {timeout}s: {self.runs(dag_id)}\n{self.log_tail()}"
        )

    def wait_for_backfills_completed(self, dag_id: str, timeout: float = 360) -> None:
        """The scheduler marks a backfill completed a little after its last run ends."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            backfills = self.client.backfills(dag_id)
            if all(b.get("completed_at") for b in backfills):
                return
            time.sleep(2)
        raise AssertionError(f"backfills of {dag_id} not completed within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start_live_airflow(
    home: Path, metadata_url: str, extra_env: dict, start_timeout: float = 240
) -> LiveAirflow:
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        **extra_env,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__CORE__PARALLELISM": "8",
    }
    log_path = home / "standalone.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(BIN / "airflow"), "standalone"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    live = LiveAirflow(home, port, env, proc, log_path)
    deadline = time.time() + start_timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow standalone exited ({proc.returncode}):\n{live.log_tail()}")
        try:
            if not live.client.unhealthy() and live.client.password:
                return live
        except AirflowApiError:
            pass
        time.sleep(2)
    live.stop()
    raise RuntimeError(f"airflow standalone not healthy within {start_timeout:.0f} s:\n{live.log_tail()}")
