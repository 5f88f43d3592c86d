"""Acknowledgements a clerk can open safely (no live formulas), whose names fit any file system,
written before the remote file is archived or deleted."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from courtfeed.config.profile import Profile
from courtfeed.pipeline.acknowledge import spreadsheet_safe, write_acknowledgement
from courtfeed.pipeline.finalize import finalize_stage
from courtfeed.pipeline.reject_log import write_rejects
from courtfeed.pipeline.work import FileWork
from courtfeed.rejects import Reject

NAME_MAX = os.pathconf("/", "PC_NAME_MAX")


def work_for(tmp_path: Path, name: str, rejects: list[Reject]) -> FileWork:
    work = FileWork(
        upload_id="0123456789abcdef",
        name=name,
        path=f"/in/{name}",
        local_path=str(tmp_path / "staging" / "file"),
        workdir=str(tmp_path / "staging"),
        template="t",
        agency="metro",
        profile="metro",
        status="partial",
    )
    write_rejects(work, "map", rejects)
    return work


@pytest.mark.parametrize(
    "cell",
    ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_a_cell_that_starts_a_formula_is_neutralised(cell):
    safe = spreadsheet_safe(cell)
    assert safe == "'" + cell  # OWASP: a leading single quote makes the cell text
    assert spreadsheet_safe("plain text") == "plain text"
    assert spreadsheet_safe(7) == 7


def test_rejects_csv_has_no_formula_cell(tmp_path):
    hostile = '=HYPERLINK("http://evil.example","click")'
    work = work_for(
        tmp_path,
        "hearings.csv",
        [
            Reject(2, hostile, "required", "@value is required"),
            Reject(3, "PHONE", "type:phone", "-not a phone number"),
        ],
    )
    _, csv_path = write_acknowledgement(work, tmp_path / "acks")
    with csv_path.open(newline="", encoding="utf-8") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert f"'{hostile}" in cells  # kept, readable, inert


def test_a_file_name_of_250_bytes_gives_acknowledgement_names_that_fit(tmp_path):
    name = "h" * 246 + ".csv"  # 250 bytes: legal as a file name, too long with a suffix added
    work = work_for(tmp_path, name, [Reject(2, "PHONE", "type:phone", "not a phone number")])
    json_path, csv_path = write_acknowledgement(work, tmp_path / "acks")
    for path in (json_path, csv_path):
        assert path.is_file() and len(path.name.encode()) <= NAME_MAX
    assert json.loads(json_path.read_text())["file"] == name  # the ack itself names the file in full
    assert json_path.name != csv_path.name


def test_a_multibyte_name_is_cut_on_a_character_boundary(tmp_path):
    name = "é" * 140 + ".csv"  # 284 bytes
    work = work_for(tmp_path, name, [])
    json_path, _ = write_acknowledgement(work, tmp_path / "acks")
    assert json_path.name.startswith("é" * 10)
    json_path.name.encode("utf-8")  # a valid string, not half a character


class RecordingSource:
    """A source that records what finalize did, and checks the acknowledgement was written first."""

    kind = "sftp"

    def __init__(self, acks: Path):
        self.acks = acks
        self.calls: list[str] = []

    def exists(self, path):
        return True

    def move(self, path, directory):
        assert list(self.acks.rglob("*.ack.json")), "archived before the acknowledgement was written"
        self.calls.append("move")
        return f"{directory}/{path.rsplit('/', 1)[-1]}"

    def delete(self, path):
        assert list(self.acks.rglob("*.ack.json")), "deleted before the acknowledgement was written"
        self.calls.append("delete")

    def upload(self, local, directory, name):
        self.calls.append(f"upload {name}")
        return f"{directory}/{name}"


@pytest.mark.parametrize("after_load", ["archive", "delete"])
def test_the_acknowledgement_is_written_and_delivered_before_the_file_is_archived(tmp_path, after_load):
    name = "h" * 246 + ".csv"  # before the fix: the ack failed after the archive, the file half done
    work = work_for(tmp_path, name, [])
    work.status = "loaded"
    profile = Profile(
        name="metro",
        agency="metro",
        template="t",
        source={"connection": "c", "directory": "/in"},
        after_load=after_load,
        archive_directory="/in/done",
        reports_directory="/acks",
    )
    acks = tmp_path / "acks"
    source = RecordingSource(acks)
    summary = finalize_stage([work], profile, source, acks)
    assert source.calls[-1] in ("move", "delete")
    assert [c for c in source.calls if c.startswith("upload")] and source.calls.index(source.calls[-1]) == 2
    assert summary["status"] == "loaded" and len(summary["acknowledgements"]) == 1
