"""The sweeper removes orphaned delivery folders older than a configurable
age, in a local staging folder and in object storage, and leaves young ones alone."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from courtfeed.pipeline.staging import Staging, max_age_seconds


def make_delivery(root: Path, key: str, age_seconds: float) -> Path:
    folder = root / key
    (folder / "source").mkdir(parents=True)
    payload = folder / "source" / "hearings.txt"
    payload.write_text("DEF_ID\n1\n")
    stamp = time.time() - age_seconds
    for p in (payload, folder / "source", folder):
        os.utime(p, (stamp, stamp))
    return folder


def test_local_sweep_removes_only_old_orphans(tmp_path: Path):
    root = tmp_path / "staging"
    old = make_delivery(root, "feed/d-old", 3 * 3600)
    young = make_delivery(root, "feed/d-young", 60)
    removed = Staging(root).sweep(older_than=2 * 3600)
    assert removed["local"] == ["feed/d-old"]
    assert not old.exists() and young.exists()


def test_max_age_is_configurable(monkeypatch):
    assert max_age_seconds() == 24 * 3600
    monkeypatch.setenv("COURTFEED_STAGING_MAX_AGE_HOURS", "2.5")
    assert max_age_seconds() == 2.5 * 3600


@pytest.mark.integration
def test_store_sweep_removes_old_delivery_folders(tmp_path: Path, seaweedfs, monkeypatch):
    client = seaweedfs.client()
    bucket = seaweedfs.create_bucket(f"cf-sweep-{uuid.uuid4().hex[:8]}")
    try:
        monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_STAGING", seaweedfs.airflow_connection_json())
        monkeypatch.setenv("COURTFEED_STAGING", f"s3://{bucket}/staging")
        monkeypatch.setenv("COURTFEED_SCRATCH", str(tmp_path / "scratch"))
        for key in ("staging/feed/d-1/source/a.txt", "staging/feed/d-1/records.event.parquet"):
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
        staging = Staging.from_env()
        assert staging.sweep(older_than=3600)["store"] == []  # just written: not an orphan yet
        assert staging.sweep(older_than=3600, now=time.time() + 7200)["store"] == ["feed/d-1"]
        assert client.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)
