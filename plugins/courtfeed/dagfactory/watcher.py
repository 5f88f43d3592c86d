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
takes what is new; the event carries digests of what the trigger saw (``event_payload``: no file
names unless the profile says ``asset_events_name_files: true``, as anyone who may read assets
reads the event), so the run does not wait for a second look of its own. The listings
themselves are ``courtfeed.dagfactory.watch_listing``. Nothing here runs at DAG parse time but
the trigger's constructor.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Hashable
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Asset
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from courtfeed.dagfactory.watch_listing import LISTERS

log = logging.getLogger(__name__)

CLASSPATH = "courtfeed.dagfactory.watcher.FolderWatchTrigger"
# At most this many files in one event (the run lists the folder itself anyway).
EVENT_FILES_MAX = 200
# Reported identities kept across triggerer restarts, at most (beyond: not kept, see _remember).
REMEMBER_MAX = 5000
STATE_KEY = "reported"


def landing_uri(profile_name: str) -> str:
    return f"courtfeed-landing://{profile_name}"


# -- deciding (pure, testable without a triggerer) ----------------------------------------------


class ReadyFiles:
    """Which files of successive listings are ready to take, each reported once per identity.

    What was reported is kept as digests (``RemoteFile.digest``), as it is saved in the landing
    asset's state store: no file names outside the triggerer's memory."""

    def __init__(self, rules: dict[str, Any]):
        from courtfeed.config.profile import Source

        self.src = Source(**rules)
        self.previous: dict[str, tuple[int, datetime]] = {}
        self.reported: set[str] = set()
        self.changed = False

    def dump(self) -> list[str] | None:
        """What was reported, to survive a triggerer restart (None: too many files to keep)."""
        if len(self.reported) > REMEMBER_MAX:
            return None
        return sorted(self.reported)

    def load(self, saved) -> None:
        from courtfeed.sources.base import RemoteFile

        for item in saved or []:
            if isinstance(item, str):
                self.reported.add(item)
            else:  # [path, size, mtime], as saved before the state held digests
                path, size, mtime = item
                self.reported.add(
                    RemoteFile(path, int(size), datetime.fromtimestamp(int(mtime), UTC)).digest()
                )

    def look(self, listing: list[dict], now: datetime | None = None) -> list[dict]:
        from courtfeed.sources import pickup
        from courtfeed.sources.base import RemoteFile

        files = [RemoteFile(f["path"], f["size"], datetime.fromtimestamp(f["mtime"], UTC)) for f in listing]
        digests = {f: f.digest() for f in files}
        sel = pickup.select_new(
            files,
            self.src,
            now=now or datetime.now(UTC),
            processed={(f.path, f.size, f.mtime) for f, d in digests.items() if d in self.reported},
            previous_look=self.previous,
            require_stable=self.src.wait_for_stable_size,
        )
        self.previous = {f.path: (f.size, f.mtime) for f in files}
        # Forget what left the folder (a file put back later is new again); report each once.
        self.reported &= set(digests.values())
        ready = sel.take  # capped at max_files_per_run: the rest are taken on a later look
        self.reported |= {digests[f] for f in ready}
        self.changed = bool(ready) or self.changed
        return [f.to_dict() for f in ready]


def event_payload(profile: str, files: list[dict], name_files: bool) -> dict:
    """What a watch event (and so the landing asset's event, which anyone who may read assets
    sees) says: digests and a count; the files themselves only where the profile opts in."""
    from courtfeed.sources.base import RemoteFile

    shown = files[:EVENT_FILES_MAX]
    payload: dict[str, Any] = {
        "profile": profile,
        "count": len(files),
        "ready": [RemoteFile.from_dict(f).digest() for f in shown],
    }
    if name_files:
        payload["files"] = shown
    return payload


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
        insecure_skip_host_key_check: bool = False,
        name_files: bool = False,
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
        self.insecure_skip_host_key_check = bool(insecure_skip_host_key_check)
        self.name_files = bool(name_files)  # the profile's asset_events_name_files

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
                "insecure_skip_host_key_check": self.insecure_skip_host_key_check,
                "name_files": self.name_files,
            },
        )

    def shared_stream_key(self) -> Hashable | None:
        """Profiles watching one folder of one server at one cadence share one listing loop.

        Folders a profile skips (its archive, error and reports folders) matter only when
        recursive, so they join the key then. A profile that skips host key checks lists over its
        own connection: its opt-out never reaches a profile that did not ask for it.
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
            self.insecure_skip_host_key_check,
        )

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncGenerator[Any, None]:
        # aclosing: a closed stream closes its listing's connection at once, not when collected.
        async with aclosing(LISTERS[kwargs["kind"]](kwargs)) as listings:
            async for listing in listings:
                yield listing

    async def filter_shared_stream(
        self, shared_stream: AsyncIterator[Any]
    ) -> AsyncGenerator[TriggerEvent, None]:
        ready = ReadyFiles(self.rules)
        ready.load(await self._remembered())
        async for listing in shared_stream:
            files = ready.look(listing)
            if ready.changed:
                ready.changed = False
                await self._remember(ready.dump())
            if files:
                self.log.info("courtfeed watch %s: %d file(s) ready", self.profile, len(files))
                yield TriggerEvent(event_payload(self.profile, files, self.name_files))

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
        async with (
            aclosing(type(self).open_shared_stream(self.serialize()[1])) as stream,
            aclosing(self.filter_shared_stream(stream)) as events,
        ):
            async for event in events:
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
        insecure_skip_host_key_check=src.insecure_skip_host_key_check,
        name_files=profile.asset_events_name_files,
    )
    return LandingAsset(
        name=f"courtfeed.landing.{profile.name}",
        uri=landing_uri(profile.name),
        group="courtfeed-landing",
        watchers=[AssetWatcher(name=f"courtfeed_watch_{profile.name}", trigger=trigger)],
    )


def seen_stable(triggering_events: Any) -> set[str]:
    """Digests of the files the watch saw ready, from a run's triggering asset events (so its
    first look needs no second one of its own for them)."""
    from courtfeed.sources.base import RemoteFile

    seen: set[str] = set()
    for events in (triggering_events or {}).values():
        for event in events or []:
            payload = (getattr(event, "extra", None) or {}).get("payload") or {}
            seen.update(str(d) for d in payload.get("ready") or [])
            if "ready" not in payload:  # an event from before digests: it named the files
                seen.update(RemoteFile.from_dict(f).digest() for f in payload.get("files") or [])
    return seen
