"""An upload with rejects from every stage (read: ragged rows, validate: a pattern, map: a date)
and a template that keeps 4 in full: the ledger, the --json result and the acknowledgement keep
the same first 4 in file order, count the rest per rule, and the two add up to rows_rejected."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import sqlalchemy as sa

from courtfeed.config.template import Template
from courtfeed.pipeline.run import ingest, preview
from courtfeed.rejects import describe_more

TEMPLATE = {
    "name": "bounded",
    "format": {"delimiter": "|"},
    "fields": {
        "client.reference": {"column": "ID", "required": True},
        "case.number": {"column": "CASE_NO", "required": True},
        "case.client_reference": {"column": "ID"},
        "case.filed_date": {"column": "FILED", "type": "date", "format": "%m/%d/%Y"},
    },
    "expectations": [
        {
            "type": "expect_column_values_to_match_regex",
            "kwargs": {"column": "CASE_NO", "regex": "^[0-9]{2}-CR-[0-9]+$"},
        }
    ],
    "reject_threshold": 1,
    "rejects_kept": 4,
}


def mixed_file(folder: Path) -> tuple[Path, dict[str, list[int]]]:
    """40 data rows: every 5th ragged, every 7th a bad case number, every 9th a bad date (one
    problem a row, the first that applies); returns the file and the rows of each rule."""
    lines, bad = ["ID|CASE_NO|FILED"], {"ragged_row": [], "regex": [], "type:date": []}
    for i in range(40):
        row = i + 2
        if i % 5 == 0:
            lines.append(f"D{i}|26-CR-{i}")
            bad["ragged_row"].append(row)
        elif i % 7 == 0:
            lines.append(f"D{i}|CASE {i}|01/02/2026")
            bad["regex"].append(row)
        elif i % 9 == 0:
            lines.append(f"D{i}|26-CR-{i}|2026-13-45")
            bad["type:date"].append(row)
        else:
            lines.append(f"D{i}|26-CR-{i}|01/02/2026")
    path = folder / "mixed.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, bad


def test_kept_and_counted_rejects_add_up_to_rows_rejected_everywhere(tmp_path: Path, target_url: str):
    path, bad = mixed_file(tmp_path)
    template = Template.model_validate(TEMPLATE)
    rows_bad = sorted(r for rows in bad.values() for r in rows)

    result = ingest(path, template, target_url, agency="metro", ack_dir=tmp_path / "acks")

    assert result["status"] == "partial" and result["rows_rejected"] == len(rows_bad) == 16
    assert rows_bad[:4] == [2, 7, 9, 11]  # ragged (read), ragged, a pattern (validate), a date (map)
    assert [r["row"] for r in result["rejects"]] == rows_bad[:4]  # the first in the file, any stage
    more = result["rejects_more"]
    assert set(more) == {"ragged_row", "expect_column_values_to_match_regex", "type:date"}
    assert more["ragged_row"] == len(bad["ragged_row"]) - sum(r in rows_bad[:4] for r in bad["ragged_row"])
    assert len(result["rejects"]) + sum(more.values()) == result["rows_rejected"] == result["rejects_total"]

    engine = sa.create_engine(target_url)
    with engine.connect() as conn:
        upload = conn.execute(sa.text("SELECT id, rows_rejected, rejects_more FROM uploads")).one()
        stored = conn.execute(sa.text("SELECT row FROM upload_rejects ORDER BY id")).scalars().all()
    engine.dispose()
    assert stored == rows_bad[:4]
    assert json.loads(upload.rejects_more) == more
    assert len(stored) + sum(json.loads(upload.rejects_more).values()) == upload.rows_rejected

    (ack_json,) = (tmp_path / "acks").glob("*.ack.json")
    ack = json.loads(ack_json.read_text())
    assert (ack["rejects"], ack["rejects_more"]) == (result["rejects"], more)
    (ack_csv,) = (tmp_path / "acks").glob("*.rejects.csv")
    with ack_csv.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert [int(r[0]) for r in rows[1:-1]] == rows_bad[:4]
    assert rows[-1] == ["", "", "", describe_more(more)]
    assert rows[-1][3].startswith(f"and {more['ragged_row']} more ragged_row, ")

    previewed = preview(path, template)
    assert (previewed["rejects"], previewed["rejects_more"]) == (result["rejects"], more)
