"""No cell travels in XCom: a FileWork names the file's columns only once its header is accepted.

A header-less export's first line is a person (SMITH, JOHN, JUROR-A) whether or not it holds
digits. The read stage hands on positions then, and the stages after it take the file's
columns from the staged rows, never from the payload.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from courtfeed.config.template import Template
from courtfeed.pipeline.map import map_stage
from courtfeed.pipeline.parquet_io import iter_records
from courtfeed.pipeline.read import read_stage
from courtfeed.pipeline.run import local_work
from courtfeed.pipeline.validate import validate_stage

JURORS = ["SMITH,JOHN,JUROR-A", "OKAFOR,ADAEZE,JUROR-B", "LINDQVIST,BRITT,JUROR-C"]
CELLS = {cell for line in JURORS for cell in line.split(",")}


def jurors_template(required: bool) -> Template:
    return Template.model_validate(
        {
            "name": "jurors",
            "format": {"type": "delimited", "delimiter": ","},
            "fields": {
                "client.reference": {"column": "JUROR_ID", "required": required},
                "client.last_name": {"column": "LAST_NAME"},
                "client.first_name": {"column": "FIRST_NAME"},
                "client.type": {"constant": "juror"},
            },
            "reject_threshold": 1,
        }
    )


def stage_payloads(path: Path, template: Template, tmp_path: Path) -> list[dict]:
    """The payload as XCom holds it after each stage that runs (an ended file stops there)."""
    work = local_work(path, template, tmp_path / "work", agency="a")
    out = []
    for stage in (read_stage, validate_stage, map_stage):
        work = stage(work, template)
        out.append(work.to_dict())
    return out


def cells_in(payload: dict) -> set[str]:
    text = json.dumps(payload)
    return {cell for cell in CELLS if cell in text}


@pytest.mark.parametrize("required", [True, False], ids=["rejected", "read on"])
def test_a_header_less_file_hands_on_positions_not_its_first_line(tmp_path: Path, required: bool):
    path = tmp_path / "jurors.csv"
    path.write_text("\n".join(JURORS) + "\n")
    payloads = stage_payloads(path, jurors_template(required), tmp_path)
    assert payloads[0]["columns"] == ["1", "2", "3"]
    assert payloads[0]["status"] == ("rejected" if required else None)
    assert [cells_in(p) for p in payloads] == [set(), set(), set()]


def test_an_accepted_header_travels_by_name(tmp_path: Path):
    path = tmp_path / "jurors.csv"
    path.write_text("\n".join(["JUROR_ID,LAST_NAME,FIRST_NAME,PANEL", "J1,SMITH,JOHN,A"]) + "\n")
    payloads = stage_payloads(path, jurors_template(True), tmp_path)
    assert payloads[0]["columns"] == ["JUROR_ID", "LAST_NAME", "FIRST_NAME", "PANEL"]
    assert payloads[-1]["rows_mapped"] == 1


def test_later_stages_take_the_columns_from_the_staged_rows_not_the_payload(tmp_path: Path):
    path = tmp_path / "jurors.csv"
    path.write_text("\n".join(["JUROR_ID,LAST_NAME,FIRST_NAME", "J1,SMITH,JOHN", "J2,DOE,JANE"]) + "\n")
    template = jurors_template(True)
    work = read_stage(local_work(path, template, tmp_path / "work", agency="a"), template)
    work.columns = ["1", "2", "3"]  # whatever the payload says
    work = map_stage(validate_stage(work, template), template)
    (records,) = iter_records(Path(work.workdir) / "records.client.parquet", "client")
    assert [(r["reference"], r["last_name"], r["first_name"]) for r in records] == [
        ("J1", "SMITH", "JOHN"),
        ("J2", "DOE", "JANE"),
    ]
