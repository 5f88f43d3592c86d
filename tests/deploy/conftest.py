"""Fixtures for the deployment files: docker-compose.yaml as Docker Compose resolves it, and the
stack itself, started (the `stack` fixture, used by test_stack.py under `make stack-test`).

`docker-compose config` validates and resolves the file (anchors, merge keys, ${VAR}
interpolation) without an engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"

# Distinct values, so a test can tell each secret came from its own variable.
SECRETS = {
    "AIRFLOW_FERNET_KEY": "sentinel-fernet-4f1c",
    "AIRFLOW_JWT_SECRET": "sentinel-jwt-8a2e",
    "AIRFLOW_API_SECRET_KEY": "sentinel-api-secret-77d0",
    "AIRFLOW_ADMIN_PASSWORD": "sentinel-admin-pw-31b9",
    "AIRFLOW_DB_PASSWORD": "sentinelmetadbpw",
    "COURTFEED_TARGET_PASSWORD": "sentineltargetpw",
    "COURTFEED_DASHBOARD_DB_PASSWORD": "sentineldashboardpw",
    "REDIS_PASSWORD": "sentinelredispw",
    "STAGING_S3_ACCESS_KEY": "sentinels3access",
    "STAGING_S3_SECRET_KEY": "sentinels3secret",
}


def docker_compose_binary() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        # Not a skip: the deployment file would then go unchecked without anyone noticing.
        pytest.fail(
            "docker-compose is not installed; run scripts/install-system-deps.sh (Debian package docker-compose)"
        )
    return binary


def run_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    """docker-compose with only env_file as its .env, whatever the caller's shell or ./.env hold."""
    env = {key: value for key, value in os.environ.items() if key not in SECRETS}
    return subprocess.run(
        [docker_compose_binary(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


@pytest.fixture(scope="session")
def secrets_env_file(tmp_path_factory) -> Path:
    return write_env_file(tmp_path_factory.mktemp("compose") / "test.env", SECRETS)


@pytest.fixture(scope="session")
def resolved_compose(secrets_env_file: Path) -> dict:
    """The compose file after `docker-compose config`: anchors merged, variables filled in."""
    result = run_compose(secrets_env_file, "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="session")
def raw_compose() -> dict:
    """The compose file as written, ${VAR} references still in place."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="session")
def stack():
    """The CeleryExecutor stack of docker-compose.yaml, up once for the session (tests/deploy/stack.py).

    Starts the Docker engine if none answers, builds the images on a local Debian base (cached
    under .run/stack/), `docker-compose up`s the stack with two workers and registers the drop
    box's SFTP connection. Teardown removes the containers and volumes and stops the engine this
    session started, even when a test failed.
    """
    import time

    from tests.deploy.stack import WORKERS, Stack, run_script, stack_env, wait_for

    env = stack_env()
    service = Stack(env=env, run_dir=Path(env["STACK_RUN"]) / "session")
    timings = service.timings
    start = time.monotonic()
    run_script("engine.sh", "start", env=env, timeout=120)
    # engine.sh stops (at teardown) only an engine it started; then nothing of it may be left.
    service.engine_started_here = (Path(env["STACK_RUN"]) / "engine.started").exists()
    timings["engine"] = time.monotonic() - start
    try:
        start = time.monotonic()
        run_script("base.sh", env=env, timeout=600)
        timings["base image"] = time.monotonic() - start
        start = time.monotonic()
        built = run_script("build.sh", env=env, timeout=1500)
        timings["images"] = time.monotonic() - start
        print(built)

        service.compose(
            "down", "--volumes", "--remove-orphans", check=False
        )  # a previous session's leftovers
        service.prepare()
        start = time.monotonic()
        service.compose("up", "-d", "--no-build", "--scale", f"airflow-worker={WORKERS}", timeout=900)
        api = service.api()
        wait_for("the Airflow API", lambda: api.request("GET", "/monitor/health"), timeout=300, interval=3)
        # Celery's own "ready" line: a Python health check costs seconds of CPU on a busy host.
        wait_for(
            f"{WORKERS} Celery workers ready",
            lambda: (
                len(service.containers("airflow-worker")) == WORKERS
                and all(" ready." in service.container_log(c) for c in service.containers("airflow-worker"))
            ),
            timeout=300,
            interval=3,
        )
        timings["compose up"] = time.monotonic() - start
        api.request("POST", "/connections", json=service.sftp_connection())
        yield service
    finally:
        start = time.monotonic()
        service.teardown()
        timings["teardown"] = time.monotonic() - start
        print("stack timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
