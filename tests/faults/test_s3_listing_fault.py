"""The S3 server (SeaweedFS) killed in the middle of a listing: the sensor's poke fails with one
clear line (so Airflow retries it), and the retry, once the server is back, offers every file
exactly once: none lost, none doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from courtfeed.dagfactory import runtime, tasks
from courtfeed.sources.base import SourceError
from tests.services import start_seaweedfs
from tests.services._process import port_is_open

REPO = Path(__file__).resolve().parents[2]
FILES = [f"in/metro_hearings_{i:02d}.txt" for i in range(12)]

pytestmark = [pytest.mark.integration]


def kill(service) -> list[str]:
    """SIGKILL the server (its process group); returns its command line to start it again."""
    cmd = Path(f"/proc/{service._proc.pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    os.killpg(service._proc.pid, signal.SIGKILL)
    service._proc.wait(timeout=10)
    return cmd


def start_again(service, cmd: list[str]) -> None:
    with open(service.log_path, "ab") as log:
        service._proc = subprocess.Popen(
            cmd,
            cwd=service.base_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    port = int(service.endpoint_url.rsplit(":", 1)[1])
    deadline = time.time() + 90
    while time.time() < deadline:
        if port_is_open(port):
            try:
                service.client().list_objects_v2(Bucket="faults", MaxKeys=1)
                return
            except Exception:  # noqa: BLE001 - not answering yet
                pass
        time.sleep(1)
    raise AssertionError("SeaweedFS did not come back")


@pytest.fixture
def s3_feed(tmp_path: Path, monkeypatch):
    weed = start_seaweedfs()  # its own server: this one gets killed
    try:
        weed.create_bucket("faults")
        client = weed.client()
        for key in FILES:
            client.put_object(Bucket="faults", Key=key, Body=b"ID|NAME\n1|A\n")
        include = tmp_path / "include"
        (include / "profiles").mkdir(parents=True)
        (include / "templates").mkdir()
        (include / "templates" / "metro_hearings.yaml").write_text(
            (REPO / "include" / "templates" / "metro_hearings.yaml").read_text()
        )
        profile = {
            "name": "s3_faults",
            "agency": "metro-county",
            "source": {
                "connection": "s3_faults",
                "bucket": "faults",
                "prefix": "in/",
                "min_age_seconds": 0,
                "wait_for_stable_size": False,
            },
            "template": "metro_hearings",
        }
        (include / "profiles" / "s3_faults.yaml").write_text(yaml.safe_dump(profile))
        monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
        monkeypatch.setenv("AIRFLOW_CONN_S3_FAULTS", weed.airflow_connection_json())
        target = tmp_path / "target.db"
        monkeypatch.setenv(
            "AIRFLOW_CONN_COURTFEED_TARGET", json.dumps({"conn_type": "sqlite", "host": str(target)})
        )
        monkeypatch.setattr(runtime, "_engines", {})
        yield weed
    finally:
        weed.stop()


def test_s3_killed_mid_listing_then_the_retry_offers_every_file_once(s3_feed, monkeypatch):
    from courtfeed.sources.s3 import S3Source

    real_list = S3Source.list_files
    restart: list[list[str]] = []

    def list_in_small_pages(self, root, recursive=False, skip_dirs=()):
        # Pages of 5 keys; the server dies after the first page has been read.
        paginator = self.client.get_paginator("list_objects_v2")
        real_paginate = paginator.paginate

        def paginate(**kwargs):
            for number, page in enumerate(real_paginate(**kwargs, PaginationConfig={"PageSize": 5})):
                yield page
                if number == 0 and not restart:
                    restart.append(kill(s3_feed))

        monkeypatch.setattr(paginator, "paginate", paginate)
        monkeypatch.setattr(self.client, "get_paginator", lambda _name: paginator)
        return real_list(self, root, recursive, skip_dirs)

    monkeypatch.setattr(S3Source, "list_files", list_in_small_pages)
    with pytest.raises(SourceError) as caught:
        tasks.poke_for_files("s3_faults", {}, "manual__1")
    message = str(caught.value)
    assert "\n" not in message and "s3_faults" in message and caught.value.transient

    start_again(s3_feed, restart[0])  # the sensor's retry, once the server is back
    files = tasks.poke_for_files("s3_faults", {}, "manual__1")
    assert sorted(f["path"] for f in files) == sorted(FILES)
