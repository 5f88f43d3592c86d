"""A profile DAG run whose stages stage on object storage (COURTFEED_STAGING=s3://..., SeaweedFS):
the file loads into PostgreSQL and the run leaves nothing in the staging bucket."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.feeds import dag_env, include_with, run_dag
from tests.services.seaweedfs import object_keys

REPO = Path(__file__).resolve().parents[2]
HEARINGS = REPO / "include" / "demo" / "metro_hearings_20261128.txt"

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_dag_run_with_object_staging(tmp_path: Path, seaweedfs, pg_url: str, migrated_airflow: str):
    client = seaweedfs.client()
    source = seaweedfs.create_bucket(f"cf-src-{uuid.uuid4().hex[:8]}")
    staging = seaweedfs.create_bucket(f"cf-stg-{uuid.uuid4().hex[:8]}")
    try:
        client.put_object(Bucket=source, Key="in/metro_hearings_20261128.txt", Body=HEARINGS.read_bytes())
        profile = {
            "name": "e2e_object_staging",
            "agency": "metro-county",
            "source": {
                "connection": "s3_e2e",
                "bucket": source,
                "prefix": "in/",
                "min_age_seconds": 0,
                "wait_for_stable_size": False,
                "poke_interval_seconds": 1,
                "wait_timeout_seconds": 5,
            },
            "template": "metro_hearings",
            "timezone": "America/Chicago",
        }
        conn = seaweedfs.airflow_connection_json()
        env = dag_env(
            migrated_airflow,
            include_with(tmp_path, profile),
            tmp_path,
            pg_url,
            {"s3_e2e": conn, "courtfeed_staging": conn},
        )
        env["COURTFEED_STAGING"] = f"s3://{staging}/staging"
        env["COURTFEED_SCRATCH"] = str(tmp_path / "scratch")
        result = run_dag(env, "courtfeed__e2e_object_staging")
        assert result["state"] == "success", result
        engine = sa.create_engine(pg_url)
        with engine.connect() as db:
            assert db.execute(sa.text("select count(*) from event")).scalar() == 220
            assert db.execute(sa.text("select status from uploads")).scalars().all() == ["loaded"]
        engine.dispose()
        assert object_keys(client, staging) == []
        assert not any(p.is_file() for p in (tmp_path / "scratch").rglob("*"))
        assert not (tmp_path / "staging").exists()  # the local staging folder was never used
    finally:
        for bucket in (source, staging):
            for key in object_keys(client, bucket):
                client.delete_object(Bucket=bucket, Key=key)
            client.delete_bucket(Bucket=bucket)
