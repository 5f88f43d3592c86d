"""One file from an SFTP server through the SFTP provider's async hook, many reads in flight.

The paramiko hook reads through a background thread, 32 KiB per request, and measured about
35 MB/s on loopback where OpenSSH's ``sftp get`` moved 150-230 MB/s. ``SFTPHookAsync``
(asyncssh) keeps as many reads in flight as the server's limits allow (OpenSSH: 16 of about
256 KiB) on one event loop, as OpenSSH's own client does.

It is a second connection to the same server, from the same Airflow connection, with the same
host key decision as the paramiko one (passed in explicitly: the pinned key is verified, or,
only with the profile's open opt-out, none). What arrives is written in file order and hashed
as it is written; the caller checks the copy on disk against that hash and the size.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from courtfeed.sources.base import SourceError

CONNECT_RETRY_SECONDS = 2.0
WRITES_QUEUED = 32  # blocks received and waiting for the disk, at most
Check = Callable[[Any, str], None]  # (attributes with st_mode/st_size/st_mtime, when) -> raises


def download(
    conn_id: str, no_host_key_check: bool, path: str, local: Path, check: Check, connect_attempts: int = 1
) -> tuple[int, str]:
    """Copy ``path`` into ``local``; returns (bytes received, their sha256). ``check`` is asked
    about the path (not following links) and again about the opened file before any byte is read.
    A transient refusal to connect (sshd's MaxStartups) is tried again, up to connect_attempts."""
    try:
        return asyncio.run(_download(conn_id, no_host_key_check, path, local, check, connect_attempts))
    except SourceError:
        raise
    except Exception as exc:
        raise explain(exc, conn_id, f"download {path}") from None


async def _download(
    conn_id: str, no_host_key_check: bool, path: str, local: Path, check: Check, connect_attempts: int
):
    from airflow.providers.sftp.hooks.sftp import SFTPHookAsync

    hook = SFTPHookAsync(sftp_conn_id=conn_id, no_host_key_check=no_host_key_check)
    async with AsyncExitStack() as stack:
        for attempt in range(1, connect_attempts + 1):
            try:
                sftp = await stack.enter_async_context(hook.get_managed_conn())
                break
            except Exception as exc:
                error = explain(exc, conn_id, "connect")
                if not error.transient or attempt == connect_attempts:
                    raise error from None
            await asyncio.sleep(CONNECT_RETRY_SECONDS * attempt)
        check(_attrs(await sftp.lstat(path)), "at download")
        async with sftp.open(path, "rb") as remote:
            opened = _attrs(await remote.stat())
            check(opened, "when opened")
            return await _copy(remote, int(opened.st_size or 0), local)


async def _copy(remote, size: int, local: Path) -> tuple[int, str]:
    """Every block of the file into ``local``, in order: blocks arrive in any order, and the
    ones ahead of the next offset wait (at most the reads in flight) until it comes. Writing
    and hashing run on a thread of their own, beside the event loop that receives."""
    digest = hashlib.sha256()
    done = 0
    early: dict[int, bytes] = {}
    loop = asyncio.get_running_loop()
    written: deque[asyncio.Future] = deque()
    with local.open("wb") as out, ThreadPoolExecutor(1, thread_name_prefix="courtfeed-sftp") as writer:

        def write(block: bytes) -> None:
            out.write(block)
            digest.update(block)

        try:
            async for offset, data in await remote.read_parallel(size, 0):
                if data:
                    early[offset] = data
                while done in early:
                    block = early.pop(done)
                    done += len(block)
                    written.append(loop.run_in_executor(writer, write, block))  # one thread: in order
                    if len(written) > WRITES_QUEUED:
                        await written.popleft()
        finally:
            await asyncio.gather(*written, return_exceptions=True)
        for write_done in written:
            write_done.result()  # a failed write (a full disk) fails the download
    return done, digest.hexdigest()


def _attrs(attrs) -> SimpleNamespace:
    """asyncssh's attributes under paramiko's names (SFTP v3 sends the file type in them)."""
    return SimpleNamespace(st_mode=attrs.permissions, st_size=attrs.size, st_mtime=attrs.mtime)


def explain(exc: BaseException, conn_id: str, what: str) -> SourceError:
    """asyncssh and OS errors as one clear line; transient ones are retried by Airflow."""
    import asyncssh

    name = type(exc).__name__
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return SourceError(
            f"SFTP connection '{conn_id}': the server's host key does not match the one pinned in the "
            "connection (extra 'host_key'); if the server was re-keyed, verify and update the pin"
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        return SourceError(f"SFTP connection '{conn_id}': authentication failed (wrong password or key)")
    if isinstance(exc, asyncssh.SFTPNoSuchFile) or getattr(exc, "errno", None) == errno.ENOENT:
        return SourceError(f"SFTP connection '{conn_id}': {what}: no such file or directory")
    if isinstance(exc, asyncssh.SFTPPermissionDenied) or getattr(exc, "errno", None) == errno.EACCES:
        return SourceError(f"SFTP connection '{conn_id}': {what}: permission denied")
    if isinstance(exc, (asyncssh.DisconnectError, asyncssh.ConnectionLost, OSError, TimeoutError, EOFError)):
        return SourceError(f"SFTP connection '{conn_id}': {what}: {name}", transient=True)
    return SourceError(f"SFTP connection '{conn_id}': {what}: {name}")
