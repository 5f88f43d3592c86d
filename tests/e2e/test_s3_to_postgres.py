"""End to end through Airflow from an S3-compatible bucket (SeaweedFS, keys enforced) into a real
PostgreSQL: records and ledger written, the object archived under processed/, acknowledgements
delivered under acks/, and a second run loads nothing new."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.feeds import dag_env, include_with, run_dag
from tests.services.seaweedfs import object_keys

REPO = Path(__file__).resolve().parents[2]
HEARINGS = REPO / "include" / "demo" / "metro_hearings_20261128.txt"

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def s3_feed(tmp_path: Path, seaweedfs, pg_url: str, migrated_airflow: str):
    """A profile over s3://<fresh bucket>/in/, loading into a fresh PostgreSQL database."""
    client = seaweedfs.client()
    bucket = seaweedfs.create_bucket(f"cf-e2e-{uuid.uuid4().hex[:8]}")
    client.put_object(Bucket=bucket, Key="in/metro_hearings_20261128.txt", Body=HEARINGS.read_bytes())
    client.put_object(Bucket=bucket, Key="in/metro_hearings_broken.txt", Body=b"DEF_ID|WHATEVER\nD1|x\n")
    client.put_object(Bucket=bucket, Key="in/payments_other_feed.csv", Body=b"a,b\n1,2\n")
    # Below the prefix but one level down: not listed by a non-recursive profile.
    client.put_object(Bucket=bucket, Key="in/later/metro_hearings_next.txt", Body=HEARINGS.read_bytes())

    profile = {
        "name": "e2e_s3_hearings",
        "agency": "metro-county",
        "source": {
            "connection": "s3_e2e",
            "bucket": bucket,
            "prefix": "in/",
            "keywords": ["hearings"],
            "min_age_seconds": 0,
            "poke_interval_seconds": 1,
            "wait_timeout_seconds": 5,
        },
        "template": "metro_hearings",
        "timezone": "America/Chicago",
        "after_load": "archive",
        "archive_directory": "processed/",
        "error_directory": "errors/",
        "reports_directory": "acks/",
    }
    include = include_with(tmp_path, profile)
    env = dag_env(
        migrated_airflow, include, tmp_path, pg_url, {"s3_e2e": seaweedfs.airflow_connection_json()}
    )
    yield {"env": env, "bucket": bucket, "client": client, "pg_url": pg_url}
    # A bucket is a SeaweedFS collection with its own volumes: give them back.
    for key in object_keys(client, bucket):
        client.delete_object(Bucket=bucket, Key=key)
    client.delete_bucket(Bucket=bucket)


def test_s3_profile_dag_end_to_end(s3_feed):
    result = run_dag(s3_feed["env"], "courtfeed__e2e_s3_hearings")
    assert result["state"] == "success", result
    finalized = sorted(t["rendered"] for t in result["tasks"] if t["task_id"] == "file.finalize")
    assert finalized == ["metro_hearings_20261128.txt", "metro_hearings_broken.txt"]

    engine = sa.create_engine(s3_feed["pg_url"])
    with engine.connect() as conn:
        uploads = conn.execute(
            sa.text("select path, status, source, size, sha256, rows_read, rows_loaded from uploads")
        ).all()
        by_path = {u.path: u for u in uploads}
        assert sorted(by_path) == ["in/metro_hearings_20261128.txt", "in/metro_hearings_broken.txt"]
        good = by_path["in/metro_hearings_20261128.txt"]
        assert good.status == "loaded" and good.rows_read == 250 and good.rows_loaded == 220
        assert good.size == HEARINGS.stat().st_size and len(good.sha256) == 64
        assert s3_feed["bucket"] in good.source
        assert by_path["in/metro_hearings_broken.txt"].status == "rejected"
        assert conn.execute(sa.text("select count(*) from event")).scalar() == 220
        assert conn.execute(sa.text("select count(distinct upload_id) from event")).scalar() == 1
    engine.dispose()

    client, bucket = s3_feed["client"], s3_feed["bucket"]
    assert object_keys(client, bucket, "in/") == [
        "in/later/metro_hearings_next.txt",
        "in/payments_other_feed.csv",
    ]
    assert object_keys(client, bucket, "processed/") == ["processed/metro_hearings_20261128.txt"]
    archived = client.get_object(Bucket=bucket, Key="processed/metro_hearings_20261128.txt")["Body"].read()
    assert archived == HEARINGS.read_bytes()
    assert object_keys(client, bucket, "errors/") == ["errors/metro_hearings_broken.txt"]
    acks = object_keys(client, bucket, "acks/")
    assert len([k for k in acks if k.endswith(".ack.json")]) == 2
    ack_key = next(k for k in acks if k.startswith("acks/metro_hearings_2026") and k.endswith(".ack.json"))
    ack = json.loads(client.get_object(Bucket=bucket, Key=ack_key)["Body"].read())
    assert ack["status"] == "loaded" and ack["rows_loaded"] == 220
    assert ack["counts"]["event"]["created"] == 220

    # A second cycle finds nothing new: the sensor ends skipped and nothing is loaded.
    again = run_dag(s3_feed["env"], "courtfeed__e2e_s3_hearings")
    assert again["state"] == "success"
    assert [t["state"] for t in again["tasks"] if t["task_id"] == "list_new_files"] == ["skipped"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from uploads")).scalar() == 2
        assert conn.execute(sa.text("select count(*) from event")).scalar() == 220
