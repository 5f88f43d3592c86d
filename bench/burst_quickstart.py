"""The burst bench's quickstart: `make run` (scripts/run_demo.py) with the burst's profiles.

The quickstart is started as `make run` starts it, with two additions in its environment:
COURTFEED_INCLUDE, a generated include/ (the shipped profiles and templates plus the burst
profiles, each reading its own folder /burst/<profile> of the demo SFTP server), and a second
DAG bundle beside dags/ holding the floor's empty-task DAGs. A quickstart already running with
that include/ is used as it is; one running without it is left alone and named.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import yaml

from bench.burst import WORK, burst_profiles, profile_name, write_floor_dags, write_include

# isort: split
# Where `make run` keeps its pieces, by the quickstart's own names (bench.burst puts scripts/ on
# sys.path).
from run_demo import BIN, PIDS, REPO, SFTP_ROOT, TARGET_DB, demo_api

INCLUDE = WORK / "include"
FLOOR_DAGS = WORK / "floor_dags"
LOG = WORK / "quickstart.log"


def bundles() -> str:
    """dags/ (the quickstart's own) and the floor's folder, as Airflow's DAG bundle list."""
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    return json.dumps(
        [
            {"name": "dags-folder", "classpath": local, "kwargs": {}},
            {"name": "burst-floor", "classpath": local, "kwargs": {"path": str(FLOOR_DAGS)}},
        ]
    )


def quickstart_source(i: int) -> tuple[dict, dict]:
    folder = f"/burst/{profile_name(i)}"
    return {"directory": folder}, {
        "archive_directory": f"{folder}/processed",
        "error_directory": f"{folder}/errors",
        "reports_directory": "/acks",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _running_demo() -> int | None:
    """The pid of this checkout's running run_demo.py, if any (from its pid file)."""
    try:
        pid = int((PIDS / "run_demo.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"run_demo.py" in cmdline else None


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


class QuickstartTarget:
    def __init__(self, profiles: int):
        self.profiles = profiles
        self.process: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.port = 0
        self.engine = None

    def start(self) -> None:
        base = yaml.safe_load((REPO / "include" / "profiles" / "metro_hearings.yaml").read_text())
        profiles = burst_profiles(base, self.profiles, quickstart_source)
        running = _running_demo()
        if running and _environ(running).get("COURTFEED_INCLUDE") != str(INCLUDE):
            raise RuntimeError(
                f"a quickstart without the burst's profiles is running (pid {running}): `make stop` first"
            )
        write_include(INCLUDE, profiles, keep_shipped=True)
        write_floor_dags(FLOOR_DAGS, self.profiles)
        if running:
            print(f"using the running quickstart (pid {running})")
        else:
            self._start_quickstart()
        # What Airflow runs with (run_demo.py sets ports, paths and the SFTP connection's secrets).
        self.env = _environ(int((PIDS / "airflow.pid").read_text().strip()))
        self.port = int(self.env["AIRFLOW__API__PORT"])
        for i in range(self.profiles):
            (SFTP_ROOT / "burst" / profile_name(i)).mkdir(parents=True, exist_ok=True)
        from courtfeed.target.db import engine_for

        self.engine = engine_for(f"sqlite:///{TARGET_DB}")

    def _start_quickstart(self) -> None:
        port, sftp_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "COURTFEED_INCLUDE": str(INCLUDE),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": bundles(),
        }
        LOG.parent.mkdir(parents=True, exist_ok=True)
        print(
            f"starting the quickstart (Airflow on port {port}; log {LOG.relative_to(REPO)}) ...", flush=True
        )
        with LOG.open("w") as log:
            self.process = subprocess.Popen(
                [str(BIN / "python"), str(REPO / "scripts" / "run_demo.py"), "--airflow-port", str(port),
                 "--sftp-port", str(sftp_port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 1200
        while "Ready in" not in LOG.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(LOG.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"the quickstart did not come up:\n{tail}")
            time.sleep(3)

    def api(self):
        return demo_api(self.port)

    def reserialize(self) -> None:
        print("parsing the DAG files now (airflow dags reserialize)", flush=True)
        subprocess.run([str(BIN / "airflow"), "dags", "reserialize"], env=self.env, capture_output=True)

    def drop_all(self, files: list[tuple[int, str, bytes]], landed: dict[str, float]) -> None:
        """Each file written as .part in its profile's folder, then renamed (as an upload is)."""
        for i, name, data in files:
            folder = SFTP_ROOT / "burst" / profile_name(i)
            part = folder / f"{name}.part"
            part.write_bytes(data)
            part.rename(folder / name)
            landed[name] = time.time()

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self.process is None or self.process.poll() is not None:
            return
        print("stopping the quickstart ...", flush=True)
        os.kill(self.process.pid, signal.SIGTERM)  # run_demo.py stops what it started
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
