"""The burst bench's compose stack (`make bench-burst ARGS=--stack`).

Brought up as `make stack-test` brings it up (tests/deploy/stack.py: its own Docker engine, images
on a local Debian base cached under .run/stack/, two Celery workers), with a burst of agencies:
each profile is an agency with its own SFTP user on the hosted drop box, whose files land in its
own /<agency>/drop folder, read through the shared sftp_dropbox connection and pool. The floor's
empty-task DAGs are mounted as a second DAG bundle (bench/compose.burst.yaml). The ledger is read
from the stack's target PostgreSQL through its published loopback port.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from bench.burst import burst_profiles, profile_name, write_floor_dags, write_include

REPO = Path(__file__).resolve().parents[1]
BURST_OVERRIDE = REPO / "bench" / "compose.burst.yaml"


def agency_user(i: int) -> str:
    return f"burst{i:04d}"


def stack_source(i: int) -> tuple[dict, dict]:
    user = agency_user(i)
    return {"connection": "sftp_dropbox", "directory": f"/{user}/drop", "pool": "sftp_dropbox"}, {
        "archive_directory": f"/{user}/processed",
        "error_directory": f"/{user}/errors",
        "reports_directory": f"/{user}/acks",
    }


class StackTarget:
    def __init__(self, profiles: int):
        self.profiles = profiles
        self.stack = None
        self.engine = None
        self.reserialize = None  # the stack's dag-processor parses on its own

    def start(self) -> None:
        from tests.deploy.stack import COMPOSE_FILE, STACK_OVERRIDE, Stack, run_script, stack_env

        class BurstStack(Stack):
            compose_files = (COMPOSE_FILE, STACK_OVERRIDE, BURST_OVERRIDE)

        env = stack_env()
        self.stack = stack = BurstStack(env=env, run_dir=Path(env["STACK_RUN"]) / "burst")
        print("starting the Docker engine and building the images (cached in .run/stack) ...", flush=True)
        run_script("engine.sh", "start", env=env, timeout=120)
        stack.engine_started_here = (Path(env["STACK_RUN"]) / "engine.started").exists()
        run_script("base.sh", env=env, timeout=600)
        run_script("build.sh", env=env, timeout=1500)
        stack.compose("down", "--volumes", "--remove-orphans", check=False)
        stack.prepare()
        self._add_agencies()
        print("docker-compose up ...", flush=True)
        stack.compose("up", "-d", "--no-build", "--scale", "airflow-worker=2", timeout=900)
        self._wait_ready()
        self.api().request("POST", "/connections", json=stack.sftp_connection())
        from courtfeed.target.db import engine_for

        self.engine = engine_for(stack.target_url())

    def _add_agencies(self) -> None:
        """One SFTP user and one profile per agency; the floor's DAG folder; its mount."""
        from tests.deploy.stack import ed25519_keypair

        stack, run_dir = self.stack, self.stack.run_dir
        for i in range(self.profiles):
            user = agency_user(i)
            key, public = ed25519_keypair(run_dir / "keys" / user)
            stack.keys[user] = key
            (run_dir / "sftp-users" / f"{user}.pub").write_text(public + "\n")
        base = yaml.safe_load((REPO / "include" / "profiles" / "metro_hearings.yaml").read_text())
        include = write_include(run_dir / "include", burst_profiles(base, self.profiles, stack_source), False)
        floor = write_floor_dags(run_dir / "floor_dags", self.profiles).parent
        for path in (include, floor, *include.rglob("*"), *floor.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)  # read by the containers' airflow user
        with (run_dir / "stack.env").open("a") as env_file:
            env_file.write(f"BURST_FLOOR_DIR={floor}\n")

    def _wait_ready(self) -> None:
        from tests.deploy.stack import wait_for

        api, stack = self.api(), self.stack
        wait_for("the Airflow API", lambda: api.request("GET", "/monitor/health"), timeout=300, interval=3)
        wait_for(
            "2 Celery workers ready",
            lambda: (
                all(" ready." in stack.container_log(c) for c in stack.containers("airflow-worker"))
                and len(stack.containers("airflow-worker")) == 2
            ),
            timeout=300,
            interval=3,
        )
        # The factory's DAGs are paused at creation in the stack (DAGS_ARE_PAUSED_AT_CREATION).
        ids = [f"courtfeed__{profile_name(i)}" for i in range(self.profiles)]
        wait_for("the burst DAGs", lambda: set(ids) <= set(api.dags("courtfeed__")), timeout=600, interval=5)
        for dag_id in ids:
            api.set_paused(dag_id, False)

    def api(self):
        return self.stack.api()

    def drop_all(self, files: list[tuple[int, str, bytes]], landed: dict[str, float]) -> None:
        """Each agency uploads its files into its /drop as .part, then renames them."""
        from tests.deploy.stack import close_sftp

        sessions = {}
        try:
            for i, _, _ in files:
                if i not in sessions:
                    sessions[i] = self.stack.sftp(agency_user(i))  # logged in before the clock starts
            for i, name, data in files:
                with sessions[i].open(f"/drop/{name}.part", "wb") as handle:
                    handle.write(data)
                sessions[i].rename(f"/drop/{name}.part", f"/drop/{name}")
                landed[name] = time.time()
        finally:
            for session in sessions.values():
                close_sftp(session)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self.stack is not None:
            left = self.stack.teardown()
            if left:
                print(f"left after teardown: {left}")
