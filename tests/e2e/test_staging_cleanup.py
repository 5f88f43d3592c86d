"""A file whose run fails leaves nothing in staging (the downloaded file, the
stages' output): the file group's teardown removes its delivery folder on every ending."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e.feeds import dag_env, include_with

REPO = Path(__file__).resolve().parents[2]
HEARINGS = REPO / "include" / "demo" / "metro_hearings_20261128.txt"

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

# tests/e2e/run_dag.py, with the read stage broken the way an unexpected bug or a killed
# dependency breaks it: after fetch downloaded the file.
BROKEN_READ = """
import runpy, sys
import courtfeed.pipeline.read as read

def broken(work, template, today=None):
    raise RuntimeError("read stage broken on purpose")

read.read_stage = broken
sys.argv = [sys.argv[1], sys.argv[2]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_dag_with_read_failing(env: dict, dag_id: str) -> dict:
    run_dag = str(REPO / "tests" / "e2e" / "run_dag.py")
    proc = subprocess.run(
        [sys.executable, "-c", BROKEN_READ, run_dag, dag_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"dag.test failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


def test_failed_run_leaves_no_staging(tmp_path: Path, seaweedfs, pg_url: str, migrated_airflow: str):
    client = seaweedfs.client()
    bucket = seaweedfs.create_bucket(f"cf-clean-{uuid.uuid4().hex[:8]}")
    try:
        client.put_object(Bucket=bucket, Key="in/metro_hearings_20261128.txt", Body=HEARINGS.read_bytes())
        profile = {
            "name": "e2e_cleanup",
            "agency": "metro-county",
            "source": {
                "connection": "s3_e2e",
                "bucket": bucket,
                "prefix": "in/",
                "min_age_seconds": 0,
                "wait_for_stable_size": False,
                "poke_interval_seconds": 1,
                "wait_timeout_seconds": 5,
            },
            "template": "metro_hearings",
            "timezone": "America/Chicago",
            # One retry, a second apart: the teardown must clean up after the last attempt, and
            # the default backoff (30 s, doubling, three retries) would only make the test slow.
            "retries": 1,
            "retry_delay_seconds": 1,
        }
        env = dag_env(
            migrated_airflow,
            include_with(tmp_path, profile),
            tmp_path,
            pg_url,
            {"s3_e2e": seaweedfs.airflow_connection_json()},
        )
        result = run_dag_with_read_failing(env, "courtfeed__e2e_cleanup")
        states = {t["task_id"]: t["state"] for t in result["tasks"]}
        assert states["file.fetch"] == "success" and states["file.read"] == "failed", states
        read_tries = [t["try_number"] for t in result["tasks"] if t["task_id"] == "file.read"]
        assert read_tries == [2], result["tasks"]  # failed, retried, failed again
        assert result["state"] == "failed"
        staging = tmp_path / "staging"
        left = [p.relative_to(staging) for p in staging.rglob("*") if p.is_file()] if staging.exists() else []
        assert left == []
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)
