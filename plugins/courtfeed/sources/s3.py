"""S3-compatible bucket source over the Amazon provider's S3Hook.

The connection (type aws) holds the keys; its extra holds endpoint_url and region_name for
non-AWS servers such as SeaweedFS or MinIO.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from courtfeed.sources.base import RemoteFile, SourceError, collision_free

TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}


def explain(exc: BaseException, conn_id: str, what: str, bucket: str | None = None) -> SourceError:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
            hint = {
                "InvalidAccessKeyId": "the access key is not known to the server",
                "SignatureDoesNotMatch": "the secret key is wrong",
            }.get(code, "access denied")
            return SourceError(f"S3 connection '{conn_id}': {what}: authentication failed ({code}: {hint})")
        if code == "NoSuchBucket":
            name = bucket or exc.response.get("Error", {}).get("BucketName", "")
            return SourceError(
                f"S3 connection '{conn_id}': {what}: bucket '{name}' does not exist (NoSuchBucket)"
            )
        if code in ("NoSuchKey", "404"):
            return SourceError(f"S3 connection '{conn_id}': {what}: not found ({code})")
        return SourceError(f"S3 connection '{conn_id}': {what}: {code}", transient=code in TRANSIENT_CODES)
    if isinstance(exc, NoCredentialsError):
        return SourceError(f"S3 connection '{conn_id}': no access key configured")
    if isinstance(exc, (EndpointConnectionError, ConnectionError, TimeoutError)):
        return SourceError(f"S3 connection '{conn_id}': {what}: cannot reach the endpoint", transient=True)
    return SourceError(f"S3 connection '{conn_id}': {what}: {type(exc).__name__}")


class S3Source:
    kind = "s3"

    def __init__(self, conn_id: str, bucket: str):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        self.conn_id, self.bucket = conn_id, bucket
        self.hook = S3Hook(aws_conn_id=conn_id)
        # a boto3 S3 client while the source is open (boto3 ships no type stubs here)
        self.client: Any = None

    def __enter__(self) -> S3Source:
        try:
            self.client = self.hook.get_conn()
        except Exception as exc:
            raise explain(exc, self.conn_id, "connect") from None
        return self

    def __exit__(self, *exc) -> None:
        self.client = None

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise explain(exc, self.conn_id, what, self.bucket) from None

    def list_files(
        self, root: str, recursive: bool = False, skip_dirs: tuple[str, ...] = ()
    ) -> list[RemoteFile]:
        """Every object under the prefix (one level unless recursive), with size and mtime."""
        prefix = root.lstrip("/")
        skip = tuple(d.strip("/") + "/" for d in skip_dirs if d)
        paginator = self.client.get_paginator("list_objects_v2")
        kwargs = {"Bucket": self.bucket, "Prefix": prefix}
        if not recursive:
            kwargs["Delimiter"] = "/"
        out: list[RemoteFile] = []
        try:
            for page in paginator.paginate(**kwargs):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    if key.endswith("/") or (skip and key.startswith(skip)):
                        continue
                    mtime = obj["LastModified"].replace(microsecond=0)
                    out.append(RemoteFile(key, int(obj["Size"]), mtime))
        except Exception as exc:
            raise explain(exc, self.conn_id, f"list s3://{self.bucket}/{prefix}", self.bucket) from None
        return out

    def download(self, path: str, local: Path, expected: RemoteFile | None = None) -> None:
        # ``expected``: a bucket has no links to follow, and an object is replaced whole.
        local.parent.mkdir(parents=True, exist_ok=True)
        self._call(f"download {path}", self.client.download_file, self.bucket, path, str(local))

    def delete(self, path: str) -> None:
        self._call(f"delete {path}", self.client.delete_object, Bucket=self.bucket, Key=path)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError:
            return False

    def move(self, path: str, directory: str) -> str:
        """Copy then delete: S3 has no rename."""
        name = posixpath.basename(path)
        folder = directory.strip("/")
        target = f"{folder}/{collision_free(name, self.exists(f'{folder}/{name}'))}"
        self._call(
            f"copy {path}",
            self.client.copy_object,
            Bucket=self.bucket,
            Key=target,
            CopySource={"Bucket": self.bucket, "Key": path},
        )
        self.delete(path)
        return target

    def upload(self, local: Path, directory: str, name: str) -> str:
        key = f"{directory.strip('/')}/{name}"
        self._call(f"upload {key}", self.client.upload_file, str(local), self.bucket, key)
        return key
