"""`courtfeed ingest --ack-dir D`: the acknowledgement JSON and the CSV of rejects."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import sqlalchemy as sa

from tests.templates.conftest import run_cli

HEADER = "DEF_ID,DEF_LNAME,PHONE,HEARING_ID,HEARING_DATE"
TEMPLATE = {
    "name": "acked_hearings",
    "reject_threshold": 1,
    "fields": {
        "client.reference": {"column": "DEF_ID", "required": True},
        "client.last_name": {"column": "DEF_LNAME"},
        "client.phone": {"column": "PHONE", "type": "phone"},
        "event.reference": {"column": "HEARING_ID", "required": True},
        "event.date": {"column": "HEARING_DATE", "type": "date", "format": "%m/%d/%Y"},
    },
}


def ingest_with_ack(path: Path, tpl: Path, db: Path, acks: Path) -> tuple[dict, dict, list[dict]]:
    """(stdout JSON, ack JSON, rejects CSV rows) of one ingest into a fresh ack folder."""
    result = run_cli(
        "ingest", path, "--template", tpl, "--target", f"sqlite:///{db}", "--agency", "metro",
        "--ack-dir", acks, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (ack,) = acks.glob(f"{path.name}.*.ack.json")
    (rejects,) = acks.glob(f"{path.name}.*.rejects.csv")
    with rejects.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["row", "column", "rule", "message"]
        rows = list(reader)
    return result.json, json.loads(ack.read_text(encoding="utf-8")), rows


def test_ack_json_and_rejects_csv(tmp_path: Path, template_file):
    tpl = template_file(TEMPLATE)
    db = tmp_path / "target.db"
    day1 = tmp_path / "day1.csv"
    day1.write_text(
        f"{HEADER}\n"
        "C1,Peña,7735550123,H1,12/01/2026\n"  # row 2
        "C2,Lee,555,H2,12/02/2026\n"  # row 3: not a phone
        "C3,Ray,3125550188,H3,12/03/2026\n",  # row 4
        encoding="utf-8",
    )

    shown, ack, rejects = ingest_with_ack(day1, tpl, db, tmp_path / "acks1")

    assert ack["status"] == "partial"
    assert ack["upload_id"] == shown["upload_id"]
    assert (ack["rows_read"], ack["rows_loaded"], ack["rows_rejected"]) == (3, 2, 1)
    assert ack["counts"]["client"] == {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}
    assert ack["counts"]["event"] == {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}
    assert ack["counts"]["contact"]["created"] == 2
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        client_ids = {r[0] for r in conn.execute(sa.text("select id from client"))}
        event_ids = {r[0] for r in conn.execute(sa.text("select id from event"))}
    engine.dispose()
    assert set(ack["created_ids"]["client"]) == client_ids and len(client_ids) == 2
    assert set(ack["created_ids"]["event"]) == event_ids
    assert rejects == [
        {"row": "3", "column": "PHONE", "rule": "type:phone", "message": rejects[0]["message"]},
    ]
    assert "client.phone" in rejects[0]["message"] and "555" not in rejects[0]["message"]
    assert ack["rejects"] == [
        {"row": 3, "column": "PHONE", "rule": "type:phone", "message": rejects[0]["message"]}
    ]

    # the next day: one client renamed, one the same, one new -> updated / unchanged / created
    day2 = tmp_path / "day2.csv"
    day2.write_text(
        f"{HEADER}\nC1,Peña,7735550123,H1,12/01/2026\nC3,Ray-Cho,3125550188,H3,12/03/2026\nC4,Kim,7083630739,H4,12/04/2026\n",
        encoding="utf-8",
    )
    _, ack2, rejects2 = ingest_with_ack(day2, tpl, db, tmp_path / "acks2")
    assert ack2["status"] == "loaded"
    assert ack2["counts"]["client"] == {"created": 1, "updated": 1, "unchanged": 1, "deleted": 0}
    assert ack2["counts"]["event"] == {"created": 0 + 1, "updated": 0, "unchanged": 2, "deleted": 0}
    assert len(ack2["created_ids"]["client"]) == 1
    assert ack2["created_ids"]["client"][0] not in client_ids
    assert rejects2 == []


def test_created_ids_are_written_in_blocks_as_one_valid_json_list(tmp_path: Path):
    from courtfeed.pipeline.acknowledge import IDS_PER_WRITE, write_acknowledgement
    from courtfeed.pipeline.work import FileWork

    work = FileWork("u-1", "f.csv", "/drop/f.csv", str(tmp_path / "f.csv"), str(tmp_path), "t", "a")
    work.status, work.counts = "loaded", {"client": {}, "event": {}, "case": {}}
    ids = {
        "client": [f"id-{i}" for i in range(2 * IDS_PER_WRITE + 1)],  # a block boundary and one more
        "event": ['quote " and \\ backslash', "é"],  # escaped exactly as json.dumps would
        "case": [],
    }
    json_path, _ = write_acknowledgement(work, tmp_path / "acks", lambda entity: iter(ids[entity]))
    assert json.loads(json_path.read_text(encoding="utf-8"))["created_ids"] == ids
