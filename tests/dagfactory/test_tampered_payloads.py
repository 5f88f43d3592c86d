"""The task bodies refuse a payload edited in XCom, before they touch anything.

A user who may edit a DAG's XComs and clear its tasks controls what the next task is handed.
Here the profile feed_a reads folder a/ on a real SFTP server (replace_all template, files
archived after the load) beside folder b/ of another feed, whose records of agency-b are in the
target. Each test runs feed_a's tasks up to a stage, edits the payload as such a user would, and
runs the next task: it fails, and nothing outside feed_a's folder, agency and staging changes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import yaml

from courtfeed.dagfactory import tasks
from courtfeed.pipeline.trust import PayloadRefused

REPO = Path(__file__).resolve().parents[2]
HEARINGS = (
    (REPO / "include" / "demo" / "metro_hearings_20261128.txt").read_text(encoding="utf-8").splitlines()
)

pytestmark = [pytest.mark.integration]


def part(first: int, last: int) -> str:
    return "\n".join([HEARINGS[0], *HEARINGS[first:last]]) + "\n"


@pytest.fixture
def feed(tmp_path: Path, sshd, monkeypatch):
    from courtfeed.config.template import Template
    from courtfeed.pipeline.run import ingest

    user = next(u for u, acc in sshd.users.items() if acc.password)
    base = sshd.drop_dir(user) / f"tamper_{tmp_path.name}"
    old = time.time() - 3600
    sshd.put_file(user, f"{base.name}/a/metro_hearings_a.txt", part(1, 21), mtime=old)
    b_file = sshd.put_file(user, f"{base.name}/b/metro_hearings_b.txt", part(101, 121), mtime=old)
    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    template = yaml.safe_load((REPO / "include" / "templates" / "metro_hearings.yaml").read_text())
    template.update(name="hearings_all", method="replace_all")
    (include / "templates" / "hearings_all.yaml").write_text(yaml.safe_dump(template))
    profile = {
        "name": "feed_a",
        "agency": "agency-a",
        "source": {"connection": "sftp_tamper", "directory": str(base / "a"), "min_age_seconds": 0},
        "template": "hearings_all",
        "timezone": "America/Chicago",
        "after_load": "archive",
        "archive_directory": str(base / "a" / "archive"),
    }
    (include / "profiles" / "feed_a.yaml").write_text(yaml.safe_dump(profile))
    target = tmp_path / "target.db"
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    monkeypatch.setenv("COURTFEED_STAGING", str(tmp_path / "staging"))
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_TAMPER", sshd.airflow_connection_json(user))
    monkeypatch.setenv(
        "AIRFLOW_CONN_COURTFEED_TARGET", json.dumps({"conn_type": "sqlite", "host": str(target)})
    )
    # agency-b's records, loaded by its own feed
    b_local = tmp_path / "metro_hearings_b.txt"
    b_local.write_text(b_file.read_text())
    ingest(
        b_local, Template.model_validate(template), f"sqlite:///{target}", agency="agency-b", profile="feed_b"
    )
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text(part(201, 211))  # a worker's file, readable as an export
    a_file = base / "a" / "metro_hearings_a.txt"
    remote = {"path": str(a_file), "size": a_file.stat().st_size, "mtime": _mtime(a_file)}
    yield SimpleNamespace(
        base=base, b_file=b_file, remote=remote, target=target, precious=precious, tmp=tmp_path
    )


def _mtime(path: Path) -> str:
    from courtfeed.sources.base import utc_from_timestamp

    return utc_from_timestamp(path.stat().st_mtime).isoformat()


def through(feed, last: str) -> list[dict]:
    """feed_a's tasks from fetch up to and including ``last``; the payload they hand on."""
    works = tasks.fetch("feed_a", feed.remote, "manual__tamper")
    for name, body in (("read", tasks.read), ("validate", tasks.validate), ("map", tasks.map_rows)):
        works = body("feed_a", works)
        if name == last:
            return works
    return tasks.load("feed_a", works)


