"""SFTP source over the SFTP provider's hook: one managed connection per task.

Two rules keep one agency's data from arriving under another's name:
- the server is who the connection says: the host key rule of ``courtfeed.sources.hostkeys``
  (a pinned key, or the profile's reported opt-out) is applied before the hook is built;
- only regular files are downloaded, never a symbolic link (on a shared drop box a link can
  point into another agency's folder), and the file must still be the one listed (type, size,
  mtime) when it is opened, so a file swapped for a link after the listing is refused.
"""

from __future__ import annotations

import errno
import hashlib
import posixpath
import stat
import time
from pathlib import Path
from typing import Any

from courtfeed.sources.base import RemoteFile, SourceError, collision_free, utc_from_timestamp

COPY_CHUNK = 1 << 20


def explain(exc: BaseException, conn_id: str, what: str) -> SourceError:
    """Turn paramiko/OS errors into one clear line; transient ones are retried by Airflow."""
    import paramiko

    text = str(exc)
    if isinstance(exc, paramiko.AuthenticationException):
        return SourceError(f"SFTP connection '{conn_id}': authentication failed (wrong password or key)")
    if isinstance(exc, paramiko.BadHostKeyException) or "host key" in text.lower():
        return SourceError(
            f"SFTP connection '{conn_id}': the server's host key does not match the one pinned in the "
            "connection (extra 'host_key'); if the server was re-keyed, verify and update the pin"
        )
    if isinstance(exc, FileNotFoundError) or getattr(exc, "errno", None) == errno.ENOENT:
        return SourceError(f"SFTP connection '{conn_id}': {what}: no such file or directory")
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) == errno.EACCES:
        return SourceError(f"SFTP connection '{conn_id}': {what}: permission denied")
    if isinstance(exc, (ConnectionError, TimeoutError, EOFError, paramiko.SSHException, OSError)):
        return SourceError(
            f"SFTP connection '{conn_id}': {what}: {type(exc).__name__}: {text}", transient=True
        )
    return SourceError(f"SFTP connection '{conn_id}': {what}: {type(exc).__name__}")


# Connecting again helps only with transient refusals (e.g. sshd MaxStartups throttling). The
# hook's own retry would also repeat a wrong password or host key, which only delays the clear
# error and can get the account locked by the server's intrusion protection.
CONNECT_ATTEMPTS = 3
CONNECT_RETRY_SECONDS = 2.0


