"""The file payload that travels between tasks (XCom) keeps working across upgrades.

A run in flight when courtfeed is upgraded retries its next task with the payload the old
version wrote: keys the new version dropped must be ignored, fields it added must take their
defaults, and the status must come back as a Status.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from courtfeed.pipeline.work import FileWork
from courtfeed.status import ENDED, Status

CAPTURED = Path(__file__).parent / "data" / "filework_after_map_fd94eae.json"


def captured() -> dict:
    """A map task's return value as the courtfeed of commit fd94eae wrote it."""
    return json.loads(CAPTURED.read_text())


def test_a_payload_written_by_an_earlier_version_deserialises():
    work = FileWork.from_dict(captured())
    assert work.name == "metro_hearings_20261128.txt"
    assert work.rows_mapped == 220 and work.counts["contact"] == {"records": 440}
    assert work.status is None and not work.ended


def test_a_key_this_version_does_not_know_is_ignored():
    payload = {**captured(), "added_by_a_later_version": {"anything": 1}}
    assert FileWork.from_dict(payload).to_dict() == FileWork.from_dict(captured()).to_dict()


def test_a_field_the_payload_lacks_takes_its_default():
    payload = captured()
    for key in ("delivery_dir", "ack_path", "counts", "columns", "rows_mapped", "status"):
        del payload[key]
    work = FileWork.from_dict(payload)
    assert (work.delivery_dir, work.ack_path, work.counts, work.columns) == (None, None, {}, [])
    assert work.rows_mapped == 0 and work.status is None


def test_a_payload_without_the_files_identity_is_refused_by_name():
    payload = captured()
    del payload["upload_id"], payload["workdir"]
    with pytest.raises(ValueError, match="lacks upload_id, workdir"):
        FileWork.from_dict(payload)


@pytest.mark.parametrize("status", list(Status))
def test_the_status_travels_as_its_word_and_comes_back_a_status(status):
    work = FileWork.from_dict({**captured(), "status": status.value})
    assert work.status is status
    payload = work.to_dict()
    assert type(payload["status"]) is str and payload["status"] == status.value
    assert json.loads(json.dumps(payload))["status"] == status.value
    assert work.ended == (status in ENDED)


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="'parked'"):
        FileWork.from_dict({**captured(), "status": "parked"})
