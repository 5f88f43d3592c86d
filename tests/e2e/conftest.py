from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from courtfeed.cli.airflow_api import AirflowApiError
from tests.e2e.feeds import REPO, target_connection_json
from tests.e2e.live_airflow import LiveAirflow, start_live_airflow

# Throwaway PGP keys, shared with the unpack tests.
from tests.unpack.conftest import keys  # noqa: E402,F401

SHARED_SFTP_CONN = "sftp_live"


@dataclass
class SharedAirflow:
    """One running Airflow the e2e tests share (starting one costs a minute or two of this
    machine): each test adds its own profile (a DAG of its own) and drop folder, and reads only
    its own profile's runs and uploads. The target database and the SFTP connection
    ``sftp_live`` (the key user's) are the same for every test."""

    airflow: LiveAirflow
    include: Path
    target_url: str
    sshd: object
    user: str
    staging: Path

    def drop(self, folder: str) -> Path:
        """An empty folder of the test's own in the key user's drop folder."""
        path = self.sshd.drop_dir(self.user) / folder  # type: ignore[attr-defined]
        subprocess.run(["rm", "-rf", str(path)], check=True)
        self.sshd.put_file(self.user, f"{folder}/.keep", b"")  # type: ignore[attr-defined]
        return path

    def pause(self, dag_id: str) -> None:
        """No more runs of a test's DAG once it is done (the Airflow goes on serving others)."""
        try:
            self.airflow.client.set_paused(dag_id, True)
        except AirflowApiError:
            pass  # a busy api-server: the DAG's schedule, if any, only finds its files loaded

    def add_profile(self, profile: dict, templates: dict[str, dict] | None = None) -> str:
        """Write the profile (and templates: name -> YAML mapping; by default a copy of the
        project's template it names) into the shared include/; returns its DAG id."""
        for name, template in (templates or {}).items():
            (self.include / "templates" / f"{name}.yaml").write_text(yaml.safe_dump(template))
        named = self.include / "templates" / f"{profile['template']}.yaml"
        if not named.exists():
            named.write_text((REPO / "include" / "templates" / f"{profile['template']}.yaml").read_text())
        (self.include / "profiles" / f"{profile['name']}.yaml").write_text(yaml.safe_dump(profile))
        return f"courtfeed__{profile['name']}"


@pytest.fixture(scope="session")
def shared_airflow(tmp_path_factory, sshd, postgres):
    tmp = tmp_path_factory.mktemp("shared_airflow")
    include = tmp / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    user = next(u for u, acc in sshd.users.items() if acc.private_key)
    target_url = postgres.create_database("cf_shared_target")
    meta = postgres.create_database("airflow_shared_meta")
    env = {
        "COURTFEED_INCLUDE": str(include),
        "COURTFEED_STAGING": str(tmp / "staging"),
        f"AIRFLOW_CONN_{SHARED_SFTP_CONN.upper()}": sshd.airflow_connection_json(user),
        "AIRFLOW_CONN_COURTFEED_TARGET": target_connection_json(target_url),
    }
    airflow = start_live_airflow(tmp / "airflow", meta, env)
    try:
        yield SharedAirflow(airflow, include, target_url, sshd, user, tmp / "staging")
    finally:
        airflow.stop()
        postgres.drop_database("airflow_shared_meta")
        postgres.drop_database("cf_shared_target")
