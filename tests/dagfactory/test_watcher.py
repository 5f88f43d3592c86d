"""Event-driven pickup (courtfeed.dagfactory.watcher): which files the folder watch reports as ready, that
profiles on one folder share one listing loop (one SFTP login, one listing per interval), and
that a profile's DAG is scheduled on its watched landing asset unless it asks for a schedule."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from courtfeed.config.profile import Profile
from courtfeed.dagfactory.watcher import FolderWatchTrigger, ReadyFiles, landing_asset
from courtfeed.sources.base import RemoteFile

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def rules(**over) -> dict:
    return {"connection": "sftp_x", "directory": "/drop", "min_age_seconds": 60, **over}


def entry(path: str, size: int, mtime: datetime) -> dict:
    return {"path": path, "size": size, "mtime": int(mtime.timestamp())}


def test_a_file_is_ready_once_old_enough_and_unchanged_between_two_looks():
    ready = ReadyFiles(rules(keywords=["hearing"]))
    landed = T0
    growing = [entry("/drop/hearings.txt", 100, landed), entry("/drop/payments.txt", 5, landed)]
    assert ready.look(growing, now=T0 + timedelta(seconds=20)) == []  # too young
    grown = [entry("/drop/hearings.txt", 200, landed + timedelta(seconds=30))]
    assert ready.look(grown, now=T0 + timedelta(seconds=100)) == []  # changed since the last look
    assert ready.look(grown, now=T0 + timedelta(seconds=120)) == grown_dicts(grown)
    assert ready.look(grown, now=T0 + timedelta(seconds=140)) == []  # reported once
    # Replaced by a new version: ready again once stable.
    newer = [entry("/drop/hearings.txt", 300, T0 + timedelta(seconds=200))]
    assert ready.look(newer, now=T0 + timedelta(seconds=300)) == []
    assert ready.look(newer, now=T0 + timedelta(seconds=320)) == grown_dicts(newer)


def grown_dicts(listing: list[dict]) -> list[dict]:
    return [
        {"path": f["path"], "size": f["size"], "mtime": datetime.fromtimestamp(f["mtime"], UTC).isoformat()}
        for f in listing
    ]


def test_in_progress_files_and_missing_done_markers_are_not_ready():
    ready = ReadyFiles(rules(min_age_seconds=0, done_marker=".done"))
    listing = [entry("/drop/a.csv.part", 1, T0), entry("/drop/b.csv", 1, T0)]
    for _ in range(3):
        assert ready.look(listing, now=T0) == []
    with_marker = listing + [entry("/drop/b.csv.done", 0, T0)]
    assert [f["path"] for f in ready.look(with_marker, now=T0)] == ["/drop/b.csv"]


def profile(name: str, **over) -> Profile:
    base = {
        "name": name,
        "agency": "metro-county",
        "source": {"connection": "sftp_demo", "directory": "/drop", "keywords": [name]},
        "template": "metro_hearings",
    }
    return Profile(**{**base, **over})


def test_pickup_defaults_to_watch_and_is_validated():
    assert profile("a").pickup == "watch"
    assert profile("a", pickup="schedule").pickup == "schedule"
    with pytest.raises(ValidationError, match="pickup"):
        profile("a", pickup="hourly")


def test_profiles_on_one_folder_of_one_server_share_one_listing_loop():
    def key(p: Profile):
        return landing_asset(p).watchers[0].trigger.shared_stream_key()

    hearings, payments = profile("hearings"), profile("payments")
    assert key(hearings) == key(payments)
    elsewhere = profile("jury", source={"connection": "sftp_demo", "directory": "/other"})
    other_server = profile("x", source={"connection": "sftp_other", "directory": "/drop"})
    assert len({key(hearings), key(elsewhere), key(other_server)}) == 3


def test_trigger_round_trips_through_serialize():
    trigger = landing_asset(profile("hearings")).watchers[0].trigger
    path, kwargs = trigger.serialize()
    assert path == "courtfeed.dagfactory.watcher.FolderWatchTrigger"
    again = FolderWatchTrigger(**kwargs)
    assert again.serialize() == trigger.serialize()
    assert again.shared_stream_key() == trigger.shared_stream_key()


@pytest.mark.integration
def test_three_profiles_share_one_sftp_login_and_each_gets_its_own_file(sshd, monkeypatch):
    """Through Airflow's own SharedStreamManager, against the real sshd."""
    from airflow.triggers.shared_stream import SharedStreamManager

    from tests.services.sshd import PASSWORD_USER

    monkeypatch.setenv("AIRFLOW_CONN_SFTP_DEMO", sshd.airflow_connection_json(PASSWORD_USER))
    drop = sshd.drop_dir(PASSWORD_USER) / "watch"
    names = ["hearings", "payments", "jury"]
    triggers = []
    for name in names:
        p = profile(
            name,
            asset_events_name_files=True,  # the events name the files, so the test can tell them apart
            source={
                "connection": "sftp_demo",
                "directory": str(drop),
                "keywords": [name],
                "min_age_seconds": 0,
                "watch_interval_seconds": 1,
            },
        )
        triggers.append(landing_asset(p).watchers[0].trigger)
    for name in names:
        sshd.put_file(PASSWORD_USER, f"watch/{name}_20261130.txt", b"DEF_ID\n1\n")
    logins_before = sshd.log_path.read_text(errors="replace").count("Accepted password for")

    async def watch() -> dict[str, list[str]]:
        manager = SharedStreamManager()
        got: dict[str, list[str]] = {}

        async def one(i: int, trigger) -> None:
            stream = manager.subscribe(trigger_id=i, trigger=trigger, key=trigger.shared_stream_key())
            async for event in trigger.filter_shared_stream(stream):
                got[event.payload["profile"]] = [f["path"] for f in event.payload["files"]]
                return

        try:
            await asyncio.wait_for(asyncio.gather(*(one(i, t) for i, t in enumerate(triggers))), 30)
            await asyncio.sleep(3)  # a few more intervals on the same loop
        finally:
            await manager.stop_all()
        return got

    started = time.monotonic()
    got = asyncio.run(watch())
    assert time.monotonic() - started < 30
    assert got == {name: [str(drop / f"{name}_20261130.txt")] for name in names}
    logins = sshd.log_path.read_text(errors="replace").count("Accepted password for") - logins_before
    assert logins == 1  # three profiles, several listings, one connection


