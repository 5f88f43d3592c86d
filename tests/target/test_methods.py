"""Processing methods end to end through courtfeed.pipeline.run.ingest (SQLite and PostgreSQL).

update_by_fields: unchanged records are not touched (they keep the upload that wrote them).
replace_all: the agency's records of the file's entities become exactly the file's, atomically.
replace_template: only records that last came through this template are replaced.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from courtfeed.config.template import Template
from courtfeed.pipeline.run import ingest
from courtfeed.privacy import ValueFreeError
from courtfeed.target.upsert import Loader

HEADER = "DEF_ID,DEF_LNAME,HEARING_ID,HEARING_DATE,COURTROOM"


def template(name: str, method: str) -> Template:
    return Template.model_validate(
        {
            "name": name,
            "method": method,
            "fields": {
                "client.reference": {"column": "DEF_ID", "required": True},
                "client.last_name": {"column": "DEF_LNAME"},
                "event.reference": {"column": "HEARING_ID", "required": True},
                "event.date": {"column": "HEARING_DATE", "type": "date", "format": "%m/%d/%Y"},
                "event.location": {"column": "COURTROOM"},
            },
        }
    )


def write_rows(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def table(url: str, name: str, agency: str | None = None) -> dict[str, dict]:
    """natural_key -> row of one entity table (optionally one agency's)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            sql = f"select * from {name}" + (" where agency = :agency" if agency else "")
            rows = conn.execute(sa.text(sql), {"agency": agency} if agency else {}).mappings().all()
    finally:
        engine.dispose()
    return {(r["agency"], r["natural_key"]) if agency is None else r["natural_key"]: dict(r) for r in rows}


ROWS = [
    "C1,Peña,H1,12/01/2026,101",
    "C2,Lee,H2,12/02/2026,102",
    "C3,Ray,H3,12/03/2026,103",
]


def test_update_by_fields_leaves_unchanged_records_untouched(target_url: str, tmp_path: Path):
    tpl = template("hearings", "update_by_fields")
    first = ingest(write_rows(tmp_path, "day1.csv", ROWS), tpl, target_url, agency="metro")
    assert first["status"] == "loaded"
    before = table(target_url, "client", "metro")

    changed = [ROWS[0], "C2,Lee-Smith,H2,12/02/2026,202", ROWS[2]]
    second = ingest(write_rows(tmp_path, "day2.csv", changed), tpl, target_url, agency="metro")

    assert second["status"] == "loaded"
    assert second["counts"]["client"] == {"created": 0, "updated": 1, "unchanged": 2, "deleted": 0}
    assert second["counts"]["event"] == {"created": 0, "updated": 1, "unchanged": 2, "deleted": 0}
    after = table(target_url, "client", "metro")
    for key in ("C1", "C3"):
        assert after[key]["upload_id"] == first["upload_id"]
        assert after[key]["updated_at"] == before[key]["updated_at"]
    assert after["C2"]["upload_id"] == second["upload_id"]
    assert after["C2"]["last_name"] == "Lee-Smith"
    events = table(target_url, "event", "metro")
    assert events["H2"]["location"] == "202" and events["H2"]["upload_id"] == second["upload_id"]
    assert events["H1"]["upload_id"] == first["upload_id"]


def test_replace_all_replaces_the_agencys_records_and_no_one_elses(target_url: str, tmp_path: Path):
    tpl = template("hearings", "replace_all")
    ingest(write_rows(tmp_path, "metro1.csv", ROWS), tpl, target_url, agency="metro")
    other = ingest(write_rows(tmp_path, "county1.csv", ROWS[:2]), tpl, target_url, agency="county")
    assert other["status"] == "loaded"

    fewer = ingest(write_rows(tmp_path, "metro2.csv", [ROWS[0], ROWS[2]]), tpl, target_url, agency="metro")

    assert fewer["status"] == "loaded"
    assert fewer["counts"]["client"]["deleted"] == 1
    assert fewer["counts"]["event"]["deleted"] == 1
    assert set(table(target_url, "client", "metro")) == {"C1", "C3"}
    assert set(table(target_url, "event", "metro")) == {"H1", "H3"}
    # unchanged records are kept, stamped with the replacing upload
    assert {r["upload_id"] for r in table(target_url, "client", "metro").values()} == {fewer["upload_id"]}
    county = table(target_url, "client", "county")
    assert set(county) == {"C1", "C2"}
    assert {r["upload_id"] for r in county.values()} == {other["upload_id"]}
    assert set(table(target_url, "event", "county")) == {"H1", "H2"}


def test_replace_all_is_atomic(target_url: str, tmp_path: Path, monkeypatch):
    tpl = template("hearings", "replace_all")
    first = ingest(write_rows(tmp_path, "metro1.csv", ROWS), tpl, target_url, agency="metro")
    real_replace = Loader.replace

    def replace_then_crash(self, entity, scope):
        deleted = real_replace(self, entity, scope)
        if entity == "event":  # clients were already replaced in this transaction
            raise RuntimeError("simulated crash after deleting")
        return deleted

    monkeypatch.setattr(Loader, "replace", replace_then_crash)
    # The load fails with a value-free error naming only the class (the driver text may quote rows).
    with pytest.raises(ValueFreeError, match="load failed: RuntimeError"):
        ingest(
            write_rows(tmp_path, "metro2.csv", ["C9,New,H9,12/09/2026,109"]), tpl, target_url, agency="metro"
        )

    clients = table(target_url, "client", "metro")
    assert set(clients) == {"C1", "C2", "C3"}
    assert {r["upload_id"] for r in clients.values()} == {first["upload_id"]}
    assert set(table(target_url, "event", "metro")) == {"H1", "H2", "H3"}
    engine = sa.create_engine(target_url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("select path, status from uploads")).all())
    engine.dispose()
    assert sorted(Path(p).name for p in statuses) == ["metro1.csv", "metro2.csv"]
    assert {Path(p).name: s for p, s in statuses.items()}["metro2.csv"] == "failed"


def test_replace_template_deletes_only_this_templates_records(target_url: str, tmp_path: Path):
    nightly = template("nightly_hearings", "replace_template")
    manual = template("manual_hearings", "update_by_fields")
    ingest(write_rows(tmp_path, "night1.csv", ROWS[:2]), nightly, target_url, agency="metro")
    by_hand = ingest(write_rows(tmp_path, "hand.csv", [ROWS[2]]), manual, target_url, agency="metro")
    ingest(write_rows(tmp_path, "other.csv", ROWS[:2]), nightly, target_url, agency="county")

    night2 = ingest(write_rows(tmp_path, "night2.csv", [ROWS[0]]), nightly, target_url, agency="metro")

    assert night2["counts"]["client"]["deleted"] == 1
    clients = table(target_url, "client", "metro")
    assert set(clients) == {"C1", "C3"}  # C2 came through nightly and is gone; C3 came by hand
    assert clients["C3"]["template"] == "manual_hearings"
    assert clients["C3"]["upload_id"] == by_hand["upload_id"]
    assert set(table(target_url, "event", "metro")) == {"H1", "H3"}
    assert set(table(target_url, "client", "county")) == {"C1", "C2"}
