"""What a source (an SFTP server or an S3-compatible bucket) offers the pipeline."""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    mtime: datetime  # UTC, whole seconds

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def to_dict(self) -> dict:
        return {"path": self.path, "size": self.size, "mtime": self.mtime.isoformat()}

    @classmethod
    def from_dict(cls, data: dict) -> RemoteFile:
        return cls(data["path"], int(data["size"]), datetime.fromisoformat(data["mtime"]))

    def digest(self) -> str:
        """An opaque id of this identity (path, size, mtime), for what others may read (asset
        events): it names no file, yet whoever lists the folder can tell which file it stands for."""
        key = f"{self.path}\0{self.size}\0{int(self.mtime.timestamp())}".encode()
        return hashlib.sha256(key).hexdigest()[:32]


def utc_from_timestamp(ts: float | int | None) -> datetime:
    return datetime.fromtimestamp(int(ts or 0), UTC)


class SourceError(Exception):
    """A problem reaching or using the source, worded for the engineer on call (no secrets)."""

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class Source(Protocol):
    kind: str

    def __enter__(self) -> Source: ...
    def __exit__(self, *exc) -> None: ...
    def list_files(
        self, root: str, recursive: bool = False, skip_dirs: tuple[str, ...] = ()
    ) -> list[RemoteFile]: ...
    def download(self, path: str, local: Path, expected: RemoteFile | None = None) -> str | None:
        """Copy ``path`` into ``local``; returns the sha256 of what arrived when the source
        computed it while copying (None: the caller hashes the file)."""
        ...

    def exists(self, path: str) -> bool: ...
    def delete(self, path: str) -> None: ...
    def move(self, path: str, directory: str) -> str: ...
    def upload(self, local: Path, directory: str, name: str) -> str: ...


def collision_free(name: str, taken: bool, now: datetime | None = None) -> str:
    """An archive name that does not overwrite an earlier one: add a UTC timestamp before the extension."""
    if not taken:
        return name
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    stem, dot, ext = name.partition(".")
    return f"{stem}.{stamp}{dot}{ext}" if dot else f"{name}.{stamp}"
