"""Building what an end-to-end test of a profile DAG needs: a private include/ folder with the
profile and its templates, the target connection, and the environment for dag.test()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parents[2]


def include_with(tmp_path: Path, profile: dict, templates: tuple[str, ...] = ("metro_hearings",)) -> Path:
    """An include/ folder holding one profile and copies of the project's templates it uses."""
    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    for name in templates:
        (include / "templates" / f"{name}.yaml").write_text(
            (REPO / "include" / "templates" / f"{name}.yaml").read_text()
        )
    (include / "profiles" / f"{profile['name']}.yaml").write_text(yaml.safe_dump(profile))
    return include


def target_connection_json(pg_url: str) -> str:
    """The courtfeed_target Airflow connection (JSON form) for a SQLAlchemy PostgreSQL URL."""
    url = sa.engine.make_url(pg_url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": url.host,
            "port": url.port,
            "login": url.username,
            "password": url.password,
            "schema": url.database,
        }
    )


def dag_env(
    airflow_home: str, include: Path, tmp_path: Path, pg_url: str, connections: dict[str, str]
) -> dict:
    """Environment for running the project's DAGs: Airflow home and folders, courtfeed's include
    and staging, the target, and connections as AIRFLOW_CONN_<ID> (JSON)."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": airflow_home,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "COURTFEED_INCLUDE": str(include),
        "COURTFEED_STAGING": str(tmp_path / "staging"),
        "AIRFLOW_CONN_COURTFEED_TARGET": target_connection_json(pg_url),
    }
    env.update({f"AIRFLOW_CONN_{conn_id.upper()}": value for conn_id, value in connections.items()})
    return env


def run_dag(env: dict, dag_id: str, conf: dict | None = None) -> dict:
    """Run a DAG with dag.test() in a subprocess (tests/e2e/run_dag.py) and return its RESULT."""
    args = [sys.executable, str(REPO / "tests" / "e2e" / "run_dag.py"), dag_id]
    if conf is not None:
        args.append(json.dumps(conf))
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"dag.test failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT ") :])
