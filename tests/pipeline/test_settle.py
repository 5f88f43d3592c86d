"""The file group's teardown settles what a killed task could not (pipeline/settle.py): a fetch
killed on every attempt leaves no ledger row, a task killed on its last attempt leaves one that
says "retried". Both end parked, so the file is neither fetched and killed every cycle nor
parked without anyone knowing. Files whose tasks did settle them are left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from courtfeed.config.profile import Profile
from courtfeed.pipeline.fetch import new_work
from courtfeed.pipeline.load import record_ended
from courtfeed.pipeline.settle import park_unsettled
from courtfeed.sources.base import RemoteFile
from courtfeed.target import ledger

MTIME = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
PROFILE = Profile.model_validate(
    {
        "name": "nightly",
        "agency": "metro-county",
        "source": {"connection": "sftp_metro", "directory": "/in"},
        "template": "metro_hearings",
    }
)


def listed(run_id: str = "run_1"):
    remote = RemoteFile(path="/in/metro_hearings_a.txt", size=1234, mtime=MTIME)
    return new_work(remote, PROFILE, Path("/nonexistent"), forced=False, run_id=run_id)


def rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("select id, status, attempts, message, run_id from uploads order by id")
            )
        ]


def offered_again(engine) -> bool:
    with engine.connect() as conn:
        identity = ("/in/metro_hearings_a.txt", 1234, MTIME)
        return not ledger.processed_identities(conn, "nightly", [identity])


def an_attempt_that_failed(
    engine, attempts: int | None, status: str = "failed", run_id: str = "run_1"
) -> str:
    work = listed(run_id)
    work.end(status, "read failed: RuntimeError; attempt 1 of 4; retried")
    record_ended(engine, work, attempts=attempts)
    return work.upload_id


def test_a_fetch_killed_on_every_attempt_is_parked_with_a_row_of_its_own(engine):
    assert offered_again(engine)

    parked = park_unsettled(engine, listed(), attempts=4)

    ((upload_id, status, attempts, message, run_id),) = rows(engine)
    assert (upload_id, status, attempts, run_id) == (parked, "failed", 4, "run_1")
    assert message.startswith("parked after 4 attempt(s): a task of this file was stopped")
    assert not offered_again(engine)  # the next cycle does not fetch it and die again


def test_a_row_that_still_says_retried_is_parked(engine):
    upload_id = an_attempt_that_failed(engine, attempts=3)

    assert park_unsettled(engine, listed(), attempts=4) == upload_id

    ((_, status, attempts, message, _),) = rows(engine)
    assert (status, attempts) == ("failed", 4)
    assert "parked after 4 attempt(s)" in message and "retried" not in message


@pytest.mark.parametrize(
    ("status", "attempts"),
    [("loaded", None), ("rejected", None), ("duplicate", None), ("failed", 4), ("failed", None)],
)
def test_a_file_its_tasks_settled_is_left_alone(engine, status, attempts):
    upload_id = an_attempt_that_failed(engine, attempts=attempts, status=status)
    before = rows(engine)

    assert park_unsettled(engine, listed(), attempts=4) is None

    assert rows(engine) == before and before[0][0] == upload_id


def test_rows_of_another_run_do_not_count(engine):
    an_attempt_that_failed(engine, attempts=None, status="loaded", run_id="run_0")  # an earlier load

    parked = park_unsettled(engine, listed("run_1"), attempts=2)  # a forced re-run, killed

    assert parked is not None
    assert sorted((r[1], r[4]) for r in rows(engine)) == [("failed", "run_1"), ("loaded", "run_0")]
