"""Event-driven pickup: a trigger in Airflow's triggerer watches a profile's folder and fires when
a file there is ready to take, so its DAG runs within a poll or two of the file landing, and an
idle profile holds no worker slot and creates no DAG runs.

``FolderWatchTrigger`` is a ``BaseEventTrigger`` behind an ``AssetWatcher`` on the profile's
landing asset (``courtfeed-landing://<profile>``); the profile's DAG is scheduled on that asset.
Profiles that watch the same folder of the same server (connection + folder + interval) share
one listing loop through the triggerer's shared streams: one SFTP connection, kept open, and one
listing per interval, however many profiles watch it.

The trigger applies the safe-pickup rules of ``courtfeed.sources.pickup`` (name filters, in-progress
suffixes, done marker, minimum age, size and mtime unchanged between two looks) to decide that a
file is ready, and fires once per file identity (path, size, mtime). It does not read the
ledger: the DAG run's ``list_new_files`` still applies every rule, the ledger included, and
takes what is new; the event carries what the trigger saw so the run does not wait for a second
look of its own. Nothing here runs at DAG parse time but the trigger's constructor.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import stat
from collections.abc import AsyncIterator, Hashable
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Asset
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

log = logging.getLogger(__name__)

CLASSPATH = "courtfeed.dagfactory.watcher.FolderWatchTrigger"
# Bounds of a reconnect back-off after the server could not be listed.
RETRY_MIN_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0
# At most this many files named in one event (the run lists the folder itself anyway).
EVENT_FILES_MAX = 200
# Reported identities kept across triggerer restarts, at most (beyond: not kept, see _remember).
REMEMBER_MAX = 5000
STATE_KEY = "reported"


def landing_uri(profile_name: str) -> str:
    return f"courtfeed-landing://{profile_name}"


# -- listing (async, in the triggerer) --------------------------------------------------------


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


async def sftp_listings(kwargs: dict[str, Any]) -> AsyncIterator[list[dict]]:
    """One listing of the folder per interval over one SFTP connection kept open (reopened,
    with back-off, when it breaks)."""
    from airflow.providers.sftp.hooks.sftp import SFTPHookAsync

    interval = float(kwargs["poll_seconds"])
    skip = {posixpath.normpath(d) for d in kwargs.get("skip_dirs") or []}
    backoff = RETRY_MIN_SECONDS
    while True:
        hook = SFTPHookAsync(sftp_conn_id=kwargs["conn_id"])
        try:
            async with hook.get_managed_conn() as sftp:
                while True:
                    yield await _list_sftp(sftp, kwargs["root"], bool(kwargs.get("recursive")), skip)
                    backoff = RETRY_MIN_SECONDS
                    await asyncio.sleep(interval)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the server is down or refused: keep watching, say why
            log.warning(
                "courtfeed watch: cannot list %s on connection %s (%s); again in %.0f s",
                kwargs["root"],
                kwargs["conn_id"],
                type(exc).__name__,
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RETRY_MAX_SECONDS)


async def s3_listings(kwargs: dict[str, Any]) -> AsyncIterator[list[dict]]:
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
            log.warning(
                "courtfeed watch: cannot list s3://%s/%s on connection %s (%s); again in %.0f s",
                bucket,
                prefix,
                kwargs["conn_id"],
                type(exc).__name__,
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RETRY_MAX_SECONDS)


LISTERS = {"sftp": sftp_listings, "s3": s3_listings}


# -- deciding (pure, testable without a triggerer) ----------------------------------------------


class ReadyFiles:
    """Which files of successive listings are ready to take, each reported once per identity."""

    def __init__(self, rules: dict[str, Any]):
        from courtfeed.config.profile import Source

        self.src = Source(**rules)
        self.previous: dict[str, tuple[int, datetime]] = {}
        self.reported: set[tuple[str, int, datetime]] = set()
        self.changed = False

    def dump(self) -> list[list] | None:
        """What was reported, to survive a triggerer restart (None: too many files to keep)."""
        if len(self.reported) > REMEMBER_MAX:
            return None
        return sorted([p, size, int(mtime.timestamp())] for p, size, mtime in self.reported)

    def load(self, saved) -> None:
        for path, size, mtime in saved or []:
            self.reported.add((path, int(size), datetime.fromtimestamp(int(mtime), UTC)))

    def look(self, listing: list[dict], now: datetime | None = None) -> list[dict]:
        from courtfeed.sources import pickup
        from courtfeed.sources.base import RemoteFile

        files = [RemoteFile(f["path"], f["size"], datetime.fromtimestamp(f["mtime"], UTC)) for f in listing]
        sel = pickup.select_new(
            files,
            self.src,
            now=now or datetime.now(UTC),
            processed=self.reported,
            previous_look=self.previous,
            require_stable=self.src.wait_for_stable_size,
        )
        self.previous = {f.path: (f.size, f.mtime) for f in files}
        # Forget what left the folder (a file put back later is new again); report each once.
        self.reported &= {(f.path, f.size, f.mtime) for f in files}
        ready = sel.take  # capped at max_files_per_run: the rest are taken on a later look
        self.reported |= {(f.path, f.size, f.mtime) for f in ready}
        self.changed = bool(ready) or self.changed
        return [f.to_dict() for f in ready]


class FolderWatchTrigger(BaseEventTrigger):
    """Fires when files in a profile's folder are ready to take (see the module docstring)."""

    def __init__(
        self,
        *,
        profile: str,
        kind: str,
        conn_id: str,
        root: str,
        bucket: str | None = None,
        recursive: bool = False,
        skip_dirs: list[str] | None = None,
        poll_seconds: float = 20.0,
        rules: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.kind = kind
        self.conn_id = conn_id
        self.root = root
        self.bucket = bucket
        self.recursive = recursive
        self.skip_dirs = list(skip_dirs or [])
        self.poll_seconds = float(poll_seconds)
        self.rules = dict(rules or {})

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "profile": self.profile,
                "kind": self.kind,
                "conn_id": self.conn_id,
                "root": self.root,
                "bucket": self.bucket,
                "recursive": self.recursive,
                "skip_dirs": self.skip_dirs,
                "poll_seconds": self.poll_seconds,
                "rules": self.rules,
            },
        )

    def shared_stream_key(self) -> Hashable | None:
        """Profiles watching one folder of one server at one cadence share one listing loop.

        Folders a profile skips (its archive, error and reports folders) matter only when
        recursive, so they join the key then.
        """
        skip = tuple(sorted(self.skip_dirs)) if self.recursive else ()
        return (
            "courtfeed-watch",
            self.kind,
            self.conn_id,
            self.bucket,
            self.root,
            self.recursive,
            skip,
            self.poll_seconds,
        )

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        lister = LISTERS[kwargs["kind"]]
        async for listing in lister(kwargs):
            yield listing

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        ready = ReadyFiles(self.rules)
        ready.load(await self._remembered())
        async for listing in shared_stream:
            files = ready.look(listing)
            if ready.changed:
                ready.changed = False
                await self._remember(ready.dump())
            if files:
                self.log.info("courtfeed watch %s: %d file(s) ready", self.profile, len(files))
                yield TriggerEvent(
                    {"profile": self.profile, "files": files[:EVENT_FILES_MAX], "count": len(files)}
                )

    # What was reported lives in the landing asset's state store (Airflow 3.3 gives event
    # triggers one), so a restarted triggerer does not report files already taken. Best effort:
    # without it a restart reports them once more, and that run finds them in the ledger.
    async def _remembered(self):
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return None
        try:
            return await store.aget(STATE_KEY)
        except Exception as exc:
            self.log.warning("courtfeed watch %s: no remembered state (%s)", self.profile, type(exc).__name__)
            return None

    async def _remember(self, value) -> None:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return
        try:
            if value is None:
                await store.adelete(STATE_KEY)
            else:
                await store.aset(STATE_KEY, value)
        except Exception as exc:
            self.log.warning("courtfeed watch %s: state not saved (%s)", self.profile, type(exc).__name__)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Without the shared-stream manager: the same loop, for this trigger alone."""
        async for event in self.filter_shared_stream(type(self).open_shared_stream(self.serialize()[1])):
            yield event


# -- building (at parse time: no I/O) ----------------------------------------------------------

RULE_FIELDS = (
    "keywords",
    "blockwords",
    "patterns",
    "min_age_seconds",
    "done_marker",
    "max_files_per_run",
    "wait_for_stable_size",
)


class LandingAsset(Asset):
    """An ``Asset`` that computes its hash once (a profile's landing asset, its DAG's schedule).

    Airflow hashes the whole DAG, and so its schedule, each time a task dependency is set (the
    DAG set in ``_set_relatives``), and ``Asset.__hash__`` serialises the asset, watcher and
    trigger included, to JSON every time: with 8 tasks per profile that was about a quarter of
    the parse of 1,000 profiles. A schedule's asset is not changed once its DAG is built, so its
    hash can be kept. Equality and serialisation are Asset's own (it matches as an ``Asset``).
    """

    __slots__ = ("_courtfeed_hash",)
    _courtfeed_hash: int

    def __hash__(self) -> int:
        try:
            return self._courtfeed_hash
        except AttributeError:
            value = super().__hash__()
            object.__setattr__(self, "_courtfeed_hash", value)
            return value


def landing_asset(profile):
    """The asset a profile's DAG is scheduled on, watched by its folder's trigger."""
    from airflow.sdk import AssetWatcher

    src = profile.source
    skip = [d for d in (profile.archive_directory, profile.error_directory, profile.reports_directory) if d]
    rules = {
        "connection": src.connection,
        "directory": src.directory,
        "bucket": src.bucket,
        "prefix": src.prefix,
    }
    rules |= {name: getattr(src, name) for name in RULE_FIELDS}
    trigger = FolderWatchTrigger(
        profile=profile.name,
        kind=src.kind,
        conn_id=src.connection,
        root=src.directory or src.prefix,
        bucket=src.bucket,
        recursive=src.recursive,
        skip_dirs=skip,
        poll_seconds=src.watch_interval_seconds,
        rules=rules,
    )
    return LandingAsset(
        name=f"courtfeed.landing.{profile.name}",
        uri=landing_uri(profile.name),
        group="courtfeed-landing",
        watchers=[AssetWatcher(name=f"courtfeed_watch_{profile.name}", trigger=trigger)],
    )


def seen_stable(triggering_events: Any) -> list[dict]:
    """The files the watch saw ready, from a run's triggering asset events (for its first look)."""
    files: list[dict] = []
    for events in (triggering_events or {}).values():
        for event in events or []:
            payload = (getattr(event, "extra", None) or {}).get("payload") or {}
            files.extend(payload.get("files") or [])
    return files
