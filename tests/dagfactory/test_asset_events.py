"""Asset events name no files (Airflow shows them to whoever may read assets, not only to who may
read the profile's DAG): the load's per-entity extras carry upload ids, statuses and counts, the
folder watch's landing events digests and a count, unless the profile opts in to names. The run a
watch event starts still skips its second look for the files the watch saw stable, by digest."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from courtfeed.config.profile import Profile
from courtfeed.dagfactory.asset_events import asset_event_extras
from courtfeed.dagfactory.watcher import event_payload, landing_asset, seen_stable
from courtfeed.sources.base import RemoteFile

REPO = Path(__file__).resolve().parents[2]
PATH = "/exports/metro/metro_hearings_20261128.txt"
RESULTS = [
    {
        "upload_id": "5b0c3f9e-0d7e-5a4e-9b55-1f1d2f0c8e11",
        "path": PATH,
        "status": "loaded",
        "counts": {"event": {"created": 3, "updated": 1}, "client": {"created": 2}},
    },
    {
        "upload_id": "7d1e2a40-1c4b-5d3a-8e2f-0a9b8c7d6e5f",
        "path": PATH,
        "status": "partial",
        "counts": {"event": {"created": 2, "unchanged": 4}},
    },
]


def test_load_events_carry_upload_ids_and_counts_but_no_file_name():
    extras = asset_event_extras(RESULTS, ["event", "client", "case"])
    assert extras["event"] == {
        "status": "loaded,partial",
        "uploads": [r["upload_id"] for r in RESULTS],
        "created": 5,
        "updated": 1,
        "unchanged": 4,
        "deleted": 0,
    }
    assert extras["client"]["uploads"] == [RESULTS[0]["upload_id"]] and extras["client"]["created"] == 2
    assert "metro_hearings" not in json.dumps(extras) and "/exports" not in json.dumps(extras)
    assert "case" not in extras  # nothing written: no event


def test_a_profile_may_opt_in_to_the_file_name_in_load_events():
    named = asset_event_extras(RESULTS, ["event", "client"], name_files=True)
    assert {e["file"] for e in named.values()} == {"metro_hearings_20261128.txt"}
    assert "/exports" not in json.dumps(named)  # the name, never the folder


def upload(upload_id: str, status: str, **counts: dict) -> dict:
    return {"upload_id": upload_id, "status": status, "path": "/drop/hearings.zip", "counts": counts}


def test_an_entity_without_an_asset_gets_no_event():
    results = [upload("u1", "loaded", event={"created": 1}, payment={"created": 1})]
    assert set(asset_event_extras(results, ["event"])) == {"event"}


def test_a_delivery_that_wrote_nothing_emits_nothing():
    assert asset_event_extras([upload("u1", "rejected")], ["event"]) == {}
    assert asset_event_extras([], ["event"]) == {}


def files(*entries: tuple[str, int]) -> list[dict]:
    return [
        RemoteFile.from_dict({"path": p, "size": s, "mtime": "2026-11-28T06:00:00+00:00"}).to_dict()
        for p, s in entries
    ]


def test_watch_events_carry_digests_and_a_count_but_no_path_or_size():
    ready = files((PATH, 1234), ("/exports/metro/metro_hearings_20261129.txt", 99))
    payload = event_payload("metro_hearings", ready, name_files=False)
    assert payload["count"] == 2 and payload["profile"] == "metro_hearings"
    assert payload["ready"] == [RemoteFile.from_dict(f).digest() for f in ready]
    assert "files" not in payload and "hearings_2026" not in json.dumps(payload)
    assert "1234" not in json.dumps(payload)
    named = event_payload("metro_hearings", ready, name_files=True)
    assert named["files"] == ready and named["ready"] == payload["ready"]


def test_a_digest_changes_with_the_path_the_size_or_the_modification_time():
    base = RemoteFile.from_dict(files((PATH, 10))[0])
    others = {
        RemoteFile(PATH + "x", 10, base.mtime),
        RemoteFile(PATH, 11, base.mtime),
        RemoteFile(PATH, 10, base.mtime.replace(second=1)),
    }
    assert base.digest() == RemoteFile(PATH, 10, base.mtime).digest()
    assert base.digest() not in {f.digest() for f in others} and len({f.digest() for f in others}) == 3


class Event:
    def __init__(self, payload: dict):
        self.extra = {"from_trigger": True, "payload": payload}


def test_seen_stable_reads_digests_and_understands_events_that_named_files():
    ready = files((PATH, 5))
    digest = RemoteFile.from_dict(ready[0]).digest()
    fresh = Event(event_payload("p", ready, name_files=False))
    older = Event({"profile": "p", "files": ready, "count": 1})  # from before digests
    assert seen_stable({"landing": [fresh]}) == {digest}
    assert seen_stable({"landing": [older]}) == {digest}
    assert seen_stable(None) == set() and seen_stable({"landing": [Event({})]}) == set()


def test_the_watch_remembers_digests_not_paths_across_a_restart():
    from courtfeed.dagfactory.watcher import ReadyFiles

    rules = {
        "connection": "c",
        "directory": "/exports/metro",
        "min_age_seconds": 0,
        "wait_for_stable_size": False,
    }
    listing = [{"path": PATH, "size": 5, "mtime": 1764309600}]
    first = ReadyFiles(rules)
    assert [f["path"] for f in first.look(listing)] == [PATH]
    saved = first.dump()
    assert saved and "metro_hearings" not in json.dumps(saved)
    again = ReadyFiles(rules)
    again.load(saved)
    assert again.look(listing) == []  # already reported before the restart
    legacy = ReadyFiles(rules)
    legacy.load([[PATH, 5, 1764309600]])  # a state saved before digests
    assert legacy.look(listing) == []


# -- the run a watch event starts: its first look takes what the watch saw stable --------------


@pytest.fixture
def watched_feed(tmp_path: Path, sshd, pg_url: str, monkeypatch):
    from tests.e2e.feeds import target_connection_json
    from tests.services import PASSWORD_USER

    folder = sshd.drop_dir(PASSWORD_USER) / f"events-{uuid.uuid4().hex[:8]}"
    sshd.put_file(PASSWORD_USER, f"{folder.name}/hearings_1.txt", b"DEF_ID\n1\n", mtime=1764309600)
    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    (include / "templates" / "metro_hearings.yaml").write_text(
        (REPO / "include" / "templates" / "metro_hearings.yaml").read_text()
    )
    profile = {
        "name": "events_feed",
        "agency": "metro-county",
        "template": "metro_hearings",
        "source": {
            "connection": "sftp_events",
            "directory": str(folder),
            "min_age_seconds": 0,
            "watch_interval_seconds": 1,
        },
    }
    (include / "profiles" / "events_feed.yaml").write_text(yaml.safe_dump(profile))
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_EVENTS", sshd.airflow_connection_json(PASSWORD_USER))
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_TARGET", target_connection_json(pg_url))
    yield Profile(**profile), folder
    subprocess.run(["rm", "-rf", str(folder)], check=True)


def watch_once(profile: Profile) -> dict:
    trigger = landing_asset(profile).watchers[0].trigger

    async def first():
        events = trigger.run()
        try:
            async for event in events:
                return event.payload
        finally:
            await events.aclose()

    return asyncio.run(asyncio.wait_for(first(), 30))


@pytest.mark.integration
def test_the_run_a_watch_event_starts_takes_the_files_the_watch_saw_stable(watched_feed, sshd):
    from courtfeed.dagfactory.tasks import poke_for_files

    profile, folder = watched_feed
    payload = watch_once(profile)  # the real trigger against sshd: two looks, then the event
    assert payload["count"] == 1 and "files" not in payload
    taken = poke_for_files("events_feed", {}, None, seen_stable=seen_stable({"landing": [Event(payload)]}))
    assert [f["path"] for f in taken] == [str(folder / "hearings_1.txt")]


@pytest.mark.integration
def test_a_file_changed_since_the_watch_saw_it_waits_for_a_second_look(watched_feed, sshd):
    from courtfeed.dagfactory.tasks import poke_for_files

    profile, folder = watched_feed
    payload = watch_once(profile)
    sshd.put_file("cfpass", f"{folder.name}/hearings_1.txt", b"DEF_ID\n1\n2\n", mtime=1764309600)
    assert (
        poke_for_files("events_feed", {}, None, seen_stable=seen_stable({"landing": [Event(payload)]})) == []
    )


@pytest.mark.integration
def test_without_the_watch_event_a_first_look_waits_for_a_second(watched_feed):
    from courtfeed.dagfactory.tasks import poke_for_files

    assert poke_for_files("events_feed", {}, None) == []