def counts(feed) -> dict:
    engine = sa.create_engine(f"sqlite:///{feed.target}")
    with engine.connect() as conn:
        out = {
            "b_events": conn.execute(
                sa.text("select count(*) from event where agency = 'agency-b'")
            ).scalar(),
            "uploads": conn.execute(sa.text("select count(*) from uploads")).scalar(),
            "b_uploads": conn.execute(
                sa.text("select count(*) from uploads where agency = 'agency-b'")
            ).scalar(),
        }
    engine.dispose()
    return out


def refused(call) -> PayloadRefused | None:
    try:
        call()
    except PayloadRefused as exc:
        return exc
    return None


def test_the_untampered_chain_loads_and_archives(feed):
    before = counts(feed)
    summary = tasks.finalize("feed_a", through(feed, "load"))
    assert summary["status"] == "loaded"
    assert not (feed.base / "a" / "metro_hearings_a.txt").exists()
    assert [p.name for p in (feed.base / "a" / "archive").iterdir()] == ["metro_hearings_a.txt"]
    assert counts(feed)["b_events"] == before["b_events"] > 0  # replace_all is scoped to agency-a


def test_a_load_under_another_agency_is_refused_and_deletes_nothing(feed):
    works = through(feed, "map")
    before = counts(feed)
    # agency-b's, forced past the duplicate check under a fresh id: replace_all would delete
    # every agency-b record this file does not hold
    tampered = [
        {**w, "agency": "agency-b", "forced": True, "upload_id": "0" * 8 + w["upload_id"][8:]} for w in works
    ]
    error = refused(lambda: tasks.load("feed_a", tampered))
    assert counts(feed) == before  # no agency-b record deleted, no ledger row written
    assert error is not None and "its agency is not the profile's" in str(error)


def test_a_finalize_moves_no_file_outside_the_profiles_folder(feed):
    works = through(feed, "load")
    tampered = [{**w, "path": str(feed.b_file)} for w in works]
    error = refused(lambda: tasks.finalize("feed_a", tampered))
    assert feed.b_file.exists() and not (feed.base / "a" / "archive").exists()
    assert error is not None and "is not in the profile's source folder" in str(error)
    escaping = [{**w, "path": str(feed.base / "a" / ".." / "b" / feed.b_file.name)} for w in works]
    assert refused(lambda: tasks.finalize("feed_a", escaping)) is not None
    assert feed.b_file.exists()


def test_a_finalize_removes_no_folder_outside_the_staging_root(feed):
    works = through(feed, "load")
    tampered = [{**w, "delivery_dir": str(feed.precious), "workdir": str(feed.precious)} for w in works]
    error = refused(lambda: tasks.finalize("feed_a", tampered))
    assert (feed.precious / "keep.txt").exists()
    assert (feed.base / "a" / "metro_hearings_a.txt").exists()  # nor was the file archived
    assert error is not None and "its staging folder" in str(error)


def test_a_read_opens_no_file_outside_the_delivery_folder(feed):
    works = tasks.fetch("feed_a", feed.remote, "manual__tamper")
    tampered = [{**w, "local_path": str(feed.precious / "keep.txt")} for w in works]
    error = refused(lambda: tasks.read("feed_a", tampered))
    assert not list((feed.tmp / "staging").rglob("rows.parquet"))
    assert error is not None and "its downloaded file" in str(error)


def test_fetch_and_teardown_take_no_file_outside_the_profiles_folder(feed):
    remote = {**feed.remote, "path": str(feed.b_file)}
    error = refused(lambda: tasks.fetch("feed_a", remote, "manual__tamper"))
    assert not (feed.tmp / "staging").exists()  # nothing was downloaded
    assert error is not None and "is not in the profile's source folder" in str(error)
    assert refused(lambda: tasks.clean_staging("feed_a", remote, "manual__tamper")) is not None
    assert counts(feed)["uploads"] == 1  # feed_b's: the teardown parked nothing
