"""Header matching through the pipeline: a name the template reads that the
file has twice is a clear rejection naming both positions; a header that differs only in case or
surrounding spaces loads, and its acknowledgement says so."""

from __future__ import annotations

import json
from pathlib import Path

from courtfeed.config.template import Template
from courtfeed.pipeline.run import ingest, preview

TEMPLATE = Template.model_validate(
    {
        "name": "people",
        "fields": {
            "client.reference": {"column": "DEF_ID", "required": True},
            "client.last_name": {"column": "DEF_LNAME", "required": True},
        },
    }
)


def test_a_repeated_header_is_rejected_naming_both_positions(tmp_path: Path):
    path = tmp_path / "dup.csv"
    path.write_text("DEF_ID,DEF_LNAME,NOTES,DEF_ID\nD1,Lee,x,D2\n", encoding="utf-8")
    result = preview(path, TEMPLATE)
    assert result["status"] == "rejected"
    assert result["message"] == (
        "duplicate header: column 'DEF_ID' appears at positions 1 and 4; "
        "rename or remove one so the file says which to load"
    )
    assert result["rejects"][0]["rule"] == "duplicate_columns"


def test_a_header_in_another_case_loads_and_the_acknowledgement_says_so(tmp_path: Path):
    path = tmp_path / "lower.csv"
    path.write_text("def_id, DEF_LNAME \nD1,Lee\nD2,Ray\n", encoding="utf-8")
    acks = tmp_path / "acks"
    result = ingest(path, TEMPLATE, f"sqlite:///{tmp_path / 't.db'}", agency="a", ack_dir=acks)
    assert result["status"] == "loaded" and result["rows_loaded"] == 2
    (ack,) = acks.rglob("*.ack.json")
    message = json.loads(ack.read_text())["message"]
    assert message == (
        "header matched ignoring case or surrounding spaces: 'DEF_ID' (position 1), 'DEF_LNAME' (position 2)"
    )
