"""Staging on object storage (SeaweedFS): the stages of one file run on two "machines" (two
local scratch roots that share nothing) and still load it; the delivery's staging ends empty."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.feeds import include_with
from tests.services.seaweedfs import object_keys

REPO = Path(__file__).resolve().parents[2]
HEARINGS = REPO / "include" / "demo" / "metro_hearings_20261128.txt"

pytestmark = [pytest.mark.integration]


@pytest.fixture
def object_staging(tmp_path: Path, seaweedfs, monkeypatch):
    """A profile over an S3 source, staging under s3://<bucket>/staging, SQLite target."""
    client = seaweedfs.client()
    source = seaweedfs.create_bucket(f"cf-src-{uuid.uuid4().hex[:8]}")
    staging = seaweedfs.create_bucket(f"cf-stg-{uuid.uuid4().hex[:8]}")
    client.put_object(Bucket=source, Key="in/metro_hearings_20261128.txt", Body=HEARINGS.read_bytes())
    profile = {
        "name": "staged_feed",
        "agency": "metro-county",
        "source": {"connection": "s3_src", "bucket": source, "prefix": "in/", "min_age_seconds": 0},
        "template": "metro_hearings",
        "timezone": "America/Chicago",
    }
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include_with(tmp_path, profile)))
    monkeypatch.setenv("AIRFLOW_CONN_S3_SRC", seaweedfs.airflow_connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_STAGING", seaweedfs.airflow_connection_json())
    monkeypatch.setenv("COURTFEED_STAGING", f"s3://{staging}/staging")
    target = tmp_path / "target.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_COURTFEED_TARGET", json.dumps({"conn_type": "sqlite", "host": str(target)})
    )
    yield {"client": client, "staging": staging, "target": target, "source": source}
    for bucket in (source, staging):
        for key in object_keys(client, bucket):
            client.delete_object(Bucket=bucket, Key=key)
        client.delete_bucket(Bucket=bucket)


def test_stages_of_one_file_on_two_machines(object_staging, tmp_path: Path, monkeypatch):
    from courtfeed.dagfactory import tasks

    machines = [tmp_path / "machine_a", tmp_path / "machine_b"]

    def on(machine: int) -> Path:
        monkeypatch.setenv("COURTFEED_SCRATCH", str(machines[machine]))
        return machines[machine]

    client, bucket = object_staging["client"], object_staging["staging"]
    remote = {
        "path": "in/metro_hearings_20261128.txt",
        "size": HEARINGS.stat().st_size,
        "mtime": "2026-11-28T06:00:00+00:00",
    }
    on(0)
    works = tasks.fetch("staged_feed", remote, "run-1")
    stored = object_keys(client, bucket, "staging/")
    assert any(k.endswith("/source/metro_hearings_20261128.txt") for k in stored), stored
    # Machine A keeps nothing once its task ended: the store is the only copy.
    assert not any(p.is_file() for p in machines[0].rglob("*"))

    # Each next stage on the other machine: it cannot read A's paths, only the store.
    for i, stage in enumerate((tasks.read, tasks.validate, tasks.map_rows, tasks.load)):
        here = on((i + 1) % 2)
        works = stage("staged_feed", works)
        assert all(Path(w["workdir"]).is_relative_to(here) for w in works)
        assert not any(p.is_file() for p in here.rglob("*"))
    assert [w["status"] for w in works] == ["loaded"]
    stored = object_keys(client, bucket, "staging/")
    assert any(k.endswith(".parquet") for k in stored), stored

    on(1)
    summary = tasks.finalize("staged_feed", works)
    assert summary["status"] == "loaded"
    engine = sa.create_engine(f"sqlite:///{object_staging['target']}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from event")).scalar() == 220
        assert conn.execute(sa.text("select status from uploads")).scalars().all() == ["loaded"]
    engine.dispose()
    assert object_keys(client, bucket, "staging/") == []  # finalize left nothing in the store


def test_retried_fetch_reuses_its_folder(object_staging, tmp_path: Path, monkeypatch):
    from courtfeed.dagfactory import tasks

    monkeypatch.setenv("COURTFEED_SCRATCH", str(tmp_path / "scratch"))
    client, bucket = object_staging["client"], object_staging["staging"]
    remote = {
        "path": "in/metro_hearings_20261128.txt",
        "size": HEARINGS.stat().st_size,
        "mtime": "2026-11-28T06:00:00+00:00",
    }
    first = tasks.fetch("staged_feed", remote, "run-1")
    again = tasks.fetch("staged_feed", remote, "run-1")  # the same task, retried
    assert first[0]["delivery_dir"] == again[0]["delivery_dir"]
    folders = {"/".join(k.split("/")[:3]) for k in object_keys(client, bucket, "staging/")}
    assert len(folders) == 1, folders
