"""Sources against the real servers: connections given to Airflow as AIRFLOW_CONN_* JSON."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from tests.services import KEY_USER, PASSWORD_USER


def _clear(folder) -> None:
    """Empty a drop folder left by an earlier test (files may be owned by the SSH user)."""
    for child in folder.iterdir():
        subprocess.run(["rm", "-rf", str(child)], check=True)


@pytest.fixture
def s3_conn(seaweedfs, monkeypatch) -> str:
    """An Airflow aws connection to SeaweedFS with the right keys."""
    monkeypatch.setenv("AIRFLOW_CONN_S3_TEST", seaweedfs.airflow_connection_json())
    return "s3_test"


@pytest.fixture(scope="session")
def _sources_bucket(seaweedfs) -> str:
    # One bucket for the whole session: each bucket is a SeaweedFS collection with its own
    # volumes, and the test server has room for only a few collections (-volume.max=20).
    return seaweedfs.create_bucket(f"cf-sources-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def bucket(seaweedfs, _sources_bucket) -> str:
    """The session's bucket, emptied for this test."""
    client = seaweedfs.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=_sources_bucket):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=_sources_bucket, Key=obj["Key"])
    return _sources_bucket


@pytest.fixture
def password_drop(sshd):
    """The password user's empty drop folder."""
    drop = sshd.drop_dir(PASSWORD_USER)
    _clear(drop)
    yield drop
    _clear(drop)


@pytest.fixture
def key_drop(sshd):
    drop = sshd.drop_dir(KEY_USER)
    _clear(drop)
    yield drop
    _clear(drop)


@pytest.fixture
def sftp_conn(sshd, monkeypatch) -> str:
    """An Airflow sftp connection for the password user, host key pinned."""
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_TEST", sshd.airflow_connection_json(PASSWORD_USER))
    return "sftp_test"


def set_connection(monkeypatch, conn_id: str, conn: dict) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id
