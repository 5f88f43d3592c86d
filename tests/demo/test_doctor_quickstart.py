"""courtfeed doctor on the quickstart's own profiles (include/profiles) and connections (as
airflow_settings.yaml sets them up for `make run`), from the command line and as the
courtfeed_doctor DAG, whose task log must show the same lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def quickstart_env(demo_sftp, tmp_path) -> dict:
    drop = demo_sftp.root / "drop"
    for file in (REPO / "include" / "demo").iterdir():
        shutil.copy2(file, drop / file.name)
    (demo_sftp.root / "acks").mkdir()
    target = tmp_path / "courtfeed.db"
    return {
        "AIRFLOW_CONN_SFTP_DEMO": demo_sftp.airflow_conn_json(),
        "AIRFLOW_CONN_COURTFEED_TARGET": json.dumps({"conn_type": "sqlite", "host": str(target)}),
        "COURTFEED_TARGET_URL": "",
    }


def test_doctor_passes_on_the_quickstart_profiles_cli_and_dag(quickstart_env, migrated_airflow, tmp_path):
    before = run_cli("doctor", env=quickstart_env)
    assert before.returncode == 1
    assert "[FAIL] target: database:" in before.stdout and "courtfeed migrate" in before.stdout

    assert run_cli("migrate", env=quickstart_env).returncode == 0
    done = run_cli("doctor", env=quickstart_env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("[")]
    for profile in ("county_payments", "jury_summons", "metro_hearings"):
        assert f"[ok  ] {profile}: host key: matches the key pinned in 'sftp_demo'" in lines
        assert any(ln.startswith(f"[ok  ] {profile}: reports folder: /acks writable") for ln in lines)
    assert any(
        ln.startswith("[ok  ] metro_hearings: archive folder: /drop/processed/hearings") for ln in lines
    )
    assert done.stdout.splitlines()[-1].startswith("all ")

    env = {
        **os.environ,
        **quickstart_env,
        "AIRFLOW_HOME": migrated_airflow,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "COURTFEED_STAGING": str(tmp_path / "staging"),
    }
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "e2e" / "run_dag.py"), "courtfeed_doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    result = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and result, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert json.loads(result[-1][len("RESULT ") :])["state"] == "success"
    task_log = proc.stdout + proc.stderr
    for line in lines:  # the DAG's task log shows the command's lines
        assert line in task_log, line
