"""Fixtures for the deployment files: docker-compose.yaml as Docker Compose resolves it.

There is no Docker engine here; `docker-compose config` validates and resolves the file (anchors,
merge keys, ${VAR} interpolation) without one.
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