class SftpSource:
    kind = "sftp"

    def __init__(self, conn_id: str, *, insecure_skip_host_key_check: bool = False):
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        from courtfeed.sources.hostkeys import host_key_check

        self.conn_id = conn_id
        extra = SFTPHook.get_connection(conn_id).extra_dejson
        check = host_key_check(conn_id, extra, insecure_skip_host_key_check=insecure_skip_host_key_check)
        # The rule's answer is passed explicitly, so it wins over whatever the extras say.
        self.hook = SFTPHook(
            ssh_conn_id=conn_id, conn_retry_attempts=1, no_host_key_check=check.no_host_key_check
        )
        self._managed: Any = None
        self._sftp: Any = None  # paramiko.SFTPClient, opened when first needed

    def __enter__(self) -> SftpSource:
        # No connection yet: a download goes through the async hook's own connection
        # (sources/sftp_download.py), and opening a paramiko one it never uses cost the fetch
        # task a key exchange and a login (about 0.16 s on loopback).
        return self

    @property
    def sftp(self) -> Any:
        """The paramiko SFTP client, connected on first use (a refused connection is retried)."""
        if self._sftp is None:
            self._sftp = self._connect()
        return self._sftp

    def _connect(self) -> Any:
        attempt = 1
        while True:
            try:
                self._managed = self.hook.get_managed_conn()
                return self._managed.__enter__()
            except Exception as exc:
                self._managed = None
                error = explain(exc, self.conn_id, "connect")
            if not error.transient or attempt >= CONNECT_ATTEMPTS:
                raise error
            time.sleep(CONNECT_RETRY_SECONDS * attempt)
            attempt += 1

    def __exit__(self, *exc) -> None:
        if self._managed is not None:
            self._managed.__exit__(None, None, None)
            self._managed = None
            self._sftp = None

    def _call(self, what: str, fn, *args):
        try:
            return fn(*args)
        except SourceError:
            raise
        except Exception as exc:
            raise explain(exc, self.conn_id, what) from None

    def list_files(
        self, root: str, recursive: bool = False, skip_dirs: tuple[str, ...] = ()
    ) -> list[RemoteFile]:
        """All regular files under root with size and mtime, one listdir_attr call per folder."""
        skip = {posixpath.normpath(d) for d in skip_dirs if d}
        out: list[RemoteFile] = []
        pending = [root]
        while pending:
            folder = pending.pop()
            for attr in self._call(f"list {folder}", self.sftp.listdir_attr, folder):
                path = posixpath.join(folder, attr.filename)
                if stat.S_ISDIR(attr.st_mode or 0):
                    if (
                        recursive
                        and posixpath.normpath(path) not in skip
                        and not attr.filename.startswith(".")
                    ):
                        pending.append(path)
                elif stat.S_ISREG(attr.st_mode or 0):
                    out.append(RemoteFile(path, int(attr.st_size or 0), utc_from_timestamp(attr.st_mtime)))
        return out

    def _same_file(self, path: str, attr, expected: RemoteFile | None, when: str) -> None:
        """Refuse anything but a regular file, and a file that is not the one listed."""
        if not stat.S_ISREG(attr.st_mode or 0):
            kind = "a symbolic link" if stat.S_ISLNK(attr.st_mode or 0) else "not a regular file"
            raise SourceError(
                f"SFTP connection '{self.conn_id}': download {path}: not a regular file ({kind}, "
                f"{when}); courtfeed reads only regular files"
            )
        if expected is not None and (
            int(attr.st_size or 0) != expected.size or utc_from_timestamp(attr.st_mtime) != expected.mtime
        ):
            raise SourceError(
                f"SFTP connection '{self.conn_id}': download {path}: the file changed since it was "
                f"listed ({when}: size or modification time differ); it is taken on a later cycle",
                transient=True,
            )

    def download(self, path: str, local: Path, expected: RemoteFile | None = None) -> str:
        """Copy one regular file; with ``expected`` (the listing's entry), only if it is still that
        file. Checked on the path without following links, then again on the opened handle, so a
        swap between the two checks is caught too. Returns the sha256 of the bytes received,
        checked against the copy on disk, whose size must be the opened file's.

        Through the provider's async hook (sources/sftp_download.py): many reads in flight."""
        from courtfeed.sources import sftp_download

        local.parent.mkdir(parents=True, exist_ok=True)
        opened: list[int] = []

        def check(attr, when: str) -> None:
            self._same_file(path, attr, expected, when)
            opened.append(int(attr.st_size or 0))

        try:
            skip = bool(self.hook.no_host_key_check)  # the decision the paramiko hook was built with
            received, digest = sftp_download.download(
                self.conn_id, skip, path, local, check, connect_attempts=CONNECT_ATTEMPTS
            )
            self._verify(path, local, opened[-1], received, digest)
        except BaseException:
            local.unlink(missing_ok=True)
            raise
        return digest

    def _verify(self, path: str, local: Path, size: int, received: int, digest: str) -> None:
        """The copy on disk is what the server sent: its size, and its sha256 read back."""
        if received != size:
            raise SourceError(
                f"SFTP connection '{self.conn_id}': download {path}: {received} of {size} bytes "
                "arrived (the file changed while it was downloaded); it is downloaded again later",
                transient=True,
            )
        on_disk = hashlib.sha256()
        with local.open("rb") as copy:
            while block := copy.read(COPY_CHUNK):
                on_disk.update(block)
        if local.stat().st_size != size or on_disk.hexdigest() != digest:
            raise SourceError(
                f"SFTP connection '{self.conn_id}': download {path}: the copy on disk does not match "
                "what the server sent (size or sha256 differ); it is downloaded again",
                transient=True,
            )

    def delete(self, path: str) -> None:
        self._call(f"delete {path}", self.sftp.remove, path)

    def _ensure_dir(self, directory: str) -> None:
        parts = posixpath.normpath(directory).split("/")
        current = "/" if directory.startswith("/") else ""
        for part in filter(None, parts):
            current = posixpath.join(current, part)
            try:
                self.sftp.stat(current)
            except FileNotFoundError:
                self._call(f"create {current}", self.sftp.mkdir, current)

    def exists(self, path: str) -> bool:
        try:
            self.sftp.stat(path)
            return True
        except FileNotFoundError:
            return False

    def move(self, path: str, directory: str) -> str:
        self._ensure_dir(directory)
        name = posixpath.basename(path)
        target = posixpath.join(directory, collision_free(name, self.exists(posixpath.join(directory, name))))
        self._call(f"move {path}", self.sftp.rename, path, target)
        return target

    def upload(self, local: Path, directory: str, name: str) -> str:
        self._ensure_dir(directory)
        target = posixpath.join(directory, name)
        self._call(f"upload {target}", self.sftp.put, str(local), target)
        return target
