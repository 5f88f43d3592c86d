"""S3Source against a real SeaweedFS with access keys enforced."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from courtfeed.sources.base import SourceError
from courtfeed.sources.s3 import S3Source
from tests.sources.conftest import set_connection

pytestmark = pytest.mark.integration


def put(seaweedfs, bucket: str, key: str, data: bytes) -> None:
    seaweedfs.client().put_object(Bucket=bucket, Key=key, Body=data)


def keys(seaweedfs, bucket: str, prefix: str = "") -> list[str]:
    listed = seaweedfs.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


@pytest.fixture
def filled(seaweedfs, bucket):
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    put(seaweedfs, bucket, "in/a.csv", b"a,b\n1,2\n")
    put(seaweedfs, bucket, "in/b.txt", b"x" * 1234)
    put(seaweedfs, bucket, "in/sub/c.csv", b"c")
    put(seaweedfs, bucket, "in/processed/old.csv", b"old")
    put(seaweedfs, bucket, "other/d.csv", b"d")
    after = datetime.now(UTC) + timedelta(seconds=1)
    return before, after


def test_lists_one_level_or_recursive_with_sizes_and_mtimes(s3_conn, bucket, filled):
    before, after = filled
    with S3Source(s3_conn, bucket) as source:
        flat = {f.path: f for f in source.list_files("in/")}
        deep = {f.path: f for f in source.list_files("in/", recursive=True)}
        skipping = {f.path for f in source.list_files("in/", recursive=True, skip_dirs=("in/processed/",))}
    assert sorted(flat) == ["in/a.csv", "in/b.txt"]
    assert sorted(deep) == ["in/a.csv", "in/b.txt", "in/processed/old.csv", "in/sub/c.csv"]
    assert sorted(skipping) == ["in/a.csv", "in/b.txt", "in/sub/c.csv"]
    assert flat["in/a.csv"].size == 8 and flat["in/b.txt"].size == 1234
    for f in deep.values():
        assert f.mtime.tzinfo is not None and before <= f.mtime <= after
        assert f.mtime.microsecond == 0


def test_listing_more_than_one_page(s3_conn, bucket, seaweedfs):
    # list_objects_v2 answers 1000 keys a page: the source must follow the continuation.
    client = seaweedfs.client()
    for i in range(1105):
        client.put_object(Bucket=bucket, Key=f"many/f{i:05d}.csv", Body=b"1")
    with S3Source(s3_conn, bucket) as source:
        listed = source.list_files("many/")
    assert len(listed) == 1105 and len({f.path for f in listed}) == 1105


def test_download_move_and_upload(s3_conn, bucket, filled, seaweedfs, tmp_path: Path):
    with S3Source(s3_conn, bucket) as source:
        local = tmp_path / "got" / "b.txt"
        source.download("in/b.txt", local)
        assert local.read_bytes() == b"x" * 1234

        first = source.move("in/a.csv", "processed/")
        assert first == "processed/a.csv"
        # The same name again: the earlier archive copy is kept, the new one gets a timestamp.
        put(seaweedfs, bucket, "in/a.csv", b"a,b\n3,4\n")
        second = source.move("in/a.csv", "processed")
        assert re.fullmatch(r"processed/a\.\d{8}T\d{6}\d{6}Z\.csv", second), second

        ack = tmp_path / "a.csv.ack.json"
        ack.write_text(json.dumps({"status": "loaded"}))
        delivered = source.upload(ack, "acks/", ack.name)
        assert delivered == "acks/a.csv.ack.json"

    assert "in/a.csv" not in keys(seaweedfs, bucket)
    assert keys(seaweedfs, bucket, "processed/") == sorted([first, second])
    client = seaweedfs.client()
    assert client.get_object(Bucket=bucket, Key=first)["Body"].read() == b"a,b\n1,2\n"
    assert client.get_object(Bucket=bucket, Key=second)["Body"].read() == b"a,b\n3,4\n"
    assert json.loads(client.get_object(Bucket=bucket, Key=delivered)["Body"].read()) == {"status": "loaded"}


def test_delete(s3_conn, bucket, filled, seaweedfs):
    with S3Source(s3_conn, bucket) as source:
        source.delete("in/b.txt")
    assert "in/b.txt" not in keys(seaweedfs, bucket)


def test_wrong_secret_is_an_authentication_failure(seaweedfs, bucket, filled, monkeypatch):
    conn = seaweedfs.airflow_connection() | {"password": "not-the-secret-" + "x" * 20}
    conn_id = set_connection(monkeypatch, "s3_bad_secret", conn)
    with pytest.raises(SourceError) as caught, S3Source(conn_id, bucket) as source:
        source.list_files("in/")
    message = str(caught.value)
    assert "authentication failed" in message and "secret key is wrong" in message
    assert conn["password"] not in message and seaweedfs.secret_key not in message
    assert caught.value.transient is False


def test_unknown_access_key_is_an_authentication_failure(seaweedfs, bucket, filled, monkeypatch):
    conn = seaweedfs.airflow_connection() | {"login": "AKUNKNOWN0000000"}
    conn_id = set_connection(monkeypatch, "s3_bad_key", conn)
    with pytest.raises(SourceError) as caught, S3Source(conn_id, bucket) as source:
        source.list_files("in/")
    message = str(caught.value)
    assert "authentication failed" in message and "access key is not known" in message
    assert seaweedfs.secret_key not in message


def test_missing_bucket_says_so(s3_conn):
    with pytest.raises(SourceError) as caught, S3Source(s3_conn, "no-such-bucket-cf") as source:
        source.list_files("in/")
    message = str(caught.value)
    assert "no-such-bucket-cf" in message and "does not exist" in message


def test_missing_object_download_says_not_found(s3_conn, bucket, tmp_path: Path):
    with pytest.raises(SourceError) as caught, S3Source(s3_conn, bucket) as source:
        source.download("in/gone.csv", tmp_path / "gone.csv")
    assert "not found" in str(caught.value) and "in/gone.csv" in str(caught.value)


def test_unreachable_endpoint_is_transient(seaweedfs, monkeypatch):
    from tests.services._process import free_port

    conn = seaweedfs.airflow_connection()
    conn["extra"] = {
        **conn["extra"],
        "endpoint_url": f"http://127.0.0.1:{free_port()}",
        "config_kwargs": {
            **conn["extra"]["config_kwargs"],
            "retries": {"max_attempts": 1},
            "connect_timeout": 2,
        },
    }
    conn_id = set_connection(monkeypatch, "s3_closed", conn)
    started = time.monotonic()
    with pytest.raises(SourceError) as caught, S3Source(conn_id, "whatever") as source:
        source.list_files("in/")
    assert caught.value.transient is True
    assert "cannot reach" in str(caught.value)
    assert time.monotonic() - started < 30
