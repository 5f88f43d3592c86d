"""Safe pickup against a real sshd, through the sensor's own poke (courtfeed.dagfactory.tasks):
a file still being written is never taken, old timestamps do not hide a file, a changed file is
taken again, a done marker is waited for, and a cycle is capped."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.e2e.feeds import target_connection_json
from tests.services import PASSWORD_USER

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def drop(sshd) -> Path:
    """The password user's drop folder, emptied, with an empty in/ folder."""
    folder = sshd.drop_dir(PASSWORD_USER)
    for child in folder.iterdir():
        subprocess.run(["rm", "-rf", str(child)], check=True)
    sshd.put_file(PASSWORD_USER, "in/.keep", b"")
    yield folder / "in"
    for child in folder.iterdir():
        subprocess.run(["rm", "-rf", str(child)], check=True)


@pytest.fixture
def feed(tmp_path: Path, sshd, pg_url: str, drop: Path, monkeypatch):
    """Write a profile (with overrides) and return a poke() that runs one sensor look."""
    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    (include / "templates" / "metro_hearings.yaml").write_text(
        (REPO / "include" / "templates" / "metro_hearings.yaml").read_text()
    )
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_PICKUP", sshd.airflow_connection_json(PASSWORD_USER))
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_TARGET", target_connection_json(pg_url))
    name = f"pickup_{uuid.uuid4().hex[:8]}"

    def configure(**source) -> None:
        profile = {
            "name": name,
            "agency": "metro-county",
            "source": {
                "connection": "sftp_pickup",
                "directory": str(drop),
                "min_age_seconds": 0,
                "wait_for_stable_size": True,
                **source,
            },
            "template": "metro_hearings",
        }
        (include / "profiles" / f"{name}.yaml").write_text(yaml.safe_dump(profile))

    def poke() -> list[dict]:
        from courtfeed.dagfactory.tasks import poke_for_files

        return poke_for_files(name, {}, None)

    configure()
    return {"configure": configure, "poke": poke, "name": name, "pg_url": pg_url}


def _chown(sshd, path: Path) -> None:
    sshd.chown_to(PASSWORD_USER, path)


def test_a_file_written_slowly_is_taken_only_once_complete(feed, drop: Path, sshd):
    target = drop / "hearings_slow.txt"
    target.write_bytes(b"")
    _chown(sshd, target)
    chunk = b"DEF_ID|DEF_LNAME|CASE_NO\n" * 200
    chunks, finished = 15, threading.Event()

    def writer() -> None:
        # 15 chunks, one every 2 s: about 30 s of a file growing on the server.
        for _ in range(chunks):
            time.sleep(2)
            with target.open("ab") as f:
                f.write(chunk)
        finished.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    during: list[list[dict]] = []  # what each look that began while the file grew returned
    try:
        while not finished.is_set():
            during.append(feed["poke"]())
            time.sleep(3)
        after = []
        for _ in range(3):
            after.append(feed["poke"]())
            if after[-1]:
                break
            time.sleep(3)
    finally:
        thread.join(timeout=60)

    assert len(during) >= 6, "the writer should have been watched for its whole 30 s"
    assert all(found == [] for found in during), "a growing file was offered before it was complete"
    assert after[-1], "the complete file was never offered"
    assert len(after) <= 2, "the complete file should be offered on the first or second look after"
    [offered] = after[-1]
    assert offered["path"] == str(target)
    assert offered["size"] == chunks * len(chunk) == target.stat().st_size


def test_a_file_with_an_old_mtime_is_still_found(feed, drop: Path, sshd):
    old = datetime(2019, 6, 1, 8, 0, tzinfo=UTC).timestamp()
    sshd.put_file(PASSWORD_USER, "in/hearings_2019.txt", b"DEF_ID\n1\n", mtime=old)
    assert feed["poke"]() == []  # first look: not yet known to be stable
    [found] = feed["poke"]()
    assert found["path"] == str(drop / "hearings_2019.txt")
    assert datetime.fromisoformat(found["mtime"]).timestamp() == old


def _record_loaded(pg_url: str, profile: str, found: dict) -> None:
    from courtfeed.target import db, ledger

    engine = db.engine_for(pg_url)
    with engine.begin() as conn:
        upload_id = str(uuid.uuid4())
        ledger.start_upload(
            conn,
            upload_id=upload_id,
            profile=profile,
            agency="metro-county",
            template="metro_hearings",
            source="sftp_pickup",
            path=found["path"],
            size=found["size"],
            mtime=datetime.fromisoformat(found["mtime"]),
            sha256="0" * 64,
        )
        ledger.finish_upload(conn, upload_id, status="loaded")
    engine.dispose()


def test_a_changed_file_under_the_same_name_is_taken_again(feed, drop: Path, sshd):
    first_mtime = time.time() - 600
    sshd.put_file(PASSWORD_USER, "in/hearings.txt", b"DEF_ID\n1\n", mtime=first_mtime)
    feed["poke"]()
    [found] = feed["poke"]()
    _record_loaded(feed["pg_url"], feed["name"], found)
    assert feed["poke"]() == [] and feed["poke"]() == []  # loaded: not offered again

    sshd.put_file(PASSWORD_USER, "in/hearings.txt", b"DEF_ID\n1\n2\n", mtime=first_mtime + 300)
    assert feed["poke"]() == []  # changed since the last look: wait for it to settle
    [again] = feed["poke"]()
    assert again["path"] == found["path"] and again["size"] == 11


def test_a_done_marker_profile_waits_for_the_marker(feed, drop: Path, sshd):
    feed["configure"](done_marker=".done")
    sshd.put_file(PASSWORD_USER, "in/hearings_a.txt", b"DEF_ID\n1\n", mtime=time.time() - 600)
    assert feed["poke"]() == [] and feed["poke"]() == []
    sshd.put_file(PASSWORD_USER, "in/hearings_a.txt.done", b"")
    found = feed["poke"]()
    assert [f["path"] for f in found] == [str(drop / "hearings_a.txt")]  # never the marker itself
