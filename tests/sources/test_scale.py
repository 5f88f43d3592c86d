"""Scale: 50,000 files in one SFTP folder are listed, checked against the ledger and handed out
in capped cycles, in bounded time and memory. The figures are printed for the record."""

from __future__ import annotations

import os
import pwd
import subprocess
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from courtfeed.sources.sftp import SftpSource
from tests.e2e.feeds import target_connection_json
from tests.services import PASSWORD_USER

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FILES = 50_000
BASE_MTIME = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def many_files(sshd) -> Path:
    """50,000 small files written straight to disk (far faster than over SFTP), owned by the user.

    Each file's mtime is one second after the previous one, so ascending order is by index.
    Made once for this module: the tests only read the folder.
    """
    folder = sshd.drop_dir(PASSWORD_USER) / f"scale_{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    account = pwd.getpwnam(PASSWORD_USER)
    base = BASE_MTIME.timestamp()
    for i in range(FILES):
        path = folder / f"hearings_{i:05d}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"x" * (i % 7 + 1))
        os.close(fd)
        os.utime(path, (base + i, base + i))
        os.chown(path, account.pw_uid, account.pw_gid)
    os.chown(folder, account.pw_uid, account.pw_gid)
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=True)


def test_listing_50k_files_is_bounded(many_files: Path, sftp_conn):
    started = time.monotonic()
    with SftpSource(sftp_conn) as source:
        listed = source.list_files(str(many_files))
    seconds = time.monotonic() - started
    assert len(listed) == FILES
    by_name = {f.name: f for f in listed}
    assert by_name["hearings_12345.txt"].size == 12345 % 7 + 1
    assert by_name["hearings_12345.txt"].mtime == BASE_MTIME + timedelta(seconds=12345)
    del listed, by_name

    # Memory on a second listing: tracing every allocation slows it several times over.
    tracemalloc.start()
    try:
        with SftpSource(sftp_conn) as source:
            count = len(source.list_files(str(many_files)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"\nSftpSource.list_files: {count} files in {seconds:.1f} s, tracemalloc peak {peak / 2**20:.1f} MB"
    )
    assert seconds < 60  # a guard against a hang (about 10x what it takes here), not a speed bar
    assert peak < 200 * 2**20


def test_processed_identities_with_50k_candidates_on_postgres(pg_url: str):
    from courtfeed.target import db, ledger
    from courtfeed.target.schema import uploads

    engine = db.engine_for(pg_url)
    db.migrate(engine)
    candidates = [
        (f"/in/hearings_{i:05d}.txt", i % 7 + 1, BASE_MTIME + timedelta(seconds=i)) for i in range(FILES)
    ]
    loaded = candidates[::5]  # every fifth file is already in the ledger
    changed = candidates[1::5]  # these were loaded before with a different size: not the same file
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "profile": "scale",
            "agency": "a",
            "path": p,
            "size": s + extra,
            "mtime": m,
            "status": "loaded",
            "started_at": now,
            "finished_at": now,
        }
        for group, extra in ((loaded, 0), (changed, 100))
        for p, s, m in group
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(uploads), rows)
    started = time.monotonic()
    with engine.connect() as conn:
        found = ledger.processed_identities(conn, "scale", candidates)
    seconds = time.monotonic() - started
    engine.dispose()
    print(f"\nledger.processed_identities: {FILES} candidates, {len(rows)} ledger rows, {seconds:.2f} s")
    assert found == set(loaded)
    assert seconds < 30  # a guard against a hang (over 10x what it takes here), not a speed bar


def test_a_cycle_is_capped_and_the_rest_wait_for_the_next_run(
    many_files: Path, sshd, pg_url, tmp_path, monkeypatch
):
    from courtfeed.dagfactory.tasks import poke_for_files

    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True)
    (include / "templates").mkdir()
    (include / "templates" / "metro_hearings.yaml").write_text(
        (REPO / "include" / "templates" / "metro_hearings.yaml").read_text()
    )
    cap = 1000
    profile = {
        "name": "scale_feed",
        "agency": "metro-county",
        "source": {
            "connection": "sftp_scale",
            "directory": str(many_files),
            "min_age_seconds": 0,
            "max_files_per_run": cap,
        },
        "template": "metro_hearings",
    }
    (include / "profiles" / "scale_feed.yaml").write_text(yaml.safe_dump(profile))
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_SCALE", sshd.airflow_connection_json(PASSWORD_USER))
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_TARGET", target_connection_json(pg_url))

    timings = []

    def poke() -> list[dict]:
        started = time.monotonic()
        found = poke_for_files("scale_feed", {}, None)
        timings.append(time.monotonic() - started)
        return found

    assert poke() == []  # first look: every file is new, none known to be stable yet
    first = poke()
    assert len(first) == cap < 1024  # under Airflow's [core] max_map_length
    assert [f["path"] for f in first] == [str(many_files / f"hearings_{i:05d}.txt") for i in range(cap)]

    # Once this cycle's files are in the ledger, the next cycle takes the next ones.
    from courtfeed.target import db, ledger

    engine = db.engine_for(pg_url)
    with engine.begin() as conn:
        for f in first:
            upload_id = str(uuid.uuid4())
            ledger.start_upload(
                conn,
                upload_id=upload_id,
                profile="scale_feed",
                agency="metro-county",
                template="metro_hearings",
                source="sftp_scale",
                path=f["path"],
                size=f["size"],
                mtime=datetime.fromisoformat(f["mtime"]),
                sha256="0" * 64,
            )
            ledger.finish_upload(conn, upload_id, status="loaded")
    engine.dispose()
    second = poke()
    assert [f["path"] for f in second] == [
        str(many_files / f"hearings_{i:05d}.txt") for i in range(cap, 2 * cap)
    ]
    print(f"\npoke_for_files over {FILES} files: " + ", ".join(f"{t:.1f} s" for t in timings))
    assert max(timings) < 90
