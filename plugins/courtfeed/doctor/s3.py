"""Doctor checks of an S3 profile, through the Amazon provider's S3Hook the DAG's tasks use:
the connection, the endpoint, the bucket, listing the prefix and writing to it and to the
archive, error and report prefixes (a zero-byte probe object, removed)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from courtfeed.config.profile import Profile
from courtfeed.doctor.connections import get_connection, missing_connection_hint, reachable
from courtfeed.doctor.report import Recorder


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")) or type(exc).__name__


def _key(folder: str, name: str) -> str:
    folder = folder.strip("/")
    return f"{folder}/{name}" if folder else name


def check_s3(profile: Profile, rec: Recorder) -> None:
    """Each check in turn; one that fails says why the ones after it were not tried."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    conn_id = profile.source.connection
    endpoint = _check_connection(conn_id, rec)
    if endpoint is None or (endpoint and not _check_endpoint(conn_id, endpoint, rec)):
        return
    client = S3Hook(aws_conn_id=conn_id).get_conn()
    if _check_bucket(client, conn_id, profile.source.bucket or "", rec):
        _check_list(client, profile, rec)
        _check_writes(client, profile, rec)


def _check_connection(conn_id: str, rec: Recorder) -> str | None:
    """The connection's endpoint ("" for AWS itself), or None when the connection is not usable."""
    conn = get_connection(conn_id)
    if conn is None:
        rec.fail(
            "connection",
            f"Airflow connection '{conn_id}' is not defined",
            missing_connection_hint(conn_id, "aws"),
        )
        return None
    if (conn.conn_type or "").lower() not in ("aws", "s3"):
        rec.fail(
            "connection",
            f"'{conn_id}' has type {conn.conn_type!r}, a bucket source needs aws",
            "set the connection type to aws (Amazon Web Services), or use source.directory for SFTP",
        )
        return None
    extra = conn.extra_dejson or {}
    endpoint = extra.get("endpoint_url") or (extra.get("service_config") or {}).get("s3", {}).get(
        "endpoint_url"
    )
    rec.ok(
        "connection",
        f"'{conn_id}': aws, endpoint {endpoint or 'AWS default'}, access key set: {bool(conn.login)}",
    )
    return endpoint or ""


def _check_endpoint(conn_id: str, endpoint: str, rec: Recorder) -> bool:
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    problem = reachable(parts.hostname or "", port)
    if problem:
        rec.fail(
            "endpoint reachable",
            problem,
            f"check extra endpoint_url of '{conn_id}' and that this machine may reach it",
        )
        rec.skip("bucket", "not tried: the endpoint is not reachable")
        return False
    rec.ok("endpoint reachable", f"{parts.hostname}:{port} accepts connections")
    return True


def _check_bucket(client, conn_id: str, bucket: str, rec: Recorder) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except (ClientError, BotoCoreError) as exc:
        code = _code(exc)
        if code in ("404", "NoSuchBucket"):
            rec.fail(
                "bucket",
                f"bucket '{bucket}' does not exist",
                f"ask the agency for the bucket name and set source.bucket, or create '{bucket}'",
            )
        elif code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            rec.fail(
                "bucket",
                f"access to '{bucket}' refused ({code})",
                f"check access key and secret of '{conn_id}' and the bucket's policy for them",
            )
        else:
            rec.fail("bucket", f"'{bucket}': {code}", f"check '{conn_id}' and the bucket")
        rec.skip("list", "not tried: the bucket is not usable")
        return False
    rec.ok("bucket", f"'{bucket}' exists and the keys may use it")
    return True


def _check_list(client, profile: Profile, rec: Recorder) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    conn_id, bucket, prefix = profile.source.connection, profile.source.bucket, profile.source.prefix
    try:
        page = client.list_objects_v2(Bucket=bucket, Prefix=prefix.lstrip("/"), MaxKeys=100)
        rec.ok("list", f"s3://{bucket}/{prefix} is listable ({page.get('KeyCount', 0)} objects seen)")
    except (ClientError, BotoCoreError) as exc:
        rec.fail(
            "list",
            f"listing s3://{bucket}/{prefix} refused ({_code(exc)})",
            f"grant the keys of '{conn_id}' s3:ListBucket on '{bucket}' (prefix '{prefix}')",
        )


def _check_writes(client, profile: Profile, rec: Recorder) -> None:
    """A zero-byte probe written and removed under every prefix courtfeed writes to."""
    from botocore.exceptions import BotoCoreError, ClientError

    conn_id, bucket = profile.source.connection, profile.source.bucket
    folders = [("put", profile.source.prefix)]
    if profile.after_load == "archive" and profile.archive_directory:
        folders.append(("archive prefix", profile.archive_directory))
    if profile.error_directory:
        folders.append(("error prefix", profile.error_directory))
    if profile.reports_directory:
        folders.append(("reports prefix", profile.reports_directory))
    for name, folder in folders:
        key = _key(folder, f".courtfeed-doctor-{uuid.uuid4().hex[:12]}.probe")
        try:
            client.put_object(Bucket=bucket, Key=key, Body=b"")
            client.delete_object(Bucket=bucket, Key=key)
            rec.ok(name, f"s3://{bucket}/{folder.strip('/')} writable (zero-byte probe written and removed)")
        except (ClientError, BotoCoreError) as exc:
            rec.fail(
                name,
                f"writing under s3://{bucket}/{folder.strip('/')} refused ({_code(exc)})",
                f"grant the keys of '{conn_id}' s3:PutObject and s3:DeleteObject there",
            )
