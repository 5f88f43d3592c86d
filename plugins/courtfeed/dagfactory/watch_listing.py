"""The folder watch's listings, in Airflow's triggerer (async): one listing of a profile's folder
per interval over one connection kept open, reopened with back-off when it breaks.

SFTP goes through the SFTP provider's async hook, after the host key rule of
``courtfeed.sources.hostkeys``, the same rule the workers apply: the triggerer never sends an
agency's password to a server it has not verified. S3 goes through the Amazon provider's
async (aiobotocore) client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import posixpath
import stat
from collections.abc import AsyncGenerator
from typing import Any

log = logging.getLogger(__name__)

# Bounds of a reconnect back-off after the server could not be listed.
RETRY_MIN_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0


async def _list_sftp(sftp, root: str, recursive: bool, skip: set[str]) -> list[dict]:
    import asyncssh

    out: list[dict] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = await sftp.readdir(folder)
        except asyncssh.SFTPNoSuchFile:
            entries = []  # not there (yet): nothing to take, keep watching
        for entry in entries:
            name = entry.filename
            if name in (".", ".."):
                continue
            path = posixpath.join(folder, name)
            mode = entry.attrs.permissions or 0
            if stat.S_ISDIR(mode):
                if recursive and posixpath.normpath(path) not in skip and not name.startswith("."):
                    pending.append(path)
            elif stat.S_ISREG(mode):
                out.append(
                    {"path": path, "size": int(entry.attrs.size or 0), "mtime": int(entry.attrs.mtime or 0)}
                )
    return out


async def sftp_hook(conn_id: str, insecure_skip_host_key_check: bool):
    """The provider's async hook, built only once the host key rule allows the connection
    (raises ``HostKeyRefused`` before anything is sent to the server)."""
    from airflow.providers.sftp.hooks.sftp import SFTPHookAsync

    from courtfeed.sources.hostkeys import host_key_check

    conn = await SFTPHookAsync.aget_connection(conn_id=conn_id)
    try:
        extra = json.loads(conn.extra or "{}")
    except ValueError:
        extra = {}  # unreadable extras pin nothing: refused like an unpinned connection
    check = host_key_check(conn_id, extra, insecure_skip_host_key_check=insecure_skip_host_key_check)
    # The rule's answer is passed explicitly: it wins over the connection's extras.
    return SFTPHookAsync(sftp_conn_id=conn_id, no_host_key_check=check.no_host_key_check)


def _cannot_list(what: str, conn_id: str, exc: Exception, backoff: float) -> None:
    from courtfeed.sources.hostkeys import HostKeyRefused

    # The rule's refusal is courtfeed's own line (no secret in it); other errors only by class.
    why = str(exc) if isinstance(exc, HostKeyRefused) else type(exc).__name__
    log.warning(
        "courtfeed watch: cannot list %s on connection %s (%s); again in %.0f s", what, conn_id, why, backoff
    )


async def sftp_listings(kwargs: dict[str, Any]) -> AsyncGenerator[list[dict], None]:
    """One listing of the folder per interval over one SFTP connection kept open (reopened,
    with back-off, when it breaks)."""
    interval = float(kwargs["poll_seconds"])
    skip = {posixpath.normpath(d) for d in kwargs.get("skip_dirs") or []}
    backoff = RETRY_MIN_SECONDS
    while True:
        try:
            hook = await sftp_hook(kwargs["conn_id"], bool(kwargs.get("insecure_skip_host_key_check")))
            async with hook.get_managed_conn() as sftp:
                while True:
                    yield await _list_sftp(sftp, kwargs["root"], bool(kwargs.get("recursive")), skip)
                    backoff = RETRY_MIN_SECONDS
                    await asyncio.sleep(interval)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the server is down or refused: keep watching, say why
            _cannot_list(kwargs["root"], kwargs["conn_id"], exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RETRY_MAX_SECONDS)


async def s3_listings(kwargs: dict[str, Any]) -> AsyncGenerator[list[dict], None]:
    """One listing of the prefix per interval through the Amazon provider's async (aiobotocore) client."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    interval = float(kwargs["poll_seconds"])
    bucket, prefix = kwargs["bucket"], kwargs["root"].lstrip("/")
    skip = tuple(d.strip("/") + "/" for d in kwargs.get("skip_dirs") or [] if d)
    backoff = RETRY_MIN_SECONDS
    while True:
        try:
            hook = S3Hook(aws_conn_id=kwargs["conn_id"])
            async with await hook.get_async_conn() as client:
                while True:
                    params = {"Bucket": bucket, "Prefix": prefix}
                    if not kwargs.get("recursive"):
                        params["Delimiter"] = "/"
                    out = []
                    async for page in client.get_paginator("list_objects_v2").paginate(**params):
                        for obj in page.get("Contents", []):
                            key = obj["Key"]
                            if key.endswith("/") or (skip and key.startswith(skip)):
                                continue
                            out.append(
                                {
                                    "path": key,
                                    "size": int(obj["Size"]),
                                    "mtime": int(obj["LastModified"].timestamp()),
                                }
                            )
                    yield out
                    backoff = RETRY_MIN_SECONDS
                    await asyncio.sleep(interval)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _cannot_list(f"s3://{bucket}/{prefix}", kwargs["conn_id"], exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RETRY_MAX_SECONDS)


LISTERS = {"sftp": sftp_listings, "s3": s3_listings}