def test_what_was_reported_survives_a_triggerer_restart():
    """The trigger keeps its reported files in the landing asset's state store (a dict here)."""

    class Store:
        def __init__(self):
            self.data: dict = {}

        async def aget(self, key, default=None):
            return self.data.get(key, default)

        async def aset(self, key, value):
            self.data[key] = value

        async def adelete(self, key):
            self.data.pop(key, None)

    listing = [entry("/drop/hearings_1.txt", 10, T0)]
    store = Store()

    async def listings():
        for _ in range(3):
            yield listing

    async def events() -> list:
        trigger = (
            landing_asset(
                profile("hearings", source={"connection": "c", "directory": "/drop", "min_age_seconds": 0})
            )
            .watchers[0]
            .trigger
        )
        trigger.asset_state_store = store
        return [e async for e in trigger.filter_shared_stream(listings())]

    first = asyncio.run(events())
    digest = RemoteFile("/drop/hearings_1.txt", 10, T0).digest()
    assert [d for e in first for d in e.payload["ready"]] == [digest]
    assert store.data["reported"] == [digest]
    assert asyncio.run(events()) == []  # restarted: the same file is not reported again


@pytest.mark.integration
def test_s3_prefix_is_watched_through_the_async_client(seaweedfs, monkeypatch):
    """The S3 lister (the Amazon provider's aiobotocore client) against SeaweedFS."""
    import uuid

    client = seaweedfs.client()
    bucket = seaweedfs.create_bucket(f"cf-watch-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("AIRFLOW_CONN_S3_WATCH", seaweedfs.airflow_connection_json())
    try:
        client.put_object(Bucket=bucket, Key="in/hearings_1.txt", Body=b"DEF_ID\n1\n")
        client.put_object(Bucket=bucket, Key="in/later/hearings_2.txt", Body=b"DEF_ID\n1\n")  # not recursive
        client.put_object(Bucket=bucket, Key="in/payments_1.txt", Body=b"x\n")
        p = profile(
            "hearings",
            asset_events_name_files=True,
            source={
                "connection": "s3_watch",
                "bucket": bucket,
                "prefix": "in/",
                "keywords": ["hearings"],
                "min_age_seconds": 0,
                "watch_interval_seconds": 1,
            },
        )
        trigger = landing_asset(p).watchers[0].trigger

        async def first_event():
            async for event in trigger.run():
                return event.payload

        payload = asyncio.run(asyncio.wait_for(first_event(), 60))
        assert [f["path"] for f in payload["files"]] == ["in/hearings_1.txt"]
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)


def test_a_watched_profile_dag_is_scheduled_on_its_watched_landing_asset():
    from courtfeed.dagfactory.factory import build_dag

    dag = build_dag(
        profile("hearings", source={"connection": "c", "directory": "/drop", "poke_interval_seconds": 60})
    )
    assert type(dag.timetable).__name__ == "AssetTriggeredTimetable"
    [asset] = dag.timetable.asset_condition.objects
    assert asset.uri.rstrip("/") == "courtfeed-landing://hearings"
    [watcher] = asset.watchers
    assert watcher.trigger.serialize()[0] == "courtfeed.dagfactory.watcher.FolderWatchTrigger"
    # a run that finds nothing new ends soon instead of holding the profile's one run slot
    assert dag.task_dict["list_new_files"].timeout == 120
    scheduled = build_dag(profile("hearings", pickup="schedule", schedule="@daily"))
    assert type(scheduled.timetable).__name__ == "CronDataIntervalTimetable"
    assert scheduled.task_dict["list_new_files"].timeout == 3000


def test_the_landing_asset_hashes_once_and_as_an_equal_plain_asset(monkeypatch):
    from airflow.sdk import Asset

    landing = landing_asset(profile("hearings"))
    plain = Asset(name=landing.name, uri=landing.uri, group=landing.group, watchers=landing.watchers)
    calls = []
    original = Asset.__hash__
    monkeypatch.setattr(Asset, "__hash__", lambda self: calls.append(1) or original(self))

    # Airflow hashes a DAG, and so its schedule, each time a task dependency is set
    assert {hash(landing) for _ in range(50)} == {hash(plain)}
    assert landing == plain and isinstance(landing, Asset)
    assert len(calls) == 2  # once for the landing asset, however often it is hashed; once for plain
