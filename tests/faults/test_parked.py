"""A file whose stage keeps failing is retried, then parked as `failed` with the attempts made:
the sensor does not offer it again until someone reprocesses it; `courtfeed status` shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from courtfeed.dagfactory import runtime, tasks
from courtfeed.pipeline.work import FileWork
from courtfeed.privacy import ValueFreeError
from courtfeed.target import ledger
from courtfeed.target.db import engine_for, migrate
from tests.cli import run_cli

MTIME = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
def target(tmp_path: Path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'target.db'}"
    engine = engine_for(url)
    migrate(engine)
    monkeypatch.setattr(runtime, "target_engine", lambda: engine)
    yield url, engine
    engine.dispose()


def work(tmp_path: Path) -> dict:
    return FileWork(
        upload_id="u-1",
        name="hearings.txt",
        path="/drop/hearings.txt",
        local_path=str(tmp_path / "hearings.txt"),
        workdir=str(tmp_path / "w"),
        template="metro_hearings",
        agency="metro",
        profile="metro_hearings",
        size=10,
        mtime=MTIME.isoformat(),
        sha256="abc",
    ).to_dict()


def boom(_work):
    raise ValueError("something unexpected")


def test_failed_attempts_are_retried_then_parked(tmp_path: Path, target, monkeypatch):
    url, engine = target
    identity = ("/drop/hearings.txt", 10, MTIME)

    monkeypatch.setattr(runtime, "attempt", lambda: (1, 3))
    # the task fails with courtfeed's words for the error, never the error's own text
    with pytest.raises(
        ValueFreeError, match=r"^read failed for hearings.txt \(upload u-1\): ValueError"
    ) as failed:
        tasks._guarded("read", [work(tmp_path)], boom)
    assert "something unexpected" not in str(failed.value) and failed.value.__cause__ is None
    with engine.connect() as conn:
        (row,) = ledger.recent_uploads(conn)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "attempt 1 of 3; retried" in row["message"]

    monkeypatch.setattr(runtime, "attempt", lambda: (3, 3))
    with pytest.raises(ValueFreeError):
        tasks._guarded("read", [work(tmp_path)], boom)
    with engine.connect() as conn:
        rows = ledger.recent_uploads(conn)
        processed = ledger.processed_identities(conn, "metro_hearings", [identity])
    assert [(r["status"], r["attempts"]) for r in rows] == [("failed", 3)]  # one row per upload
    assert rows[0]["message"] == (
        "read failed: ValueError; parked after 3 attempt(s): not fetched again until reprocessed"
    )
    assert processed == {identity}  # settled: the sensor leaves it alone

    proc = run_cli("status", "--target", url)
    assert proc.returncode == 0 and "failed×3" in proc.stdout


def test_a_timeout_is_recorded_like_any_failure(tmp_path: Path, target, monkeypatch):
    from airflow.sdk.exceptions import AirflowTaskTimeout

    _url, engine = target
    monkeypatch.setattr(runtime, "attempt", lambda: (2, 2))

    def hang(_work):
        raise AirflowTaskTimeout("Timeout, PID: 1")

    with pytest.raises(AirflowTaskTimeout):
        tasks._guarded("map", [work(tmp_path)], hang)
    with engine.connect() as conn:
        status = conn.execute(sa.text("select status, attempts, message from uploads")).one()
    assert status[:2] == ("failed", 2) and status[2].startswith("map failed: AirflowTaskTimeout")


class FlakySource:
    """A source whose download fails until told otherwise (a dropped connection, a locked file)."""

    kind = "sftp"
    working = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def download(self, path, local, expected=None):
        from courtfeed.sources.base import SourceError

        if not FlakySource.working:
            raise SourceError("download refused")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(b"DEF_ID|DEF_LNAME\nD1|Smith\n")


def test_a_failing_fetch_keeps_one_row_per_file_and_a_good_retry_removes_it(
    tmp_path: Path, target, monkeypatch
):
    from courtfeed.config.profile import Profile

    _url, engine = target
    profile = Profile.model_validate(
        {
            "name": "metro_hearings",
            "agency": "metro",
            "source": {"connection": "sftp_metro", "directory": "/drop"},
            "template": "metro_hearings",
        }
    )
    monkeypatch.setenv("COURTFEED_STAGING", str(tmp_path / "staging"))
    monkeypatch.setattr(runtime, "load_profile", lambda _name: profile)
    monkeypatch.setattr(runtime, "open_source", lambda _profile: FlakySource())
    remote = {"path": "/drop/hearings.txt", "size": 26, "mtime": MTIME.isoformat()}

    def rows():
        with engine.connect() as conn:
            return [(r["status"], r["attempts"], r["message"]) for r in ledger.recent_uploads(conn)]

    FlakySource.working = False
    for current in (1, 2):
        monkeypatch.setattr(runtime, "attempt", lambda current=current: (current, 3))
        # courtfeed's own errors keep their words
        with pytest.raises(
            ValueFreeError, match="fetch failed for hearings.txt .*: SourceError: download refused"
        ):
            tasks.fetch("metro_hearings", remote, "manual__1")
        # one row for the file, whatever the attempt: the same upload id every time
        assert rows() == [("failed", current, f"fetch failed: SourceError; attempt {current} of 3; retried")]

    FlakySource.working = True
    monkeypatch.setattr(runtime, "attempt", lambda: (3, 3))
    (fetched,) = tasks.fetch("metro_hearings", remote, "manual__1")
    assert rows() == []  # the later stages write the file's row
    assert fetched["upload_id"] == tasks.listed_work(profile, remote, "manual__1", tmp_path).upload_id
