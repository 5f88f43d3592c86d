"""One rule for a delivery's status and for duplicates, whoever runs it.

A zip with one loaded and one rejected member ends the same in `courtfeed ingest` and in the
DAG's finalize; the duplicate check inside the load transaction compares the zip member as the
one at fetch does, so two members with the same bytes are two uploads."""

from __future__ import annotations

import zipfile
from pathlib import Path

import sqlalchemy as sa
import yaml

from courtfeed.config.files import load_template_file
from courtfeed.pipeline.finalize import delivery_status as finalize_status
from courtfeed.pipeline.run import delivery_status, ingest

TEMPLATE = {
    "name": "rule",
    "format": {"type": "delimited", "delimiter": ","},
    "fields": {
        "client.reference": {"column": "ID", "required": True},
        "client.last_name": {"column": "LAST", "required": True},
    },
}
GOOD = b"ID,LAST\nA1,Ames\nA2,Birch\n"
BAD = b"WHO,WHAT\nx,y\n"  # required columns missing: rejected


def template(tmp_path: Path):
    path = tmp_path / "rule.yaml"
    path.write_text(yaml.safe_dump(TEMPLATE))
    return load_template_file(path)


def zip_of(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "delivery.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_loaded_and_rejected_member_same_status_in_cli_and_dag(tmp_path: Path):
    out = ingest(
        zip_of(tmp_path, {"a.csv": GOOD, "b.csv": BAD}),
        template(tmp_path),
        f"sqlite:///{tmp_path / 't.db'}",
        agency="metro",
    )
    statuses = [u["status"] for u in out["uploads"]]
    assert statuses == ["loaded", "rejected"]
    assert out["status"] == "partial"
    assert finalize_status_of(statuses) == out["status"] == delivery_status(statuses)


def finalize_status_of(statuses: list[str]) -> str:
    from types import SimpleNamespace

    return finalize_status([SimpleNamespace(status=s) for s in statuses])  # type: ignore[list-item]


def test_status_rule_table():
    assert delivery_status(["loaded"]) == "loaded"
    assert delivery_status(["loaded", "duplicate"]) == "loaded"
    assert delivery_status(["loaded", "partial"]) == "partial"
    assert delivery_status(["loaded", "rejected"]) == "partial"
    assert delivery_status(["loaded", "failed"]) == "partial"
    assert delivery_status(["duplicate", "duplicate"]) == "duplicate"
    assert delivery_status(["rejected", "duplicate"]) == "rejected"
    assert delivery_status(["rejected", "failed"]) == "failed"


def test_two_members_with_the_same_bytes_are_two_uploads(tmp_path: Path):
    db = tmp_path / "t.db"
    out = ingest(
        zip_of(tmp_path, {"a.csv": GOOD, "copy_of_a.csv": GOOD}),
        template(tmp_path),
        f"sqlite:///{db}",
        agency="metro",
    )
    assert [u["status"] for u in out["uploads"]] == ["loaded", "loaded"]
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        rows = conn.execute(sa.text("select member, status from uploads order by member")).all()
    assert [tuple(r) for r in rows] == [("a.csv", "loaded"), ("copy_of_a.csv", "loaded")]
